// The package removal hooks under packaging/, run as the package managers run
// them (a POSIX shell) against fake roots, with the bundled command on PATH as
// `fsblacklist`: after install (apply) and removal, kmod's configuration is what
// it was before, and the hooks do nothing on upgrades.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";
import { fragmentName } from "../../src/policy/fragment.ts";
import { ADMIN, CLI, VENDOR, apply, writeConfig } from "../apply/helpers.ts";
import { kmodConfigs, run } from "./helpers.ts";

const PACKAGING = fileURLToPath(new URL("../../packaging/", import.meta.url));
const read = (file: string): string => fs.readFileSync(path.join(PACKAGING, file), "utf8");

interface Hook {
  name: string;
  /** The shell script as the package manager runs it. */
  script: () => string;
  /** The arguments of a real removal. */
  args: string[];
  /** rpm, pacman and apk run scripts chrooted into the target; dpkg passes $DPKG_ROOT instead. */
  chrooted: boolean;
}

function specBody(file: string, section: string): string {
  const spec = read(file);
  const start = spec.indexOf(`\n${section}\n`);
  assert.ok(start >= 0, `${file} has a ${section} section`);
  return spec.slice(start + section.length + 2);
}

const HOOKS: Hook[] = [
  { name: "rpm %preun", script: () => specBody("rpm/fsblacklist-preun.spec", "%preun"), args: ["0"], chrooted: true },
  { name: "dpkg prerm", script: () => read("dpkg/prerm"), args: ["remove"], chrooted: false },
  { name: "pacman remove hook script", script: () => read("pacman/fsblacklist-uninstall"), args: [], chrooted: true },
  { name: "apk pre-deinstall", script: () => read("apk/fsblacklist.pre-deinstall"), args: ["1.0.0-r0"], chrooted: true },
];

/** A PATH directory with `fsblacklist`: the bundled command, seeing the fake root as a chroot would (or through $DPKG_ROOT). */
function wrapperDir(root: string, chrooted: boolean): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-bin-"));
  const quoted = CLI.map((word) => `'${word}'`).join(" ");
  fs.writeFileSync(path.join(dir, "fsblacklist"), `#!/bin/sh\nexec ${quoted}${chrooted ? ` --root '${root}'` : ""} "$@"\n`, { mode: 0o755 });
  return dir;
}

function runHook(hook: Hook, root: string, args = hook.args, onPath = true) {
  const bin = wrapperDir(root, hook.chrooted);
  try {
    const result = spawnSync("sh", ["-c", hook.script(), "hook", ...args], {
      encoding: "utf8",
      env: { PATH: `${onPath ? `${bin}:` : ""}/usr/sbin:/usr/bin:/sbin:/bin`, NO_COLOR: "1", ...(hook.chrooted ? {} : { DPKG_ROOT: root }) },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
}

const IN_USE = { loaded: ["jfs"], fstab: "/dev/sdb1 /mnt/old minix noauto 0 0\n", files: { [`${ADMIN}/local.conf`]: "options loop max_loop=8\n" } };

for (const hook of HOOKS) {
  test(`${hook.name}: removal takes away what apply installed; kmod's configuration is what it was before`, async () => {
    const root = createFakeRoot(IN_USE);
    try {
      const [before] = await kmodConfigs(root.dir);
      assert.equal((await apply(root.dir)).status, 0);
      assert.equal((await run(root.dir, ["block", "hfs"])).status, 0);
      const result = runHook(hook, root.dir);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, /^fsblacklist uninstall\n/);
      assert.deepEqual(fs.readdirSync(path.join(root.dir, VENDOR)), []);
      assert.deepEqual(fs.readdirSync(path.join(root.dir, ADMIN)).sort(), [fragmentName("hfs"), "local.conf"], "the block decision stays, like a conffile");
      fs.rmSync(path.join(root.dir, ADMIN, fragmentName("hfs")));
      const [after] = await kmodConfigs(root.dir);
      assert.equal(after, before);
    } finally {
      root.cleanup();
    }
  });

  test(`${hook.name}: a failing uninstall warns and never fails the package removal`, async () => {
    const root = createFakeRoot();
    try {
      assert.equal((await apply(root.dir)).status, 0);
      writeConfig(root.dir, "bogus: 1\n");
      const before = snapshotTree(root.dir);
      const result = runHook(hook, root.dir);
      assert.equal(result.status, 0);
      assert.match(result.stderr, /^fsblacklist: etc\/fsblacklist\/config\.yaml: unknown setting 'bogus'/);
      assert.match(
        result.stderr,
        /\nwarning: 'fsblacklist uninstall' did not finish \(exit 2, see its message above\); what it did not remove stays in force without fsblacklist: remove by hand the files in \/usr\/lib\/modprobe\.d.* whose first line is '# fsblacklist-policy: fragment', then rebuild the initramfs\.\n$/,
      );
      assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], "nothing was changed");

      const missing = runHook(hook, root.dir, hook.args, false);
      assert.equal(missing.status, 0);
      assert.match(missing.stderr, /^warning: fsblacklist is not on PATH, so its module blacklist stays in force: remove by hand/);
    } finally {
      root.cleanup();
    }
  });
}

test("dpkg prerm does nothing on upgrade, deconfigure or failed-upgrade, and refuses an unknown action", async () => {
  const prerm = HOOKS.find((h) => h.name === "dpkg prerm")!;
  const root = createFakeRoot(IN_USE);
  try {
    assert.equal((await apply(root.dir)).status, 0);
    const before = snapshotTree(root.dir);
    for (const args of [
      ["upgrade", "1.1.0"],
      ["deconfigure", "in-favour", "other", "1.0"],
      ["failed-upgrade", "0.9.0"],
    ]) {
      const result = runHook(prerm, root.dir, args);
      assert.deepEqual([result.status, result.stdout, result.stderr], [0, "", ""], args[0]);
    }
    assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), []);
    const unknown = runHook(prerm, root.dir, ["frobnicate"]);
    assert.equal(unknown.status, 1);
    assert.equal(unknown.stderr, "prerm called with unknown argument 'frobnicate'\n");
    assert.match(prerm.script(), /fsblacklist uninstall \$\{DPKG_ROOT:\+--root "\$DPKG_ROOT"\}/);
    const replaced = runHook(prerm, root.dir, ["remove", "in-favour", "other", "1.0"]);
    assert.equal(replaced.status, 0, replaced.stderr);
    assert.deepEqual(fs.readdirSync(path.join(root.dir, VENDOR)), [], "removal in favour of another package uninstalls too");
  } finally {
    root.cleanup();
  }
});

test("rpm %preun uninstalls only on erase ($1 = 0), never when an upgrade removes the old version", async () => {
  const preun = HOOKS.find((h) => h.name === "rpm %preun")!;
  const root = createFakeRoot();
  try {
    assert.equal((await apply(root.dir)).status, 0);
    const before = snapshotTree(root.dir);
    for (const count of ["1", "2"]) {
      const result = runHook(preun, root.dir, [count]);
      assert.deepEqual([result.status, result.stdout, result.stderr], [0, "", ""]);
    }
    assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), []);
    assert.equal(runHook(preun, root.dir, ["0"]).status, 0);
    assert.deepEqual(fs.readdirSync(path.join(root.dir, VENDOR)), []);
  } finally {
    root.cleanup();
  }
});

test("dpkg postrm purge, after prerm remove: the marked overrides and the state directory go, the administrator's files stay", async () => {
  const prerm = HOOKS.find((h) => h.name === "dpkg prerm")!;
  const postrm: Hook = { name: "dpkg postrm", script: () => read("dpkg/postrm"), args: ["purge"], chrooted: false };
  const foreign = "# shipped by another package\nblacklist jfs\n";
  const root = createFakeRoot({ ...IN_USE, files: { ...IN_USE.files, [`${VENDOR}/${fragmentName("jfs")}`]: foreign, [`${ADMIN}/${fragmentName("qnx4")}`]: "install qnx4 /bin/true\n" } });
  try {
    const [before] = await kmodConfigs(root.dir);
    const adminBefore = snapshotTree(path.join(root.dir, ADMIN));
    assert.equal((await apply(root.dir)).status, 0);
    assert.equal((await run(root.dir, ["allow", "ufs"])).status, 0);
    assert.equal((await run(root.dir, ["block", "hfs"])).status, 0);

    // `apt remove`: prerm uninstalls, postrm remove does nothing.
    assert.equal(runHook(prerm, root.dir).status, 0);
    const removed = snapshotTree(root.dir);
    const postrmRemove = runHook(postrm, root.dir, ["remove"]);
    assert.deepEqual([postrmRemove.status, postrmRemove.stdout, postrmRemove.stderr], [0, "", ""]);
    assert.deepEqual(treeDiff(removed, snapshotTree(root.dir)), []);
    // What stays: the decisions, jfs's keep (it masks the other package's file), the state.
    assert.deepEqual(fs.readdirSync(path.join(root.dir, ADMIN)).sort(), ["hfs", "jfs", "qnx4", "ufs"].map(fragmentName).concat("local.conf").sort());
    assert.ok(fs.existsSync(path.join(root.dir, "var/lib/fsblacklist/state.json")));

    // `apt purge`: the command is gone by now, the shell finishes the job.
    const purge = runHook(postrm, root.dir, ["purge"], false);
    assert.equal(purge.status, 0, purge.stderr);
    assert.equal(purge.stdout, "fsblacklist: removed 3 override(s) from /etc/modprobe.d; if this system boots with an initramfs, rebuild it (update-initramfs -u -k all).\n");
    assert.deepEqual(treeDiff(adminBefore, snapshotTree(path.join(root.dir, ADMIN))), [], "the administrator's files are byte and mtime unchanged, ours are gone");
    assert.ok(!fs.existsSync(path.join(root.dir, "var/lib/fsblacklist")));
    assert.equal(fs.readFileSync(path.join(root.dir, VENDOR, fragmentName("jfs")), "utf8"), foreign);
    const [after] = await kmodConfigs(root.dir);
    assert.equal(after, before);

    const again = runHook(postrm, root.dir, ["purge"], false);
    assert.deepEqual([again.status, again.stdout, again.stderr], [0, "", ""]);
  } finally {
    root.cleanup();
  }
});

test("the pacman hook runs the uninstall script that ships next to it, before a removal only; the scripts are executable", () => {
  const hook = read("pacman/fsblacklist-remove.hook");
  assert.match(hook, /^Operation = Remove$/m);
  assert.doesNotMatch(hook, /^Operation = (Install|Upgrade)$/m);
  assert.match(hook, /^When = PreTransaction$/m);
  assert.match(hook, /^Target = fsblacklist$/m);
  assert.match(hook, /^Exec = \/usr\/share\/libalpm\/scripts\/fsblacklist-uninstall$/m);
  assert.doesNotMatch(hook, /^AbortOnFail/m);
  for (const file of ["pacman/fsblacklist-uninstall", "dpkg/prerm", "dpkg/postrm", "apk/fsblacklist.pre-deinstall"]) {
    assert.ok((fs.statSync(path.join(PACKAGING, file)).mode & 0o111) !== 0, `${file} is executable`);
  }
});
