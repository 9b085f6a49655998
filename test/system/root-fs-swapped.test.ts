// RootFs remembers the directories it has seen, to read 5,000 files without
// 25,000 lstat calls. A directory that someone replaces by a link after it was
// seen (anyone who can write inside the root can) must not carry a write, a
// removal or a new directory out of the root: those walk every component again.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { RootFs } from "../../src/system/root-fs.ts";
import { makeScratchDir } from "../helpers/tree-generator.ts";

/** A root whose etc/modprobe.d was seen by RootFs, then replaced by a link to a directory outside the root. */
function swapped(t: { after: (fn: () => void) => void }): { fs: RootFs; root: string; outside: string } {
  const scratch = makeScratchDir("fsb-swapped-");
  t.after(() => fs.rmSync(scratch, { recursive: true, force: true }));
  const root = path.join(scratch, "root");
  const outside = path.join(scratch, "outside");
  fs.mkdirSync(path.join(root, "etc/modprobe.d"), { recursive: true });
  fs.mkdirSync(outside);
  fs.writeFileSync(path.join(outside, "victim.conf"), "outside the root\n");
  fs.writeFileSync(path.join(root, "etc/modprobe.d/a.conf"), "blacklist jfs\n");
  const rootFs = new RootFs(root);
  // Seen: listed and read through the remembered directory.
  assert.deepEqual(
    rootFs.listDir("etc/modprobe.d")?.map((e) => e.name),
    ["a.conf"],
  );
  assert.equal(rootFs.readText("etc/modprobe.d/a.conf"), "blacklist jfs\n");
  fs.renameSync(path.join(root, "etc/modprobe.d"), path.join(root, "etc/modprobe.d.old"));
  fs.symlinkSync(outside, path.join(root, "etc/modprobe.d"));
  return { fs: rootFs, root, outside };
}

test("a write into a directory swapped for a link after it was seen lands inside the root", async (t) => {
  const { fs: rootFs, root, outside } = swapped(t);
  await rootFs.writeFileAtomic("etc/modprobe.d/60-blacklist_fs-jfs.conf", "blacklist jfs\n");
  assert.deepEqual(fs.readdirSync(outside), ["victim.conf"], "nothing was written outside the root");
  // The absolute link target is taken inside the root, as in a chroot.
  assert.equal(fs.readFileSync(path.join(root, outside, "60-blacklist_fs-jfs.conf"), "utf8"), "blacklist jfs\n");
});

test("a removal through a directory swapped for a link after it was seen does not reach outside the root", async (t) => {
  const { fs: rootFs, outside } = swapped(t);
  assert.equal(await rootFs.removeFile("etc/modprobe.d/victim.conf"), false);
  assert.equal(fs.readFileSync(path.join(outside, "victim.conf"), "utf8"), "outside the root\n");
});

test("mkdirp under a directory swapped for a link after it was seen creates inside the root", (t) => {
  const { fs: rootFs, root, outside } = swapped(t);
  const made = rootFs.mkdirp("etc/modprobe.d/sub");
  assert.deepEqual(fs.readdirSync(outside), ["victim.conf"], "nothing was created outside the root");
  assert.equal(made, path.join(root, outside, "sub"));
});
