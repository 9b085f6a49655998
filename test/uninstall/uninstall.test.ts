// `fsblacklist uninstall` end to end on fake roots, with the real kmod as the
// judge: after apply and uninstall, `modprobe -c` prints byte for byte what it
// printed before apply, and nothing of the administrator's was touched.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";
import { dracutRuns, installDracut, installShell } from "../helpers/initramfs-tool.ts";
import { fragmentName } from "../../src/policy/fragment.ts";
import { renderMarker } from "../../src/policy/marker.ts";
import { ADMIN, DEFAULT_MODULES, STATE, VENDOR, apply, kmodVerdict, loadableFor, writeConfig } from "../apply/helpers.ts";
import { besidesNewDirectories, kmodConfigs, run, uninstall, uninstallJson } from "./helpers.ts";
import { readOnlyAsync } from "../helpers/mounts.ts";

const ADMIN_FILES = {
  [`${ADMIN}/local.conf`]: "options loop max_loop=8\n",
  [`${ADMIN}/${fragmentName("qnx6")}`]: "# mine\r\ninstall qnx6 /bin/true\n",
  "usr/lib/modprobe.d/50-other-package.conf": "blacklist pcspkr\n",
};

const IN_USE: FakeRootSpec = {
  loaded: ["jfs"],
  mounts: [
    { source: "/dev/vda1", target: "/", fstype: "ext4" },
    { source: "/dev/sdc2", target: "/mnt/mac", fstype: "hfsplus" },
  ],
  fstab: "/dev/vda1 / ext4 defaults 0 1\n/dev/sdb1 /mnt/old minix noauto 0 0\n",
  files: ADMIN_FILES,
};

const fragmentsIn = (root: string, dir: string): string[] => (fs.existsSync(path.join(root, dir)) ? fs.readdirSync(path.join(root, dir)).filter((n) => n.startsWith("60-blacklist_fs-")) : []);

test("apply then uninstall: kmod's configuration is byte for byte the one before apply, and the administrator's files are untouched", async () => {
  const root = createFakeRoot(IN_USE);
  try {
    const before = snapshotTree(root.dir);
    const [kmodBefore] = await kmodConfigs(root.dir);
    assert.equal((await apply(root.dir)).status, 0);
    const [kmodApplied] = await kmodConfigs(root.dir);
    assert.notEqual(kmodApplied, kmodBefore, "apply changed what kmod enforces");

    const json = await uninstallJson(root.dir);
    assert.equal(json.changed, true);
    assert.equal(json.blacklistChanged, true);
    assert.equal(json.initramfsStale, true);
    const removed = json.actions.filter((a) => a.action === "remove");
    assert.deepEqual(
      removed.map((a) => a.path),
      [...DEFAULT_MODULES.map((m) => `${VENDOR}/${fragmentName(m)}`).sort(), ...["hfsplus", "jfs", "minix"].map((m) => `${ADMIN}/${fragmentName(m)}`)],
      "every fragment, then the keeps that masked them",
    );
    assert.deepEqual(
      json.actions.filter((a) => a.action === "leave").map((a) => `${a.path}: ${a.reason}`),
      [`${ADMIN}/${fragmentName("qnx6")}: the administrator's own file (no fsblacklist marker): never touched`],
    );
    assert.deepEqual(json.state, { path: STATE, action: "update", directory: null });

    const [kmodAfter] = await kmodConfigs(root.dir);
    assert.equal(kmodAfter, kmodBefore);
    const diff = treeDiff(before, snapshotTree(root.dir));
    assert.deepEqual(
      besidesNewDirectories(diff),
      [`added var/lib/fsblacklist/state.json (${snapshotTree(root.dir).get("var/lib/fsblacklist/state.json")})`],
      "only the state file stays (and directories)",
    );
    const state = JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8"));
    assert.deepEqual([state.installed, state.kept], [[], []]);

    const purged = await uninstallJson(root.dir, ["--purge"]);
    assert.deepEqual(
      purged.actions.map((a) => a.action),
      ["leave"],
    );
    assert.deepEqual([purged.changed, purged.blacklistChanged, purged.initramfsStale], [true, false, true], "the rebuild the plain uninstall owes is still owed");
    assert.deepEqual(purged.state, { path: STATE, action: "remove", directory: "var/lib/fsblacklist" });
    assert.deepEqual(besidesNewDirectories(treeDiff(before, snapshotTree(root.dir))), [], "after --purge only the directories apply created are left");
    assert.ok(!fs.existsSync(path.join(root.dir, "var/lib/fsblacklist")));
  } finally {
    root.cleanup();
  }
});

test("allow and block overrides stay on a plain uninstall, reported, and go with --purge; a second run changes nothing", async () => {
  const root = createFakeRoot(IN_USE);
  try {
    const [kmodBefore] = await kmodConfigs(root.dir);
    assert.equal((await apply(root.dir)).status, 0);
    assert.equal((await run(root.dir, ["allow", "ufs"])).status, 0);
    assert.equal((await run(root.dir, ["block", "hfs"])).status, 0);
    const decisions = [`${ADMIN}/${fragmentName("hfs")}`, `${ADMIN}/${fragmentName("ufs")}`];

    const plain = await uninstallJson(root.dir);
    const left = plain.actions.filter((a) => a.action === "leave");
    assert.deepEqual(
      left.map((a) => a.path),
      ["hfs", "qnx6", "ufs"].map((m) => `${ADMIN}/${fragmentName(m)}`),
    );
    assert.match(left[0]!.reason, /^the administrator's decision `fsblacklist block` \(\S+\) stays, like a changed configuration file; `fsblacklist uninstall --purge` removes it$/);
    assert.match(left[2]!.reason, /^the administrator's decision `fsblacklist allow` /);
    for (const file of decisions) assert.ok(fs.existsSync(path.join(root.dir, file)), `${file} stays`);
    const verdict = kmodVerdict(root.dir);
    assert.ok(verdict.blacklisted.has("hfs"), "the block decision is still in force");
    assert.ok(!verdict.blacklisted.has("ufs") && !verdict.blacklisted.has("jfs"));

    const settled = snapshotTree(root.dir);
    const again = await uninstall(root.dir, ["--json"]);
    assert.equal(again.status, 0, again.stderr);
    const againJson = JSON.parse(again.stdout);
    assert.deepEqual([againJson.changed, againJson.initramfsStale, againJson.state.action], [false, true, "none"], "the first run's rebuild is still owed");
    assert.deepEqual(treeDiff(settled, snapshotTree(root.dir)), [], "a second run changes nothing, not even a time");
    const text = await uninstall(root.dir);
    assert.match(
      text.stdout,
      /\nNothing to do: nothing fsblacklist installed is left to remove\.\n(?:.*\n)*A rebuild of the initramfs is owed since \S+ \(the state file keeps it until one is run or seen\)\.\n$/,
    );

    const purged = await uninstallJson(root.dir, ["--purge"]);
    assert.deepEqual(
      purged.actions.filter((a) => a.action === "remove").map((a) => a.path),
      decisions,
    );
    assert.deepEqual([purged.blacklistChanged, purged.initramfsStale], [true, true]);
    const [kmodAfter] = await kmodConfigs(root.dir);
    assert.equal(kmodAfter, kmodBefore);
    assert.ok(!fs.existsSync(path.join(root.dir, "var/lib/fsblacklist")));
    assert.equal(fs.readFileSync(path.join(root.dir, ADMIN, fragmentName("qnx6")), "utf8"), ADMIN_FILES[`${ADMIN}/${fragmentName("qnx6")}`]);

    const purgedTree = snapshotTree(root.dir);
    assert.equal((await uninstallJson(root.dir, ["--purge"])).changed, false);
    assert.deepEqual(treeDiff(purgedTree, snapshotTree(root.dir)), []);
  } finally {
    root.cleanup();
  }
});

test("--dry-run writes nothing (no lock either) and shows exactly what the real run then does", async () => {
  const root = createFakeRoot(IN_USE);
  try {
    assert.equal((await apply(root.dir)).status, 0);
    assert.equal((await run(root.dir, ["block", "hfs"])).status, 0);
    const before = snapshotTree(root.dir);
    for (const args of [["--dry-run"], ["--dry-run", "--purge"]]) {
      const dry = await uninstallJson(root.dir, args);
      assert.equal(dry.dryRun, true);
      assert.equal(dry.changed, true, "it would change something");
      const text = await uninstall(root.dir, args);
      assert.equal(text.status, 0, text.stderr);
      assert.match(text.stdout, /^fsblacklist uninstall( --purge)? --dry-run\n {2}would remove {7}usr\/lib\/modprobe\.d\/60-blacklist_fs-adfs\.conf \(adfs\)\n/);
      assert.match(text.stdout, /\nDry run: nothing was changed\.\n$/);
      assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], `${args.join(" ")} wrote nothing`);
    }
    const planned = await uninstallJson(root.dir, ["--dry-run", "--purge"]);
    const done = await uninstallJson(root.dir, ["--purge"]);
    // The same actions; only the dry run carries each removal's diff (test/uninstall/dry-run-diff.test.ts).
    assert.deepEqual(
      done.actions,
      planned.actions.map(({ diff: _diff, ...action }) => action),
    );
    assert.deepEqual(done.state, planned.state);
    assert.equal(done.dryRun, false);
  } finally {
    root.cleanup();
  }
});

test("a vendor file of our name that fsblacklist did not write stays, reported, and the keep that masks it stays until --purge", async () => {
  const foreign = "# shipped by another package\nblacklist jfs\n";
  const root = createFakeRoot({ ...IN_USE, files: { ...ADMIN_FILES, [`${VENDOR}/${fragmentName("jfs")}`]: foreign } });
  try {
    const [kmodBefore] = await kmodConfigs(root.dir);
    assert.equal((await apply(root.dir)).status, 0);
    // A fragment apply installed, replaced since by someone else: the state lists it, its content is not ours.
    const replaced = `${VENDOR}/${fragmentName("hfs")}`;
    fs.writeFileSync(path.join(root.dir, replaced), "blacklist hfs\n");
    const untouched = (snap: Map<string, string>): (string | undefined)[] => [`./${VENDOR}/${fragmentName("jfs")}`, `./${replaced}`].map((f) => snap.get(f));
    const before = snapshotTree(root.dir);

    const json = await uninstallJson(root.dir);
    assert.deepEqual(untouched(snapshotTree(root.dir)), untouched(before), "both foreign files are byte and mtime unchanged");
    const leave = (file: string) => json.actions.find((a) => a.action === "leave" && a.path === file);
    assert.match(leave(`${VENDOR}/${fragmentName("jfs")}`)!.reason, /does not start with fsblacklist's policy header: not fsblacklist's, left alone$/);
    assert.match(leave(replaced)!.reason, /the state file lists it, so someone replaced the fragment apply installed/);
    assert.match(
      leave(`${ADMIN}/${fragmentName("jfs")}`)!.reason,
      /^apply's keep \(jfs loaded \(proc\/modules\)\) masks usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf, which fsblacklist did not write/,
    );
    assert.deepEqual(
      json.kept.map((k) => k.module),
      ["jfs"],
    );
    assert.ok(loadableFor(kmodVerdict(root.dir), "jfs"), "jfs, loaded, stays loadable");

    const purged = await uninstallJson(root.dir, ["--purge"]);
    assert.ok(purged.actions.some((a) => a.action === "remove" && a.path === `${ADMIN}/${fragmentName("jfs")}`));
    assert.deepEqual(untouched(snapshotTree(root.dir)), untouched(before));
    fs.writeFileSync(path.join(root.dir, replaced), "");
    fs.rmSync(path.join(root.dir, replaced));
    const [kmodAfter] = await kmodConfigs(root.dir);
    assert.equal(kmodAfter, kmodBefore, "the other package's file decides for jfs again, as before apply");
  } finally {
    root.cleanup();
  }
});

test("kmod before 32 (lib/modprobe.d), without a state file: every fragment is found by its name and header", async () => {
  const root = createFakeRoot({ ...IN_USE, kmodVersion: "30+20221128-1" });
  try {
    const [kmodBefore] = await kmodConfigs(root.dir);
    assert.equal((await apply(root.dir)).status, 0);
    assert.equal(fragmentsIn(root.dir, "lib/modprobe.d").length, DEFAULT_MODULES.length);
    fs.rmSync(path.join(root.dir, STATE));
    const json = await uninstallJson(root.dir);
    assert.deepEqual(json.state, { path: STATE, action: "none", directory: null }, "no state file is created");
    assert.equal(json.actions.filter((a) => a.action === "remove" && a.path.startsWith("lib/modprobe.d/")).length, DEFAULT_MODULES.length);
    assert.deepEqual(fragmentsIn(root.dir, "lib/modprobe.d"), []);
    assert.ok(!fs.existsSync(path.join(root.dir, STATE)));
    const [kmodAfter] = await kmodConfigs(root.dir);
    assert.equal(kmodAfter, kmodBefore);
  } finally {
    root.cleanup();
  }
});

test("a merged /usr (lib -> usr/lib): each fragment is removed once, and kmod, which reads it under both names, agrees", async () => {
  const root = createFakeRoot(IN_USE);
  try {
    fs.cpSync(path.join(root.dir, "lib"), path.join(root.dir, "usr/lib"), { recursive: true });
    fs.rmSync(path.join(root.dir, "lib"), { recursive: true });
    fs.symlinkSync("usr/lib", path.join(root.dir, "lib"));
    const [kmodBefore] = await kmodConfigs(root.dir);
    assert.equal((await apply(root.dir)).status, 0);
    const json = await uninstallJson(root.dir);
    const removed = json.actions.filter((a) => a.action === "remove" && a.file === "fragment").map((a) => a.path);
    assert.deepEqual(removed, DEFAULT_MODULES.map((m) => `${VENDOR}/${fragmentName(m)}`).sort());
    assert.equal(json.blacklistChanged, true);
    const [kmodAfter] = await kmodConfigs(root.dir);
    assert.equal(kmodAfter, kmodBefore);
  } finally {
    root.cleanup();
  }
});

test("a read-only admin directory: the fragments go first, kept filesystems stay loadable, exit 1, and the next run finishes", async () => {
  const root = createFakeRoot(IN_USE);
  const admin = path.join(root.dir, ADMIN);
  try {
    assert.equal((await apply(root.dir)).status, 0);
    const result = await readOnlyAsync(admin, () => uninstall(root.dir));
    assert.equal(result.status, 1);
    assert.equal(result.stdout, "");
    assert.match(
      result.stderr,
      new RegExp(
        `^fsblacklist: cannot remove etc/modprobe\\.d/60-blacklist_fs-hfsplus\\.conf: read-only file system \\(EROFS\\); ${DEFAULT_MODULES.length} of ${DEFAULT_MODULES.length + 4} changes were made, every file is whole\\nhint: .*run \`fsblacklist uninstall\` again`,
      ),
    );
    assert.deepEqual(fragmentsIn(root.dir, VENDOR), []);
    const verdict = kmodVerdict(root.dir);
    for (const module of ["jfs", "minix", "hfsplus"]) assert.ok(loadableFor(verdict, module), `${module} stays loadable`);
    assert.ok(!fs.existsSync(path.join(root.dir, "run/fsblacklist.lock")), "the lock is released");

    const finished = await uninstallJson(root.dir);
    assert.deepEqual(
      finished.actions.filter((a) => a.action === "remove").map((a) => a.path),
      ["hfsplus", "jfs", "minix"].map((m) => `${ADMIN}/${fragmentName(m)}`),
    );
    assert.deepEqual(fragmentsIn(root.dir, ADMIN), [fragmentName("qnx6")]);
  } finally {
    root.cleanup();
  }
});

test("initramfs: regenerate rebuilds after the blacklist changed, a failed rebuild exits 1 and is retried by the next run", async () => {
  const root = createFakeRoot();
  try {
    installShell(root.dir);
    installDracut(root.dir, 0);
    writeConfig(root.dir, "initramfs: {mode: regenerate, underRoot: true}\n");
    assert.equal((await apply(root.dir)).status, 0);
    assert.equal(dracutRuns(root.dir).length, 1);

    installDracut(root.dir, 3);
    const failed = await uninstall(root.dir, ["--json"]);
    assert.equal(failed.status, 1);
    assert.equal(
      failed.stderr,
      `fsblacklist: chroot ${root.dir} /usr/bin/dracut --regenerate-all --force failed (exit 3):\ndracut: cannot build an image here\n` +
        "fsblacklist's files were removed; the next `fsblacklist uninstall` (or `fsblacklist apply`) tries the initramfs again, " +
        `but once fsblacklist itself is removed nothing does: then run chroot ${root.dir} /usr/bin/dracut --regenerate-all --force yourself\n`,
    );
    const failedJson = JSON.parse(failed.stdout);
    assert.deepEqual([failedJson.changed, failedJson.initramfsStale, failedJson.initramfs.regenerated], [true, true, false]);
    assert.deepEqual(fragmentsIn(root.dir, VENDOR), [], "the fragments are gone all the same");
    assert.equal(JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")).initramfsPending, true);

    installDracut(root.dir, 0);
    const retried = await uninstallJson(root.dir);
    assert.deepEqual(retried.actions, []);
    assert.deepEqual([retried.changed, retried.initramfsStale, retried.initramfs.regenerated], [true, false, true]);
    assert.equal(JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")).initramfsPending, false);
    assert.equal(dracutRuns(root.dir).length, 3);

    const quiet = await uninstallJson(root.dir);
    assert.deepEqual([quiet.changed, quiet.initramfsStale], [false, false]);
    assert.equal(dracutRuns(root.dir).length, 3, "no rebuild without a change");
  } finally {
    root.cleanup();
  }
});

test("initramfs: regenerate without a state file: a failed rebuild says that nothing will retry it", async () => {
  const root = createFakeRoot();
  try {
    installShell(root.dir);
    installDracut(root.dir, 0);
    writeConfig(root.dir, "initramfs: {mode: regenerate, underRoot: true}\n");
    assert.equal((await apply(root.dir)).status, 0);
    fs.rmSync(path.join(root.dir, STATE));

    installDracut(root.dir, 3);
    const failed = await uninstall(root.dir);
    assert.equal(failed.status, 1);
    assert.equal(
      failed.stderr,
      `fsblacklist: chroot ${root.dir} /usr/bin/dracut --regenerate-all --force failed (exit 3):\ndracut: cannot build an image here\n` +
        `fsblacklist's files were removed; without a state file nothing records the rebuild: run chroot ${root.dir} /usr/bin/dracut --regenerate-all --force yourself once it can succeed\n`,
    );
    assert.deepEqual(fragmentsIn(root.dir, VENDOR), [], "the fragments are gone all the same");
    assert.ok(!fs.existsSync(path.join(root.dir, STATE)), "no state file is made up");
  } finally {
    root.cleanup();
  }
});

test("bad usage exits 2 and a damaged state file of fsblacklist's is reported, kept by a plain run and removed by --purge", async () => {
  const damaged = '{"format": "fsblacklist-state-1", "installed": "x"}';
  const root = createFakeRoot({ files: { [STATE]: damaged } });
  try {
    const bad = await uninstall(root.dir, ["--bogus"]);
    assert.equal(bad.status, 2);
    assert.match(bad.stderr, /unknown option '--bogus'/);
    const extra = await uninstall(root.dir, ["jfs"]);
    assert.equal(extra.status, 2);

    const plain = await uninstall(root.dir, ["--json"]);
    assert.equal(plain.status, 0);
    assert.match(plain.stderr, /^fsblacklist: warning: var\/lib\/fsblacklist\/state\.json: /);
    assert.equal(JSON.parse(plain.stdout).changed, false);
    assert.equal(fs.readFileSync(path.join(root.dir, STATE), "utf8"), damaged);
    const purged = await uninstallJson(root.dir, ["--purge"]);
    assert.deepEqual([purged.changed, purged.state.action], [true, "remove"]);
    assert.ok(!fs.existsSync(path.join(root.dir, "var/lib/fsblacklist")));
  } finally {
    root.cleanup();
  }
});

test("the state directory goes with --purge only when nothing else is in it", async () => {
  const marker = renderMarker({ kind: "allow", module: "ufs", reason: "r", date: "2024-01-01T00:00:00.000Z", kernel: null });
  const root = createFakeRoot({ files: { [`${ADMIN}/${fragmentName("ufs")}`]: marker, "var/lib/fsblacklist/notes.txt": "mine\n" } });
  try {
    assert.equal((await apply(root.dir)).status, 0);
    const json = await uninstallJson(root.dir, ["--purge"]);
    assert.deepEqual(json.state, { path: STATE, action: "remove", directory: null });
    assert.deepEqual(fs.readdirSync(path.join(root.dir, "var/lib/fsblacklist")), ["notes.txt"]);
    assert.ok(!fs.existsSync(path.join(root.dir, ADMIN, fragmentName("ufs"))));
  } finally {
    root.cleanup();
  }
});
