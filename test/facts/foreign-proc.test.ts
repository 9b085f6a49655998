// A chroot with the host's /proc mounted (how image builders run package hooks):
// the loaded modules and mounts there are the host's, not the image's.

import { test } from "node:test";
import assert from "node:assert/strict";
import { symlinkSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { readKernelState } from "../../src/system/kernel-state.ts";
import { runningRelease } from "../../src/system/kernel-release.ts";
import { runCli } from "../helpers/cli.ts";

const SPEC = { loaded: ["jfs"], fstab: "/dev/sdb1 /mnt/old minix noauto 0 0\n" };

function withHostProc(dir: string): void {
  // proc/1/root of a host /proc points at the host's root, not at this tree.
  mkdirSync(join(dir, "proc/1"), { recursive: true });
  symlinkSync("/", join(dir, "proc/1/root"));
}

test("proc/ whose pid 1 lives in another root is not this root's running kernel", (t) => {
  const own = createFakeRoot(SPEC);
  const foreign = createFakeRoot(SPEC);
  t.after(() => {
    own.cleanup();
    foreign.cleanup();
  });
  withHostProc(foreign.dir);

  const ownState = readKernelState(new RootFs(own.dir));
  assert.equal(ownState.running, true);
  assert.ok(ownState.loaded.has("jfs"));

  const foreignState = readKernelState(new RootFs(foreign.dir));
  assert.equal(foreignState.running, false);
  assert.equal(foreignState.loaded.size, 0);
  assert.equal(runningRelease(new RootFs(foreign.dir)), null);
});

test("apply in such a chroot keeps what fstab needs and says it saw no running kernel", (t) => {
  const root = createFakeRoot(SPEC);
  t.after(() => root.cleanup());
  withHostProc(root.dir);
  const result = runCli(["apply", "--dry-run", "--json", "--root", root.dir]);
  assert.equal(result.status, 0, result.stderr);
  const report = JSON.parse(result.stdout) as { actions: { action: string; module: string }[]; notes: string[] };
  const kept = report.actions.filter((a) => a.action === "keep").map((a) => a.module);
  assert.deepEqual(kept, ["minix"], "jfs is loaded only in the host's proc, minix is in the image's fstab");
  assert.ok(
    report.notes.some((n) => /no running kernel/.test(n)),
    report.notes.join("\n"),
  );
});
