// allow, block and reset change the effective blacklist just like apply, so the
// initramfs is handled the same way: reported stale, or (initramfs: regenerate)
// rebuilt with the distribution's tool inside `chroot ROOT`, the rebuild
// recorded as pending in apply's state file until it succeeded.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInProcess, type CliResult } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { dracutRuns, installDracut, installShell } from "../helpers/initramfs-tool.ts";
import { SHIPPED, STATE, VENDOR, apply, applyJson, writeConfig, type ApplyJson } from "../apply/helpers.ts";
import { createContext } from "../../src/context.ts";
import { applyOverridePlan, planOverride } from "../../src/services/overrides.ts";
import { parseState, unappliedState } from "../../src/system/state-file.ts";
import { overridePath } from "./helpers.ts";

const REGENERATE = "initramfs: {mode: regenerate, underRoot: true}\n";

async function fsb(root: string, ...args: string[]): Promise<CliResult> {
  return await runInProcess(["--root", root, ...args]);
}

function pending(root: string): boolean {
  return (JSON.parse(fs.readFileSync(path.join(root, STATE), "utf8")) as { initramfsPending: boolean }).initramfsPending;
}

test("report mode: allow says the initramfs is stale and which command rebuilds it; the rebuild is recorded as owed, nothing is run", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  assert.equal((await apply(root.dir)).status, 0);
  installDracut(root.dir, 0);
  const state = parseState(fs.readFileSync(path.join(root.dir, STATE), "utf8"));

  const allowed = await fsb(root.dir, "allow", "jfs");
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, new RegExp(`^The initramfs still carries the previous blacklist; run: chroot ${root.dir} /usr/bin/dracut --regenerate-all --force$`, "m"));
  const blocked = JSON.parse((await fsb(root.dir, "--json", "block", "jfs")).stdout) as Record<string, unknown>;
  assert.equal(blocked["initramfsStale"], true);
  const recorded = parseState(fs.readFileSync(path.join(root.dir, STATE), "utf8"));
  assert.ok(recorded.initramfsOwedSince !== null && recorded.initramfsOwedSince > state.initramfsOwedSince!, "owed since the block");
  assert.deepEqual(blocked["initramfs"], {
    stale: true,
    tool: "dracut",
    command: `chroot ${root.dir} /usr/bin/dracut --regenerate-all --force`,
    regenerated: false,
    error: null,
    owedSince: recorded.initramfsOwedSince,
  });
  assert.deepEqual({ ...recorded, initramfsOwedSince: null }, { ...state, initramfsOwedSince: null }, "the state file changed in nothing else");
  assert.deepEqual(dracutRuns(root.dir), []);
});

test("regenerate mode: a failed rebuild after allow fails the run and stays pending, the next apply does it, block rebuilds at once", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  assert.equal((await apply(root.dir)).status, 0);
  installShell(root.dir);
  installDracut(root.dir, 3);
  writeConfig(root.dir, REGENERATE);

  const failed = await fsb(root.dir, "--json", "allow", "jfs");
  assert.equal(failed.status, 1);
  assert.match(
    failed.stderr,
    /^fsblacklist: chroot \S+ \/usr\/bin\/dracut --regenerate-all --force failed \(exit 3\):\ndracut: cannot build an image here\nthe blacklist itself was changed; the next `fsblacklist apply` tries the initramfs again\n$/,
  );
  const doc = JSON.parse(failed.stdout) as { changed: boolean; initramfsStale: boolean; initramfs: { regenerated: boolean; error: string | null } };
  assert.deepEqual([doc.changed, doc.initramfsStale, doc.initramfs.regenerated], [true, true, false]);
  assert.ok(fs.existsSync(overridePath(root, "jfs")), "the override stays written");
  assert.equal(pending(root.dir), true);
  assert.deepEqual(dracutRuns(root.dir), ["dracut --regenerate-all --force"]);

  // Nothing else to do for apply, but the rebuild is owed: it runs it.
  installDracut(root.dir, 0);
  const retried = (await applyJson(root.dir)).json;
  assert.deepEqual(
    retried.actions.map((a) => a.action),
    ["skip"],
    "apply leaves the allow override alone",
  );
  assert.deepEqual([retried.initramfsStale, retried.initramfs.regenerated], [false, true]);
  assert.equal(pending(root.dir), false);
  assert.equal(dracutRuns(root.dir).length, 2);

  const blocked = await fsb(root.dir, "block", "jfs");
  assert.equal(blocked.status, 0, blocked.stderr);
  assert.match(blocked.stdout, new RegExp(`^The initramfs was rebuilt \\(chroot ${root.dir} /usr/bin/dracut --regenerate-all --force\\)\\.$`, "m"));
  assert.equal(pending(root.dir), false);
  assert.equal(dracutRuns(root.dir).length, 3);

  // From block back to the vendor default: jfs stays blacklisted, the initramfs is current.
  const reset = await fsb(root.dir, "--json", "reset", "jfs");
  assert.equal(reset.status, 0, reset.stderr);
  assert.equal((JSON.parse(reset.stdout) as Record<string, unknown>)["initramfsStale"], false);
  assert.equal(dracutRuns(root.dir).length, 3);
});

test("regenerate mode without a state file (apply never ran): a failed rebuild is recorded as pending, and the first apply installs the policy and retries it", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  installShell(root.dir);
  installDracut(root.dir, 3);
  writeConfig(root.dir, REGENERATE);
  const failed = await fsb(root.dir, "block", "minix");
  assert.equal(failed.status, 1);
  assert.match(
    failed.stderr,
    /dracut --regenerate-all --force failed \(exit 3\):\ndracut: cannot build an image here\nthe blacklist itself was changed; the next `fsblacklist apply` tries the initramfs again\n$/,
  );
  assert.ok(fs.existsSync(overridePath(root, "minix")), "the override stays written");
  const owedState = JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")) as Record<string, unknown>;
  assert.ok(typeof owedState["initramfsOwedSince"] === "string" && !Number.isNaN(Date.parse(owedState["initramfsOwedSince"])));
  assert.deepEqual(owedState, {
    format: "fsblacklist-state-1",
    policyVersion: null,
    appliedAt: null,
    kept: [],
    installed: [],
    initramfsPending: true,
    initramfsOwedSince: owedState["initramfsOwedSince"],
  });
  assert.deepEqual(dracutRuns(root.dir), ["dracut --regenerate-all --force"]);

  // Still failing: apply installs the policy, records what it did, and the rebuild stays owed.
  const stillFailing = await apply(root.dir, ["--json"]);
  assert.equal(stillFailing.status, 1, stillFailing.stderr);
  assert.match(stillFailing.stderr, /the next `fsblacklist apply` tries the initramfs again/);
  const first = JSON.parse(stillFailing.stdout) as ApplyJson;
  assert.equal(first.previousPolicyVersion, null, "no policy was applied before");
  assert.deepEqual(first.newEntries, []);
  assert.ok(first.actions.some((a) => a.action === "install" && a.module === "jfs"));
  const recorded = JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")) as { policyVersion: string; installed: string[]; initramfsPending: boolean };
  assert.equal(recorded.policyVersion, SHIPPED.version);
  assert.ok(recorded.installed.includes(`${VENDOR}/60-blacklist_fs-jfs.conf`));
  assert.equal(recorded.initramfsPending, true);
  assert.equal(dracutRuns(root.dir).length, 2);

  installDracut(root.dir, 0);
  const retried = (await applyJson(root.dir)).json;
  assert.deepEqual(
    retried.actions.map((a) => a.action).filter((a) => a !== "skip"),
    [],
    "the policy is in place already",
  );
  assert.deepEqual([retried.initramfsStale, retried.initramfs.regenerated], [false, true]);
  assert.equal(pending(root.dir), false);
  assert.equal(dracutRuns(root.dir).length, 3);
  assert.equal((await applyJson(root.dir)).json.changed, false, "a second apply has nothing to do");
  assert.equal(dracutRuns(root.dir).length, 3);
});

test("without a state file, a rebuild that succeeds leaves a state file saying nothing is owed, which apply takes over", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  installShell(root.dir);
  installDracut(root.dir, 0);
  writeConfig(root.dir, REGENERATE);
  const blocked = await fsb(root.dir, "block", "minix");
  assert.equal(blocked.status, 0, blocked.stderr);
  assert.equal(pending(root.dir), false);
  assert.deepEqual(dracutRuns(root.dir), ["dracut --regenerate-all --force"]);
  const first = (await applyJson(root.dir)).json;
  assert.equal(first.previousPolicyVersion, null);
  assert.equal(first.initramfs.regenerated, true, "installing the policy changed the blacklist");
  assert.equal(pending(root.dir), false);
});

test("report mode without a state file: allow makes none", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  installDracut(root.dir, 0);
  const allowed = await fsb(root.dir, "allow", "jfs");
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.equal(fs.existsSync(path.join(root.dir, STATE)), false);
  assert.deepEqual(dracutRuns(root.dir), []);
});

test("the modprobe hook's way (rebuildInitramfs: false): the rebuild is only recorded, for the next apply", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  assert.equal((await apply(root.dir)).status, 0);
  installShell(root.dir);
  installDracut(root.dir, 0);
  writeConfig(root.dir, REGENERATE);
  const sink = { write: () => undefined, isTTY: false };
  const ctx = await createContext({ root: root.dir }, { stdout: sink, stderr: sink, env: {}, uid: 0 });
  const { changed, initramfs } = await applyOverridePlan(ctx, await planOverride(ctx, "allow", ["jfs"]), { rebuildInitramfs: false });
  assert.equal(changed, true);
  assert.deepEqual([initramfs?.stale, initramfs?.regenerated], [true, false]);
  assert.equal(pending(root.dir), true);
  assert.deepEqual(dracutRuns(root.dir), []);

  assert.equal((await applyJson(root.dir)).json.initramfs.regenerated, true);
  assert.equal(pending(root.dir), false);
  assert.equal(dracutRuns(root.dir).length, 1);
});

test("the modprobe hook's way without a state file: the owed rebuild is recorded all the same", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  installShell(root.dir);
  installDracut(root.dir, 0);
  writeConfig(root.dir, REGENERATE);
  const sink = { write: () => undefined, isTTY: false };
  const ctx = await createContext({ root: root.dir }, { stdout: sink, stderr: sink, env: {}, uid: 0 });
  // Nothing blacklists minix before apply has run: blocking it changes what kmod enforces.
  const { initramfs } = await applyOverridePlan(ctx, await planOverride(ctx, "block", ["minix"]), { rebuildInitramfs: false });
  assert.deepEqual([initramfs?.stale, initramfs?.regenerated], [true, false]);
  assert.deepEqual(parseState(fs.readFileSync(path.join(root.dir, STATE), "utf8")), { ...unappliedState(), initramfsPending: true, initramfsOwedSince: initramfs?.owedSince ?? "missing" });
  assert.deepEqual(dracutRuns(root.dir), []);
  assert.equal((await applyJson(root.dir)).json.initramfs.regenerated, true);
  assert.equal(pending(root.dir), false);
});

test("a state file from before apply has run: policy version and time are null together", () => {
  const text = (fields: Record<string, unknown>): string => JSON.stringify({ ...unappliedState(), ...fields });
  assert.deepEqual(parseState(text({ initramfsPending: true })), { ...unappliedState(), initramfsPending: true });
  assert.throws(() => parseState(text({ policyVersion: "1.0.0" })), /'policyVersion' and 'appliedAt' are null only together/);
  assert.throws(() => parseState(text({ appliedAt: "2026-01-02T03:04:05.000Z" })), /'policyVersion' and 'appliedAt' are null only together/);
  assert.throws(() => parseState(text({ policyVersion: "one", appliedAt: "2026-01-02T03:04:05.000Z" })), /'policyVersion' is not a semantic version/);
  assert.deepEqual(parseState(text({ policyVersion: "1.0.0", appliedAt: "2026-01-02T03:04:05.000Z" })).policyVersion, "1.0.0");
});
