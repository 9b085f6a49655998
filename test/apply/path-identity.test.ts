// Paths are judged by where they lead, never by their names, with real files
// and links on fake roots and the real kmod as the judge:
// - etc/modprobe.d and the vendor directory made one directory by a link: a keep
//   or an override would be written over a fragment (or the reverse), so apply,
//   allow, block and reset refuse (exit 2, nothing written), dry runs too;
//   status still describes such a root.
// - uninstall judges a file reachable under two names once.
// - a run/modprobe.d that is a link to the vendor directory shows kmod the
//   fragments a second time (and first): removing them changes the blacklist.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";
import { fragmentName } from "../../src/policy/fragment.ts";
import { ADMIN, DEFAULT_MODULES, VENDOR, apply, kmodVerdict, loadableFor } from "./helpers.ts";
import { run, uninstallJson } from "../uninstall/helpers.ts";

const JFS_MOUNTED: FakeRootSpec = {
  loaded: ["jfs"],
  mounts: [
    { source: "/dev/vda1", target: "/", fstype: "ext4" },
    { source: "/dev/sdb1", target: "/srv", fstype: "jfs" },
  ],
  fstab: "/dev/vda1 / ext4 defaults 0 1\n/dev/sdb1 /srv jfs defaults 0 2\n",
};

/** Replaces `dir` (root-relative) by a relative link to `target`, moving what it held there. */
function linkDir(root: string, dir: string, target: string): void {
  const at = path.join(root, dir);
  const to = path.join(root, target);
  fs.mkdirSync(to, { recursive: true });
  if (fs.existsSync(at)) {
    for (const name of fs.readdirSync(at)) fs.renameSync(path.join(at, name), path.join(to, name));
    fs.rmdirSync(at);
  }
  fs.mkdirSync(path.dirname(at), { recursive: true });
  fs.symlinkSync(path.relative(path.dirname(at), to), at);
}

interface Layout {
  name: string;
  spec: FakeRootSpec;
  /** The directory that becomes a link, and where it leads. */
  link: [string, string];
  vendor: string;
}

const LAYOUTS: Layout[] = [
  { name: "etc/modprobe.d a link to usr/lib/modprobe.d (kmod 34)", spec: { kmodVersion: "34.2-2" }, link: [ADMIN, VENDOR], vendor: VENDOR },
  { name: "lib/modprobe.d a link to etc/modprobe.d (kmod 30)", spec: { kmodVersion: "30+20221128-1" }, link: ["lib/modprobe.d", ADMIN], vendor: "lib/modprobe.d" },
];

for (const layout of LAYOUTS) {
  test(`${layout.name}: apply, allow, block and reset refuse and write nothing; status still works`, async (t) => {
    const root = createFakeRoot({ ...JFS_MOUNTED, ...layout.spec, files: { [`${ADMIN}/local.conf`]: "options loop max_loop=8\n" } });
    t.after(() => root.cleanup());
    linkDir(root.dir, ...layout.link);
    const before = snapshotTree(root.dir);
    for (const args of [["apply"], ["apply", "--dry-run"], ["allow", "jfs"], ["allow", "--dry-run", "minix"], ["block", "hfs"], ["reset", "jfs"]]) {
      for (const json of [false, true]) {
        const result = await run(root.dir, [...args, ...(json ? ["--json"] : [])]);
        const what = `${args.join(" ")}${json ? " --json" : ""}`;
        assert.equal(result.status, 2, `${what}: exit ${result.status}: ${result.stdout}${result.stderr}`);
        const message = json ? (JSON.parse(result.stdout) as { error: { message: string; exitCode: number } }).error.message : result.stderr;
        assert.match(message, new RegExp(`${ADMIN} and ${layout.vendor} are the same directory`), `${what}: ${message}`);
        if (!json) assert.equal(result.stdout, "", what);
      }
    }
    assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], "nothing was written");
    const status = await run(root.dir, ["status", "jfs"]);
    assert.equal(status.status, 0, status.stderr);
  });
}

test("uninstall judges a file reachable as etc/modprobe.d/X and usr/lib/modprobe.d/X once, and removes the blacklist", async (t) => {
  const root = createFakeRoot({ ...JFS_MOUNTED, kmodVersion: "34.2-2" });
  t.after(() => root.cleanup());
  assert.equal((await apply(root.dir)).status, 0);
  // The layout changes under an installed fsblacklist: the keep of jfs cannot
  // share its directory with the fragment it masks, so the keep stays and the
  // fragment goes (as a broken tool would have left it).
  const keep = fs.readFileSync(path.join(root.dir, ADMIN, fragmentName("jfs")), "utf8");
  fs.rmSync(path.join(root.dir, ADMIN, fragmentName("jfs")));
  linkDir(root.dir, ADMIN, VENDOR);
  fs.writeFileSync(path.join(root.dir, VENDOR, fragmentName("jfs")), keep);
  assert.equal(loadableFor(kmodVerdict(root.dir), "jfs"), true);
  assert.equal(loadableFor(kmodVerdict(root.dir), "minix"), false);

  const json = await uninstallJson(root.dir);
  const names = json.actions.map((a) => path.posix.basename(a.path));
  assert.deepEqual(
    names.filter((n, i) => names.indexOf(n) !== i),
    [],
    `each file once: ${json.actions.map((a) => `${a.action} ${a.path}`).join(", ")}`,
  );
  const fragments = DEFAULT_MODULES.filter((m) => m !== "jfs");
  assert.deepEqual(
    json.actions
      .filter((a) => a.action === "remove" && a.file === "fragment")
      .map((a) => a.path)
      .sort(),
    fragments.map((m) => `${VENDOR}/${fragmentName(m)}`).sort(),
  );
  const jfs = json.actions.filter((a) => a.module === "jfs");
  assert.equal(jfs.length, 1, JSON.stringify(jfs));
  assert.equal(jfs[0]!.action, "remove", JSON.stringify(jfs));
  assert.equal(jfs[0]!.file, "override");
  assert.equal(json.actions.filter((a) => a.action === "leave").length, 0, JSON.stringify(json.actions));
  assert.equal(json.blacklistChanged, true);
  const verdict = kmodVerdict(root.dir);
  for (const m of DEFAULT_MODULES) assert.equal(loadableFor(verdict, m), true, `${m} loads again`);
  assert.deepEqual(fs.readdirSync(path.join(root.dir, VENDOR)), [], "nothing of fsblacklist's is left");
});

/** A root (kmod 34) whose run/modprobe.d is a link to the vendor directory, the policy applied. */
async function appliedWithRunLinkedToVendor(t: TestContext): Promise<FakeRoot> {
  const root = createFakeRoot({ kmodVersion: "34.2-2", fstab: "/dev/vda1 / ext4 defaults 0 1\n" });
  t.after(() => root.cleanup());
  fs.mkdirSync(path.join(root.dir, VENDOR), { recursive: true });
  linkDir(root.dir, "run/modprobe.d", VENDOR);
  assert.equal((await apply(root.dir)).status, 0);
  return root;
}

test("a run/modprobe.d that is a link to the vendor directory: uninstall changes the blacklist, and says so", async (t) => {
  const root = await appliedWithRunLinkedToVendor(t);
  assert.equal(loadableFor(kmodVerdict(root.dir), "minix"), false, "kmod reads the fragments");

  const dry = await uninstallJson(root.dir, ["--dry-run"]);
  assert.equal(dry.blacklistChanged, true, "the dry run sees the blacklist change");
  const json = await uninstallJson(root.dir);
  assert.equal(json.blacklistChanged, true);
  assert.equal(json.initramfsStale, true);
  assert.equal(loadableFor(kmodVerdict(root.dir), "minix"), true, "kmod no longer blacklists minix");
});

test("a run/modprobe.d that is a link to the vendor directory: a profile change is a blacklist change", async (t) => {
  const root = await appliedWithRunLinkedToVendor(t);
  const before = kmodVerdict(root.dir).installs.get("cramfs");
  const result = await run(root.dir, ["apply", "--json", "--profile", "cis-l1"]);
  assert.equal(result.status, 0, result.stderr);
  const after = kmodVerdict(root.dir).installs.get("cramfs");
  assert.notEqual(after, before, "kmod runs another install line for cramfs");
  assert.equal((JSON.parse(result.stdout) as { blacklistChanged: boolean }).blacklistChanged, true);
});
