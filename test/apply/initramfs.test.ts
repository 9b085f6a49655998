// The initramfs copy of modprobe.d: reported stale when the blacklist changes,
// rebuilt with the distribution's tool where configured, and never with the
// host's tool for another root unless asked (then inside `chroot ROOT`).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { dracutRuns as runs, installDracut, installShell } from "../helpers/initramfs-tool.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { detectInitramfsTool } from "../../src/system/initramfs.ts";
import { STATE, apply, applyJson, writeConfig } from "./helpers.ts";

test("the distribution's tool is found under the root, Debian's interface first", () => {
  const root = createFakeRoot({ files: { "usr/bin/mkinitcpio": "#!/bin/sh\n", "usr/sbin/update-initramfs": "#!/bin/sh\n" } });
  try {
    const fs_ = new RootFs(root.dir);
    assert.equal(detectInitramfsTool(fs_), null, "not executable: not a tool");
    fs.chmodSync(path.join(root.dir, "usr/bin/mkinitcpio"), 0o755);
    assert.deepEqual(detectInitramfsTool(fs_), { name: "mkinitcpio", path: "usr/bin/mkinitcpio", args: ["-P"] });
    fs.chmodSync(path.join(root.dir, "usr/sbin/update-initramfs"), 0o755);
    assert.deepEqual(detectInitramfsTool(fs_), { name: "update-initramfs", path: "usr/sbin/update-initramfs", args: ["-u", "-k", "all"] });
  } finally {
    root.cleanup();
  }
});

test("report mode: stale with the command to run when the blacklist changed, and owed until a rebuild is seen", async () => {
  const root = createFakeRoot();
  try {
    installDracut(root.dir, 0);
    const { json } = await applyJson(root.dir);
    assert.equal(json.initramfsStale, true);
    assert.ok(json.initramfsOwedSince !== null && !Number.isNaN(Date.parse(json.initramfsOwedSince)));
    const command = `chroot ${root.dir} /usr/bin/dracut --regenerate-all --force`;
    assert.deepEqual(json.initramfs, { stale: true, tool: "dracut", command, regenerated: false, error: null, owedSince: json.initramfsOwedSince });
    assert.deepEqual(runs(root.dir), [], "report mode never runs the tool");
    const second = (await applyJson(root.dir)).json;
    assert.deepEqual([second.changed, second.initramfsStale, second.initramfsOwedSince], [false, true, json.initramfsOwedSince], "nothing changed since, but no rebuild was run or seen");
    fs.rmSync(path.join(root.dir, STATE));
    const again = (await applyJson(root.dir)).json;
    assert.equal(again.changed, true, "the state file was written again");
    assert.equal(again.initramfsStale, false, "but the blacklist did not change, and nothing records a rebuild owed");
  } finally {
    root.cleanup();
  }
});

test("regenerate mode under --root: not without initramfs.underRoot; with it, inside chroot, retried until it succeeds", async () => {
  const root = createFakeRoot();
  try {
    installShell(root.dir);
    installDracut(root.dir, 0);
    writeConfig(root.dir, "initramfs: regenerate\n");
    const refused = (await applyJson(root.dir)).json;
    assert.equal(refused.initramfsStale, true);
    assert.ok(refused.notes.includes(`not rebuilding the initramfs under --root ${root.dir} (initramfs.underRoot is off)`));
    assert.deepEqual(runs(root.dir), []);

    // A blacklist change with a tool that fails: exit 1, the blacklist applied, the rebuild pending.
    writeConfig(root.dir, "initramfs: {mode: regenerate, underRoot: true}\nkeep: {always: [jfs]}\n");
    installDracut(root.dir, 3);
    const failed = await apply(root.dir, ["--json"]);
    assert.equal(failed.status, 1);
    assert.match(
      failed.stderr,
      /^fsblacklist: chroot \S+ \/usr\/bin\/dracut --regenerate-all --force failed \(exit 3\):\ndracut: cannot build an image here\nthe blacklist itself was applied; the next `fsblacklist apply` tries the initramfs again\n$/,
    );
    const failedJson = JSON.parse(failed.stdout);
    assert.deepEqual([failedJson.changed, failedJson.initramfsStale, failedJson.initramfs.regenerated], [true, true, false]);
    assert.equal(JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")).initramfsPending, true);
    assert.equal(JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")).initramfsOwedSince, failedJson.initramfsOwedSince);
    assert.ok(!Number.isNaN(Date.parse(failedJson.initramfsOwedSince)), "owed since the change");
    assert.deepEqual(runs(root.dir), ["dracut --regenerate-all --force"], "run inside the root");

    // Nothing else changed, but the rebuild is still owed: the next run does it.
    installDracut(root.dir, 0);
    const retried = (await applyJson(root.dir)).json;
    assert.deepEqual(retried.actions, []);
    assert.deepEqual([retried.initramfsStale, retried.initramfs.regenerated, retried.initramfsOwedSince], [false, true, null]);
    assert.equal(JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")).initramfsPending, false);
    assert.equal(JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")).initramfsOwedSince, null, "the rebuild ran: nothing is owed");
    assert.equal(runs(root.dir).length, 2);

    const quiet = (await applyJson(root.dir)).json;
    assert.deepEqual([quiet.changed, quiet.initramfsStale], [false, false]);
    assert.equal(runs(root.dir).length, 2, "no rebuild without a change");
  } finally {
    root.cleanup();
  }
});
