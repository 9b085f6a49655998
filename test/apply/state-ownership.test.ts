// The state file is written only when it is fsblacklist's: `stateFile` pointing
// at a file of someone else's or at a directory makes every command that could
// write it fail (exit 1) before it writes anything, the file left byte for byte
// (etc/fstab and the configuration file are refused as settings, exit 2:
// test/system/config-refused.test.ts). State files of older versions (no
// `format` key) are still read.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";
import { installDracut } from "../helpers/initramfs-tool.ts";
import { STATE, apply, writeConfig } from "./helpers.ts";

const FSTAB = "# <file system> <mount point> <type> <options> <dump> <pass>\n/dev/vda1 / ext4 defaults 0 1\n";

/** Everything a command could write: etc/, usr/, var/, run/ and lib/modprobe.d. */
function writable(root: string): Map<string, string> {
  const all = new Map<string, string>();
  for (const dir of ["etc", "usr", "var", "run", "lib/modprobe.d"]) {
    if (!fs.existsSync(path.join(root, dir))) continue;
    for (const [rel, facts] of snapshotTree(path.join(root, dir))) all.set(path.posix.join(dir, rel), facts);
  }
  return all;
}

for (const { what, stateFile } of [
  { what: "a text file of the administrator's", stateFile: "etc/motd" },
  { what: "a JSON document of someone else's", stateFile: "etc/other.json" },
  { what: "a directory", stateFile: "var/lib" },
]) {
  test(`stateFile naming ${what}: apply, uninstall --purge and allow exit 1 and write nothing`, async (t) => {
    const root = createFakeRoot({ fstab: FSTAB, files: { "etc/other.json": '{"policyVersion": "2", "owner": "another tool"}\n', "etc/motd": "Welcome\n" } });
    t.after(() => root.cleanup());
    // Installed with the default state file first, so that allow and block have a blacklist to change.
    assert.equal((await apply(root.dir)).status, 0);
    fs.mkdirSync(path.join(root.dir, "var/lib/fsblacklist"), { recursive: true });
    writeConfig(root.dir, `stateFile: ${stateFile}\ninitramfs: {mode: regenerate, underRoot: true}\n`);
    installDracut(root.dir, 0);
    const before = writable(root.dir);
    for (const args of [["apply"], ["apply", "--dry-run"], ["uninstall", "--purge"], ["allow", "jfs"]]) {
      const result = await runInProcess(["--root", root.dir, ...args]);
      assert.equal(result.status, 1, `${args.join(" ")}: ${result.stderr}`);
      assert.match(result.stderr, new RegExp(`${stateFile.replace(/\./g, "\\.")} is not fsblacklist's state file \\(.*\\); nothing was changed\\n.*stateFile`), args.join(" "));
      assert.deepEqual(treeDiff(before, writable(root.dir)), [], `${args.join(" ")} wrote nothing`);
    }
  });
}

test("a state file written by an older fsblacklist (no format key) is read and kept", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  assert.equal((await apply(root.dir)).status, 0);
  const file = path.join(root.dir, STATE);
  // Older versions wrote neither the marker nor the profile.
  const { format, profile, ...older } = JSON.parse(fs.readFileSync(file, "utf8")) as Record<string, unknown>;
  assert.equal(format, "fsblacklist-state-1", "this version marks its state file");
  assert.equal(profile, "default", "this version records the profile it applied");
  fs.writeFileSync(file, JSON.stringify({ ...older, policyVersion: "0.9.0" }, null, 2) + "\n");
  const result = await apply(root.dir, ["--json"]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, "");
  assert.equal(JSON.parse(result.stdout).previousPolicyVersion, "0.9.0");
  const rewritten = JSON.parse(fs.readFileSync(file, "utf8"));
  assert.equal(rewritten.format, "fsblacklist-state-1", "rewritten with the marker");
  assert.equal(rewritten.profile, "default", "and the profile");
});
