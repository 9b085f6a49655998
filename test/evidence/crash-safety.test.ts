// Crash safety: apply, allow, block, reset and uninstall killed (SIGKILL, as a power cut or
// the OOM killer would) at every kind of point while they write. After each
// kill: every file is its old or its new version, never a mix or a fragment;
// the state file is valid JSON; what is left behind (temporary files, a stale
// lock) is never read by kmod as configuration; and running the same command
// again ends exactly where an uninterrupted run ends.
//
// Two kinds of kill points:
// - FSBLACKLIST_TEST_CRASH_AFTER=N (src/system/root-fs.ts) makes the command kill
//   itself at the Nth step of writing: temporary file created, written and
//   synced, renamed into place; file removed. Steps 1, 2, 4, 8, ... until a run
//   gets through, then random steps up to that; FSB_ITERATIONS=K tries about K
//   steps per command (default 10), FSB_ITERATIONS=all every step.
// - A SIGKILL from outside at a random moment after the run took its lock
//   (covers what RootFs does not see: the lock, reading, planning).
// test/apply/concurrency.test.ts kills apply at random moments too; this suite
// adds the step-exact points, the override commands and kmod's view.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runOracle } from "../helpers/kmod-oracle.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { LOCK, STATE, TEMPORARY, contents, copyTree, fsb, fsbAsync, scratchDir, settled, writeConfig, writePolicy, type Run } from "./helpers.ts";

const ITERATIONS = process.env["FSB_ITERATIONS"] ?? "";
const EVERY_STEP = ITERATIONS === "all";
const POINTS = EVERY_STEP ? Infinity : Math.max(3, Number.parseInt(ITERATIONS, 10) || 10);
const RANDOM_KILLS = EVERY_STEP ? 8 : Math.max(2, Math.round(POINTS / 5));

const MODULES_V1 = ["jfs", "minix", "cramfs", "hfs", "hfsplus", "efs", "bfs"];

interface Scenario {
  name: string;
  /** Brings a fresh copy of the base root into the state before the command. */
  prepare: (root: string, policy: { v1: string; v2: string }) => void;
  args: readonly string[];
}

const SCENARIOS: Scenario[] = [
  {
    // A package update: new policy version (jfs's fragment changed, cramfs dropped, ufs added) while
    // the system's use changed (jfs unloaded, minix loaded, an hfsplus disk mounted): keeps appear
    // and disappear, fragments are installed, updated and removed, the state file is rewritten.
    name: "apply after a policy update and a change of use",
    prepare: (root, policy) => {
      writeConfig(root, `policyDir: ${policy.v2}\n`);
      fs.writeFileSync(path.join(root, "proc/modules"), "minix 45056 0 - Live 0x0000000000000000\n");
      fs.renameSync(path.join(root, "sys/module/jfs"), path.join(root, "sys/module/minix"));
      fs.appendFileSync(path.join(root, "proc/self/mountinfo"), "40 20 0:40 / /mnt/mac rw,relatime shared:40 - hfsplus /dev/sdc2 rw,relatime\n");
    },
    args: ["apply"],
  },
  {
    // The benchmark profiles write other fragments (`install X /bin/false`, overlay under both
    // spellings, the blacklist line alone where an administrator's install line stays in force) and
    // keep overlay for a container runtime: the shipped policy's cis-l2 replaces every fragment of v1.
    name: "apply switching to the shipped cis-l2 beside an administrator's install line and a container runtime",
    prepare: (root) => {
      writeConfig(root, "profile: cis-l2\n");
      fs.writeFileSync(path.join(root, "etc/modprobe.d/hfs.conf"), "install hfs /bin/false\nblacklist hfs\n");
      fs.mkdirSync(path.join(root, "usr/bin"), { recursive: true });
      fs.writeFileSync(path.join(root, "usr/bin/dockerd"), "#!/bin/sh\n", { mode: 0o755 });
    },
    args: ["apply"],
  },
  {
    // block outside the policy, in the benchmark's spelling and form, under cis-l1.
    name: "block usb-storage and jfs under the shipped cis-l1",
    prepare: (root) => writeConfig(root, "profile: cis-l1\n"),
    args: ["block", "usb-storage", "jfs"],
  },
  { name: "allow three filesystems", prepare: () => {}, args: ["allow", "hfs", "efs", "bfs"] },
  { name: "block over a keep and a default", prepare: () => {}, args: ["block", "jfs", "minix", "cramfs"] },
  {
    name: "reset allows, a block and a keep",
    prepare: (root) => {
      for (const args of [
        ["allow", "hfs", "efs"],
        ["block", "minix"],
      ]) {
        const run = fsb(["--root", root, ...args]);
        assert.equal(run.status, 0, run.stderr);
      }
    },
    args: ["reset", "hfs", "efs", "minix", "jfs"],
  },
  {
    // Package removal: fragments and apply's keep go, the admin's allow and block stay, the state file is rewritten.
    name: "uninstall with an allow and a block",
    prepare: (root) => {
      for (const args of [
        ["allow", "hfs"],
        ["block", "minix"],
      ]) {
        const run = fsb(["--root", root, ...args]);
        assert.equal(run.status, 0, run.stderr);
      }
    },
    args: ["uninstall"],
  },
  {
    // Purge: everything fsblacklist wrote goes, the state file and its directory last.
    name: "uninstall --purge with an allow and a block",
    prepare: (root) => {
      for (const args of [
        ["allow", "hfs"],
        ["block", "minix"],
      ]) {
        const run = fsb(["--root", root, ...args]);
        assert.equal(run.status, 0, run.stderr);
      }
    },
    args: ["uninstall", "--purge"],
  },
];

function assertOldOrNew(root: string, before: Map<string, string>, after: Map<string, string>, what: string): string[] {
  const now = contents(root);
  const leftovers: string[] = [];
  for (const rel of new Set([...now.keys(), ...before.keys(), ...after.keys()])) {
    const base = path.basename(rel);
    if (!before.has(rel) && !after.has(rel) && now.has(rel)) {
      // Not a file of either version: only what a killed run may leave, and never a name kmod reads.
      const allowed = TEMPORARY.test(base) || rel === LOCK || rel.startsWith(`${LOCK}.`);
      assert.ok(allowed, `${what}: unexpected file ${rel}`);
      assert.ok(!base.endsWith(".conf") && !base.endsWith(".alias"), `${what}: ${rel} would be read by kmod`);
      leftovers.push(rel);
      continue;
    }
    const value = now.get(rel);
    assert.ok(value === before.get(rel) || value === after.get(rel), `${what}: ${rel} is neither the old nor the new version:\n${value}`);
  }
  const state = now.get(STATE);
  if (state !== undefined) assert.doesNotThrow(() => JSON.parse(state), `${what}: the state file is not valid JSON`);
  return leftovers;
}

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
}

test("killed at every kind of point, apply, allow, block, reset and uninstall leave every file old or new and converge on the next run", async (t) => {
  const scratch = scratchDir("fsb-crash-");
  t.after(() => scratch.cleanup());
  const policy = {
    v1: writePolicy(
      path.join(scratch.dir, "policy-v1"),
      "1.0.0",
      MODULES_V1.map((module) => ({ module, since: "1.0.0" })),
    ),
    v2: writePolicy(path.join(scratch.dir, "policy-v2"), "1.1.0", [
      ...["minix", "hfs", "hfsplus", "efs", "bfs"].map((module) => ({ module, since: "1.0.0" })),
      { module: "jfs", since: "1.0.1" },
      { module: "ufs", since: "1.1.0" },
    ]),
  };
  // The installed system: policy v1 applied while jfs was loaded (so jfs is kept).
  const base = createFakeRoot({ loaded: ["jfs"], fstab: "/dev/vda1 / ext4 defaults 0 1\n" });
  t.after(() => base.cleanup());
  writeConfig(base.dir, `policyDir: ${policy.v1}\n`);
  const first = fsb(["--root", base.dir, "apply"]);
  assert.equal(first.status, 0, first.stderr);

  // Crashed trees that hold temporary files, and the same trees without them, for kmod.
  const withTemporaries: { crashed: string; cleaned: string; what: string }[] = [];
  let run = 0;
  for (const scenario of SCENARIOS) {
    const template = path.join(scratch.dir, `template-${run}`);
    copyTree(base.dir, template);
    scenario.prepare(template, policy);
    const before = contents(template);
    // The uninterrupted run: what "new" means, and where every interrupted run must end.
    const reference = path.join(scratch.dir, `reference-${run}`);
    copyTree(template, reference);
    const clean = fsb(["--root", reference, ...scenario.args]);
    assert.equal(clean.status, 0, `${scenario.name}: ${clean.stderr}`);
    const after = contents(reference);
    const goal = settled(reference);
    assert.notDeepEqual(after, before, `${scenario.name}: the command changes something`);

    let killed = 0;
    const attempt = async (kill: (root: string) => Promise<Run>, what: string): Promise<boolean> => {
      const root = path.join(scratch.dir, `run-${++run}`);
      copyTree(template, root);
      const result = await kill(root);
      const interrupted = result.signal === "SIGKILL";
      if (!interrupted) assert.equal(result.status, 0, `${what}: ${result.stderr}`);
      else killed++;
      const leftovers = assertOldOrNew(root, before, after, what);
      if (leftovers.some((rel) => TEMPORARY.test(path.basename(rel)))) {
        const crashed = `${root}-crashed`;
        const cleaned = `${root}-cleaned`;
        copyTree(root, crashed);
        copyTree(root, cleaned);
        for (const rel of leftovers) fs.rmSync(path.join(cleaned, rel), { force: true });
        withTemporaries.push({ crashed, cleaned, what });
      }
      // The next run (a package hook retried, the admin typing it again) finishes the job.
      const again = fsb(["--root", root, ...scenario.args]);
      assert.equal(again.status, 0, `${what}, then again: ${again.stderr}`);
      assert.deepEqual(settled(root), goal, `${what}, then again: does not converge`);
      // A run with nothing left to do does not take the lock, so a killed run's lock can stay; it must name a
      // dead process, so that the next run that needs it breaks it instead of waiting.
      const owner = fs.existsSync(path.join(root, LOCK)) ? Number.parseInt(fs.readFileSync(path.join(root, LOCK), "utf8"), 10) : null;
      if (owner !== null) assert.ok(Number.isInteger(owner) && !alive(owner), `${what}, then again: a lock naming ${owner} is left`);
      if (scenario.args[0] === "apply") {
        const temporaries = [...contents(root).keys()].filter((rel) => TEMPORARY.test(path.basename(rel)));
        assert.deepEqual(temporaries, [], `${what}, then apply: temporary files of the killed run are removed`);
      }
      return interrupted;
    };

    // Step-exact kill points: 1, 2, 4, ... until a run gets through (so `steps` bounds the run's
    // steps), then others below that.
    const tried = new Set<number>();
    const killAt = (n: number): Promise<boolean> => {
      tried.add(n);
      const what = `${scenario.name}: killed at write step ${n}`;
      return attempt((root) => fsbAsync(["--root", root, ...scenario.args], { FSBLACKLIST_TEST_CRASH_AFTER: String(n) }).done, what);
    };
    let steps = 1;
    while (await killAt(steps)) steps *= 2;
    const candidates = Array.from({ length: steps - 1 }, (_, i) => i + 1).filter((n) => !tried.has(n));
    for (const n of candidates.sort(() => Math.random() - 0.5)) {
      if (tried.size >= POINTS) break;
      await killAt(n);
    }
    // Random moments after the lock was taken.
    for (let i = 0; i < RANDOM_KILLS; i++) {
      const delay = Math.random() * 15;
      await attempt(
        async (root) => {
          const child = fsbAsync(["--root", root, ...scenario.args]);
          const lock = path.join(root, LOCK);
          let finished = false;
          void child.done.then(() => (finished = true));
          while (!finished && !fs.existsSync(lock)) await new Promise((r) => setImmediate(r));
          await new Promise((r) => setTimeout(r, delay));
          child.kill("SIGKILL");
          return child.done;
        },
        `${scenario.name}: SIGKILL ${delay.toFixed(1)} ms after the lock`,
      );
    }
    assert.ok(killed >= 3, `${scenario.name}: only ${killed} runs were interrupted`);
  }

  // kmod reads exactly the same configuration with the temporary files as without them.
  assert.ok(withTemporaries.length > 0, "some kills left temporary files behind (the check below ran)");
  const oracle = await runOracle(withTemporaries.flatMap((c) => [c.crashed, c.cleaned]));
  withTemporaries.forEach((c, i) => {
    assert.ok(oracle[2 * i]!.config.equals(oracle[2 * i + 1]!.config), `${c.what}: kmod reads the temporary files`);
  });
});
