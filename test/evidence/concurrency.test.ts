// Concurrency: 20 runs of apply, allow and block started at the same moment on
// one root. Every run succeeds, says nothing on stderr but "waiting for lock",
// and the root ends in a state that some serial order of the same runs reaches:
// the files (write times aside), and what the real kmod makes of them.
//
// test/apply/concurrency.test.ts runs 20 applies alone; this suite mixes in the
// override commands, including conflicting ones (allow hfs against block hfs),
// whose outcome depends on the order.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { runOracle } from "../helpers/kmod-oracle.ts";
import { copyTree, fsbAsync, fsbInProcess, installedRoot, scratchDir, settled, type Run } from "./helpers.ts";

// apply and the override commands word it differently; both name the process waited for.
const WAITING = /^fsblacklist: waiting for lock run\/fsblacklist\.lock held by pid \d+$/;

/** 20 runs: applies, and allows and blocks of which some conflict (hfs) and some do not. */
const RUNS: readonly (readonly string[])[] = [
  ...Array.from({ length: 8 }, () => ["apply"]),
  ...Array.from({ length: 3 }, () => ["allow", "hfs"]),
  ...Array.from({ length: 3 }, () => ["block", "hfs"]),
  ["allow", "efs"],
  ["allow", "efs", "bfs"],
  ["block", "minix"],
  ["block", "minix", "cramfs"],
  ["block", "jfs"],
  ["allow", "jfs"],
];

/** The module whose runs conflict or interact: an override's first name (minix cramfs goes with minix). */
const group = (run: readonly string[]): string => run[1] ?? "";

/**
 * Serial orders that between them reach every outcome a serial order can reach.
 * Among the override runs of one module the last one wins (hfs and jfs each end
 * allowed or blocked). An apply keeps a module in use (jfs loaded, minix in
 * fstab) only while no override names it, so what the last apply records depends
 * on which modules' overrides ran before it: every subset of the modules goes
 * before the applies, the rest after.
 */
function serialOrders(): (readonly string[])[][] {
  const applies = RUNS.filter((r) => r[0] === "apply");
  const others = RUNS.filter((r) => r[0] !== "apply");
  const groups = [...new Set(others.map(group))];
  const orders: (readonly string[])[][] = [];
  for (const hfs of ["allow", "block"]) {
    for (const jfs of ["allow", "block"]) {
      // A stable sort: the run that must win for each module moves after the others.
      const last =
        (module: string, verb: string) =>
        (a: readonly string[], b: readonly string[]): number =>
          Number(a[0] === verb && a.includes(module)) - Number(b[0] === verb && b.includes(module));
      const overrides = [...others].sort(last("hfs", hfs)).sort(last("jfs", jfs));
      for (let subset = 0; subset < 1 << groups.length; subset++) {
        const before = (run: readonly string[]): boolean => (subset & (1 << groups.indexOf(group(run)))) !== 0;
        orders.push([...overrides.filter(before), ...applies, ...overrides.filter((run) => !before(run))]);
      }
    }
  }
  return orders;
}

/** The shipped default profile, and the benchmark profile whose fragments differ most from it (issue 13). */
const PROFILES = ["default", "cis-l2"] as const;

for (const profile of PROFILES)
  test(`${profile}: 20 simultaneous apply, allow and block runs: only 'waiting for lock', and the state of a serial order`, async (t) => {
    const scratch = scratchDir("fsb-concurrent-");
    const base = installedRoot({ loaded: ["jfs"], fstab: "/dev/vda1 / ext4 defaults 0 1\n/dev/sdb1 /mnt/old minix noauto 0 0\n" }, profile);
    t.after(() => {
      base.cleanup();
      scratch.cleanup();
    });

    // The serial outcomes, first: each order run one command after another (in this process, for speed).
    const serialRoots: string[] = [];
    for (const [i, order] of serialOrders().entries()) {
      const root = path.join(scratch.dir, `serial-${i}`);
      copyTree(base.dir, root);
      for (const args of order) {
        const run = await fsbInProcess(["--root", root, ...args]);
        assert.equal(run.status, 0, `serial ${i}: ${args.join(" ")}: ${run.stderr}`);
      }
      serialRoots.push(root);
    }
    const outcomes = serialRoots.map((root) => settled(root));

    // The enumeration is complete: other serial orders reach nothing it misses. The
    // first is what a CI run met when the enumeration put the applies only before,
    // amid or after all the overrides: jfs's overrides before the last apply (jfs
    // not kept), minix's after it (minix kept).
    const jfsFirst = [...RUNS.filter((r) => group(r) === "jfs"), ...RUNS.filter((r) => r[0] === "apply"), ...RUNS.filter((r) => r[0] !== "apply" && group(r) !== "jfs")];
    let seed = 20261205;
    const random = (): number => {
      seed = (seed * 1103515245 + 12345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    for (let i = 0; i < 24; i++) {
      const order = i === 0 ? jfsFirst : [...RUNS];
      for (let k = order.length - 1; i > 0 && k > 0; k--) {
        const j = Math.floor(random() * (k + 1));
        [order[k], order[j]] = [order[j]!, order[k]!];
      }
      const root = path.join(scratch.dir, `random-${i}`);
      copyTree(base.dir, root);
      for (const args of order) assert.equal((await fsbInProcess(["--root", root, ...args])).status, 0, `random ${i}: ${args.join(" ")}`);
      const final = settled(root);
      assert.ok(
        outcomes.some((outcome) => sameMap(outcome, final)),
        `the serial order ${order.map((r) => r.join(" ")).join(", ")} reaches a state no enumerated order reaches: ${outcomes.map((o) => differences(o, final).join(", ")).join(" | ")}`,
      );
    }

    // All at once, twice (the interleaving differs from run to run).
    const concurrentRoots: string[] = [];
    for (let round = 0; round < 2; round++) {
      const root = path.join(scratch.dir, `concurrent-${round}`);
      copyTree(base.dir, root);
      concurrentRoots.push(root);
      const children = RUNS.map((args) => ({ args, child: fsbAsync(["--root", root, ...args]) }));
      const runs: { args: readonly string[]; run: Run }[] = await Promise.all(children.map(async ({ args, child }) => ({ args, run: await child.done })));
      let waited = 0;
      for (const { args, run } of runs) {
        const what = `round ${round}: ${args.join(" ")}`;
        assert.equal(run.status, 0, `${what}: exit ${run.status}: ${run.stderr}`);
        const lines = run.stderr.split("\n").filter((line) => line !== "");
        for (const line of lines) assert.match(line, WAITING, `${what}: only 'waiting for lock' on stderr`);
        assert.ok(lines.length <= 1, `${what}: says it waits once at most`);
        waited += lines.length;
      }
      assert.ok(waited > 0, `round ${round}: some run had to wait (the runs did overlap)`);
      const final = settled(root);
      assert.ok(
        outcomes.some((outcome) => sameMap(outcome, final)),
        `round ${round}: the files match no serial order; differences from each: ${outcomes.map((o) => differences(o, final).join(", ")).join(" | ")}`,
      );
    }

    // What kmod enforces is what one of the serial orders makes it enforce.
    const oracle = await runOracle([...serialRoots, ...concurrentRoots]);
    const serialConfigs = oracle.slice(0, serialRoots.length).map((r) => r.config.toString("latin1"));
    assert.ok(new Set(serialConfigs).size >= 4, "the serial orders differ (hfs and jfs allowed or blocked)");
    for (const result of oracle.slice(serialRoots.length)) {
      assert.ok(serialConfigs.includes(result.config.toString("latin1")), `${result.root}: kmod's configuration matches no serial order`);
    }
  });

function sameMap(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): boolean {
  return a.size === b.size && [...a].every(([key, value]) => b.get(key) === value);
}

function differences(a: ReadonlyMap<string, string>, b: ReadonlyMap<string, string>): string[] {
  const out: string[] = [];
  for (const key of new Set([...a.keys(), ...b.keys()])) if (a.get(key) !== b.get(key)) out.push(key);
  return out;
}

for (const profile of PROFILES)
  test(`${profile}: 10 applies and 10 uninstalls at once (a package removed while it is being configured): the state of apply last or of uninstall last`, async (t) => {
    const scratch = scratchDir("fsb-concurrent-uninstall-");
    const base = installedRoot({ loaded: ["jfs"], fstab: "/dev/vda1 / ext4 defaults 0 1\n" }, profile);
    t.after(() => {
      base.cleanup();
      scratch.cleanup();
    });
    // The two serial outcomes: whichever command runs last decides.
    const outcomes = [];
    for (const order of [
      ["apply", "uninstall"],
      ["uninstall", "apply"],
    ]) {
      const root = path.join(scratch.dir, `serial-${order.join("-")}`);
      copyTree(base.dir, root);
      for (const command of order) {
        const run = await fsbInProcess(["--root", root, command]);
        assert.equal(run.status, 0, `${order.join(" then ")}: ${command}: ${run.stderr}`);
      }
      outcomes.push(settled(root));
    }
    assert.ok(!sameMap(outcomes[0]!, outcomes[1]!), "apply last and uninstall last differ");

    for (let round = 0; round < 2; round++) {
      const root = path.join(scratch.dir, `concurrent-${round}`);
      copyTree(base.dir, root);
      const commands = Array.from({ length: 20 }, (_, i) => (i % 2 === 0 ? "apply" : "uninstall"));
      const runs = await Promise.all(commands.map(async (command) => ({ command, run: await fsbAsync(["--root", root, command]).done })));
      for (const { command, run } of runs) {
        assert.equal(run.status, 0, `round ${round}: ${command}: exit ${run.status}: ${run.stderr}`);
        for (const line of run.stderr.split("\n").filter((l) => l !== "")) assert.match(line, WAITING, `round ${round}: ${command}: only 'waiting for lock' on stderr`);
      }
      const final = settled(root);
      assert.ok(
        outcomes.some((outcome) => sameMap(outcome, final)),
        `round ${round}: matches neither apply last nor uninstall last: ${outcomes.map((o) => differences(o, final).join(", ")).join(" | ")}`,
      );
    }
  });
