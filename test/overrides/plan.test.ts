// The planning/applying API the CLI, the modprobe hook and the review UI share,
// and the --dry-run diff checked against GNU diff.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { createContext, type IO } from "../../src/context.ts";
import { applyOverridePlan, planOverride } from "../../src/services/overrides.ts";
import { unifiedDiff } from "../../src/report/override-report.ts";
import { FsbError } from "../../src/errors.ts";
import { overridePath, policyRoot, snapshotTree } from "./helpers.ts";

const io = (uid = 0): IO => ({
  stdout: { write: () => undefined, isTTY: false },
  stderr: { write: () => undefined, isTTY: false },
  env: {},
  uid,
});

test("a plan carries before/after contents, and applying it writes exactly the planned text", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const ctx = await createContext({ root: root.dir }, io());
  const now = new Date("2026-01-02T03:04:05.000Z");
  const plan = await planOverride(ctx, "block", ["minix", "iso9660", "minix"], { now });
  assert.deepEqual(
    plan.changes.map((c) => [c.action, c.name, c.module, c.before]),
    [
      ["block", "minix", "minix", null],
      ["block", "iso9660", "isofs", null],
    ],
    "duplicates are planned once",
  );
  assert.match(plan.changes[0]!.after!, /^# fsblacklist-date: 2026-01-02T03:04:05\.000Z$/m);
  const { changed } = await applyOverridePlan(ctx, plan);
  assert.equal(changed, true);
  assert.equal(fs.readFileSync(overridePath(root, "minix"), "utf8"), plan.changes[0]!.after);
  assert.equal(fs.readFileSync(overridePath(root, "isofs"), "utf8"), plan.changes[1]!.after);
  assert.equal(fs.existsSync(path.join(root.dir, "run/fsblacklist.lock")), false, "the lock is released");
});

test("a plan whose files changed since it was made is refused, and nothing is written", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const ctx = await createContext({ root: root.dir }, io());
  const plan = await planOverride(ctx, "allow", ["jfs", "minix"]);
  // Between showing the diff and confirming, someone else writes one of the files.
  fs.mkdirSync(path.dirname(overridePath(root, "minix")), { recursive: true });
  fs.writeFileSync(overridePath(root, "minix"), "# the admin got there first\n");
  const before = snapshotTree(root.dir);
  await assert.rejects(applyOverridePlan(ctx, plan), (error: unknown) => {
    assert.ok(error instanceof FsbError);
    assert.equal(error.exitCode, 1);
    assert.match(error.message, /etc\/modprobe\.d\/60-blacklist_fs-minix\.conf changed since the plan was made; nothing was written/);
    return true;
  });
  const after = snapshotTree(root.dir);
  after.delete("run");
  before.delete("run");
  assert.deepEqual(after, before);
});

test("a write that fails half way puts back what was already written", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const ctx = await createContext({ root: root.dir }, io());
  await applyOverridePlan(ctx, await planOverride(ctx, "block", ["minix"]));
  const plan = await planOverride(ctx, "allow", ["jfs", "minix"]);
  assert.deepEqual(
    plan.changes.map((c) => c.action),
    ["allow", "allow"],
  );
  const before = snapshotTree(root.dir);
  // The file system fills up between the two writes (injected at RootFs, the one I/O seam).
  const realWrite = ctx.fs.writeFileAtomic.bind(ctx.fs);
  ctx.fs.writeFileAtomic = async (rel, data, mode) => {
    if (rel.endsWith("-minix.conf") && String(data).includes("override: allow")) throw Object.assign(new Error("no space left on device"), { code: "ENOSPC" });
    return realWrite(rel, data, mode);
  };
  await assert.rejects(applyOverridePlan(ctx, plan), /cannot write etc\/modprobe\.d\/60-blacklist_fs-minix\.conf: no space left on device \(ENOSPC\); nothing was changed/);
  assert.equal(fs.existsSync(overridePath(root, "jfs")), false, "the jfs override written first was taken back");
  const after = snapshotTree(root.dir);
  assert.deepEqual([...after.keys()], [...before.keys()]);
  assert.equal(after.get("etc/modprobe.d/60-blacklist_fs-minix.conf"), before.get("etc/modprobe.d/60-blacklist_fs-minix.conf"), "the minix block is untouched");
});

test("applying needs root on the real system, and refuses a plan with refusals", async (t) => {
  const root = policyRoot({ files: { "etc/modprobe.d/60-blacklist_fs-jfs.conf": "blacklist jfs\n" } });
  t.after(() => root.cleanup());
  const ctx = await createContext({ root: root.dir }, io());
  const refused = await planOverride(ctx, "allow", ["jfs"]);
  assert.equal(refused.changes[0]!.action, "refused");
  await assert.rejects(applyOverridePlan(ctx, refused), /refusing to apply a plan with refused changes/);

  const host = await createContext({ root: "/" }, io(1000));
  await assert.rejects(
    applyOverridePlan(host, { request: "allow", changes: [{ ...refused.changes[0]!, action: "allow", before: null, after: "x" }] }),
    /allow changes etc\/modprobe\.d and needs root/,
  );
});

test("the --dry-run diff is what GNU diff -u prints", (t) => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-diff-"));
  t.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const lines = (n: number, tag = ""): string => Array.from({ length: n }, (_, i) => `line ${i + 1}${tag}`).join("\n") + "\n";
  const cases: [string | null, string | null][] = [
    [null, "# marker\nblacklist jfs\n"],
    ["# marker\nblacklist jfs\n", null],
    ["# marker\n# kind: allow\n", "# marker\n# kind: block\nblacklist jfs\ninstall jfs /bin/false\n"],
    [lines(20), lines(20).replace("line 2\n", "line two\n").replace("line 18\n", "")],
    [lines(12), lines(12).replace("line 6\n", "line six\n")],
    ["a\nb", "a\nc\n"],
    ["same\n", "same\n"],
  ];
  for (const [before, after] of cases) {
    const a = path.join(scratch, "a");
    const b = path.join(scratch, "b");
    if (before === null) fs.rmSync(a, { force: true });
    else fs.writeFileSync(a, before);
    if (after === null) fs.rmSync(b, { force: true });
    else fs.writeFileSync(b, after);
    const gnu = spawnSync("diff", ["-u", "-N", "--label", before === null ? "/dev/null" : "a/x.conf", "--label", after === null ? "/dev/null" : "b/x.conf", a, b], { encoding: "utf8" });
    const expected = gnu.status === 0 ? "--- a/x.conf\n+++ b/x.conf\n" : gnu.stdout;
    assert.equal(unifiedDiff("x.conf", before, after), expected, JSON.stringify([before, after]));
  }
});
