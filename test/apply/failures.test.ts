// A read-only or full file system: exit 1 with a message naming the file, every
// file whole (old or new), in-use filesystems never blocked on the way, and the
// next run, once the file system is fixed, converges to what one clean run gives.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { parseMarker } from "../../src/policy/marker.ts";
import { fragmentName, renderFragment } from "../../src/policy/fragment.ts";
import { ADMIN, DEFAULT_MODULES, SHIPPED, STATE, VENDOR, apply, kmodVerdict, loadableFor, settledContents, sh, snapshot } from "./helpers.ts";
import { readOnlyAsync } from "../helpers/mounts.ts";

const IN_USE: FakeRootSpec = {
  loaded: ["jfs"],
  mounts: [
    { source: "/dev/vda1", target: "/", fstype: "ext4" },
    { source: "/dev/sdc2", target: "/mnt/mac", fstype: "hfsplus" },
  ],
  files: { [`${ADMIN}/local.conf`]: "options loop max_loop=8\n" },
};

/** What one undisturbed run makes of the same spec, for comparison. */
async function cleanRun(spec: FakeRootSpec): Promise<Record<string, string>> {
  const root = createFakeRoot(spec);
  try {
    assert.equal((await apply(root.dir)).status, 0);
    return settledContents(root.dir);
  } finally {
    root.cleanup();
  }
}

function fragmentText(module: string): string {
  return renderFragment(SHIPPED.entries.find((e) => e.module === module)!, "default");
}

/** Every fragment present is complete, no temporary file is left, the state file is absent or valid. */
function assertWhole(root: string): void {
  for (const [file, facts] of snapshot(root, [VENDOR, ADMIN, "var/lib/fsblacklist"])) {
    assert.ok(!path.basename(file).startsWith("."), `no temporary file left: ${file}`);
    const name = path.basename(file);
    const module = /^60-blacklist_fs-(.+)\.conf$/.exec(name)?.[1];
    if (file.startsWith(VENDOR) && module) assert.equal(facts.content, fragmentText(module), `${file} is whole`);
    if (file.startsWith(ADMIN) && module) assert.equal(parseMarker(facts.content)?.kind, "keep", `${file} is a whole keep override`);
    if (file === STATE) JSON.parse(facts.content);
  }
}

test("a read-only admin directory: exit 1, nothing written at all, and the next run converges", async () => {
  const root = createFakeRoot(IN_USE);
  const admin = path.join(root.dir, ADMIN);
  try {
    const before = snapshot(root.dir);
    const result = await readOnlyAsync(admin, () => apply(root.dir));
    assert.equal(result.status, 1);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      /^fsblacklist: cannot write etc\/modprobe\.d\/60-blacklist_fs-hfsplus\.conf: read-only file system \(EROFS\); 0 of \d+ changes were made, every file is whole\nhint: .*run `fsblacklist apply` again/,
    );
    assert.deepEqual(snapshot(root.dir), before, "the keeps come first, so nothing else was written either");
    assert.equal((await apply(root.dir)).status, 0);
    assert.deepEqual(settledContents(root.dir), await cleanRun(IN_USE));
  } finally {
    root.cleanup();
  }
});

test("a read-only vendor directory: the keeps are written, nothing in use is blocked, exit 1, then convergence", async () => {
  const root = createFakeRoot(IN_USE);
  const vendor = path.join(root.dir, VENDOR);
  try {
    fs.mkdirSync(vendor, { recursive: true });
    const result = await readOnlyAsync(vendor, () => apply(root.dir));
    assert.equal(result.status, 1);
    assert.match(result.stderr, /cannot write usr\/lib\/modprobe\.d\/60-blacklist_fs-adfs\.conf: read-only file system \(EROFS\); 2 of \d+ changes were made/);
    assertWhole(root.dir);
    assert.deepEqual(fs.readdirSync(vendor), []);
    assert.ok(!fs.existsSync(path.join(root.dir, STATE)), "the state is written last");
    const kmod = kmodVerdict(root.dir);
    assert.ok(loadableFor(kmod, "jfs") && loadableFor(kmod, "hfsplus"));
    assert.equal((await apply(root.dir)).status, 0);
    assert.deepEqual(settledContents(root.dir), await cleanRun(IN_USE));
  } finally {
    root.cleanup();
  }
});

test("a full file system: exit 1, every file old or new, no temporary files, then convergence", async () => {
  const spec: FakeRootSpec = {};
  const root = createFakeRoot(spec);
  const vendor = path.join(root.dir, VENDOR);
  try {
    fs.mkdirSync(vendor, { recursive: true });
    // Eight pages: room for a few fragments, not for all of them.
    sh(`mount -t tmpfs -o size=32k,mode=755 fsblacklist-test '${vendor}'`);
    try {
      const result = await apply(root.dir);
      assert.equal(result.status, 1);
      assert.match(result.stderr, /^fsblacklist: cannot write usr\/lib\/modprobe\.d\/\S+: no space left on device \(ENOSPC\); \d+ of \d+ changes were made, every file is whole\n/);
      const written = fs.readdirSync(vendor);
      assert.ok(written.length > 0 && written.length < DEFAULT_MODULES.length, `some fragments fit: ${written.length}`);
      assertWhole(root.dir);
      assert.ok(!fs.existsSync(path.join(root.dir, STATE)));
      const kmod = kmodVerdict(root.dir);
      for (const name of written) assert.ok(kmod.blacklisted.has(/^60-blacklist_fs-(.+)\.conf$/.exec(name)![1]!));

      sh(`mount -o remount,size=1m '${vendor}'`);
      assert.equal((await apply(root.dir)).status, 0);
      assert.deepEqual(settledContents(root.dir), await cleanRun(spec));
      assert.deepEqual(fs.readdirSync(vendor).sort(), DEFAULT_MODULES.map((m) => fragmentName(m)).sort());
    } finally {
      sh(`umount '${vendor}'`);
    }
  } finally {
    root.cleanup();
  }
});
