// The review UI's link to the overrides service, on fake roots with the policy
// installed by the real `apply`: what the UI shows is what gets written.

import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { createContext, type Context } from "../../src/context.ts";
import { computeStatus } from "../../src/services/status.ts";
import { overrideServices } from "../../src/tui/review-services.ts";
import type { ReviewReport } from "../../src/tui/review-state.ts";
import { runCli } from "../helpers/cli.ts";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { oracleAvailable, runOracle } from "../helpers/kmod-oracle.ts";

function rootWithPolicy(spec: FakeRootSpec = {}): FakeRoot {
  const root = createFakeRoot(spec);
  const applied = runCli(["apply", "--root", root.dir]);
  assert.equal(applied.status, 0, applied.stderr);
  return root;
}

async function contextFor(root: FakeRoot): Promise<Context> {
  const sink = { write: () => {}, isTTY: false };
  return createContext({ root: root.dir }, { stdout: sink, stderr: sink, env: {}, uid: 0 });
}

const stateOf = (report: ReviewReport, name: string): string | undefined => report.filesystems.find((fs) => fs.name === name)?.state;

test("allow, block and reset marked together become one plan; applying writes exactly the files it showed", async () => {
  const root = rootWithPolicy({
    loaded: ["hfsplus"],
    mounts: [
      { source: "/dev/vda1", target: "/", fstype: "ext4" },
      { source: "/dev/sdb1", target: "/srv/mac", fstype: "hfsplus" },
    ],
  });
  try {
    assert.equal(runCli(["block", "minix", "--root", root.dir]).status, 0);
    const ctx = await contextFor(root);
    const before = computeStatus(ctx).report;
    assert.deepEqual([stateOf(before, "jfs"), stateOf(before, "hfsplus"), stateOf(before, "minix")], ["blocked", "kept", "pinned"]);

    const applied: string[] = [];
    const services = overrideServices(
      ctx,
      async () => computeStatus(ctx).report,
      (summary) => applied.push(...summary),
    );
    const plan = await services.plan([
      { name: "hfsplus", action: "block" },
      { name: "jfs", action: "allow" },
      { name: "minix", action: "reset" },
    ]);
    assert.deepEqual(plan.refused, []);
    assert.deepEqual(
      plan.files.map((f) => [f.path, f.before === null, f.after === null]),
      [
        ["etc/modprobe.d/60-blacklist_fs-jfs.conf", true, false],
        ["etc/modprobe.d/60-blacklist_fs-hfsplus.conf", false, false],
        ["etc/modprobe.d/60-blacklist_fs-minix.conf", false, true],
      ],
    );
    // The before side is what is on disk now.
    for (const file of plan.files.filter((f) => f.before !== null)) assert.equal(readFileSync(path.join(root.dir, file.path), "utf8"), file.before);
    assert.ok(
      plan.notes.some((note) => /^hfsplus: hfsplus is in use/.test(note)),
      plan.notes.join("\n"),
    );
    assert.ok(plan.notes.some((note) => /initramfs/.test(note)));

    const outcome = await plan.apply();
    for (const file of plan.files) {
      const on = path.join(root.dir, file.path);
      if (file.after === null) assert.equal(existsSync(on), false, file.path);
      else assert.equal(readFileSync(on, "utf8"), file.after, file.path);
    }
    assert.deepEqual([stateOf(outcome.report, "jfs"), stateOf(outcome.report, "hfsplus"), stateOf(outcome.report, "minix")], ["allowed", "pinned", "blocked"]);
    assert.deepEqual(applied, outcome.summary);
    assert.deepEqual(outcome.summary, [
      "allow jfs: wrote etc/modprobe.d/60-blacklist_fs-jfs.conf",
      "block hfsplus: wrote etc/modprobe.d/60-blacklist_fs-hfsplus.conf",
      "reset minix: removed etc/modprobe.d/60-blacklist_fs-minix.conf",
    ]);

    if (oracleAvailable()) {
      const [kmod] = await runOracle([root.dir]);
      const blacklisted = kmod!.config
        .toString("latin1")
        .split("\n")
        .filter((l) => l.startsWith("blacklist "));
      assert.ok(!blacklisted.includes("blacklist jfs"));
      assert.ok(blacklisted.includes("blacklist hfsplus"));
      assert.ok(blacklisted.includes("blacklist minix"));
    }
  } finally {
    root.cleanup();
  }
});

test("an administrator's own file is refused in the plan, and the plan cannot be applied", async () => {
  const root = rootWithPolicy();
  try {
    const own = path.join(root.dir, "etc/modprobe.d/60-blacklist_fs-jfs.conf");
    mkdirSync(path.dirname(own), { recursive: true });
    writeFileSync(own, "# mine\nblacklist jfs\n");
    const ctx = await contextFor(root);
    const services = overrideServices(
      ctx,
      async () => computeStatus(ctx).report,
      () => {},
    );
    const plan = await services.plan([
      { name: "jfs", action: "allow" },
      { name: "minix", action: "allow" },
    ]);
    assert.match(plan.refused.join("\n"), /^jfs: etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf is a file without fsblacklist's marker/m);
    assert.deepEqual(
      plan.files.map((f) => f.path),
      ["etc/modprobe.d/60-blacklist_fs-minix.conf"],
    );
    await assert.rejects(plan.apply(), /refused/);
    assert.equal(readFileSync(own, "utf8"), "# mine\nblacklist jfs\n");
    assert.equal(existsSync(path.join(root.dir, "etc/modprobe.d/60-blacklist_fs-minix.conf")), false);
  } finally {
    root.cleanup();
  }
});

test("two names of one module marked differently are a usage error, not two writes to one file", async () => {
  const root = rootWithPolicy();
  try {
    const ctx = await contextFor(root);
    const services = overrideServices(
      ctx,
      async () => computeStatus(ctx).report,
      () => {},
    );
    await assert.rejects(
      services.plan([
        { name: "vxfs", action: "allow" },
        { name: "freevxfs", action: "block" },
      ]),
      /vxfs and freevxfs are both module freevxfs; mark only one of them/,
    );
  } finally {
    root.cleanup();
  }
});
