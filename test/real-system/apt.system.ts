// The package's life on a real Debian 13 root (kmod 34, Debian's Node 20),
// with apt and dpkg doing what they do on a real system: install, upgrade to a
// build whose policy adds a filesystem the root's fstab uses, remove, purge.
// The root's own `modprobe -c` is the judge after every step. One root goes
// through the steps in order.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE, DebianRoot, REPO, blacklisted, buildPackage, cachedRoot, defaultProfileModules, must, took } from "./debian.ts";
import { TRIXIE } from "./recipes.ts";

const VERSION = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version as string;
const MARKER = "# Managed by fsblacklist.";
const root = new DebianRoot(cachedRoot(TRIXIE));
after(() => root.cleanup());

/** The shipped policy plus gfs2, at a newer policy version: what a later release of the package could bring. */
function policyAddingGfs2(): string {
  const dir = fs.mkdtempSync(path.join(CACHE, "work", "policy-"));
  process.on("exit", () => fs.rmSync(dir, { recursive: true, force: true }));
  for (const name of fs.readdirSync(path.join(REPO, "blacklist.d"))) fs.copyFileSync(path.join(REPO, "blacklist.d", name), path.join(dir, name));
  const policy = JSON.parse(fs.readFileSync(path.join(dir, "policy.json"), "utf8")) as { version: string };
  const [major, minor] = policy.version.split(".").map(Number);
  const version = `${major}.${minor! + 1}.0`;
  fs.writeFileSync(path.join(dir, "policy.json"), JSON.stringify({ ...policy, version }, null, 2) + "\n");
  fs.writeFileSync(
    path.join(dir, "60-blacklist_fs-gfs2.conf"),
    [
      "# fsblacklist-policy: fragment",
      "# filesystem: gfs2",
      "# description: Global File System 2",
      "# reason: A filesystem this test's newer policy adds, to see an upgrade keep it where fstab uses it.",
      `# since: ${version}`,
      "# profiles: default",
      "blacklist gfs2",
      "install gfs2 /usr/bin/fsblacklist modprobe-hook gfs2 2>/dev/null; /sbin/modprobe --ignore-install gfs2 $CMDLINE_OPTS",
      "",
    ].join("\n"),
  );
  return dir;
}

const FSTAB = "# <file system> <mount point> <type> <options> <dump> <pass>\nLABEL=root / ext4 defaults 0 1\nLABEL=shared /srv/shared gfs2 defaults 0 0\n";
let beforeInstall = "";

test("lintian: the package has no errors and no warnings", () => {
  const started = Date.now();
  const result = must("lintian", ["--pedantic", buildPackage()]);
  const tags = result.stdout.split("\n").filter((l) => /^[EW]: /.test(l));
  assert.deepEqual(tags, [], result.stdout);
  console.log(`# lintian: ${took(started)}`);
});

test("apt install ./fsblacklist_*.deb on Debian 13: the postinst applies the policy with Debian's Node, kmod 34 blacklists it", () => {
  const started = Date.now();
  root.write("etc/fstab", FSTAB);
  assert.match(root.must(["node", "--version"]).stdout, /^v20\./);
  assert.match(root.must(["modprobe", "--version"]).stdout, /^kmod version 34/);
  assert.equal(root.must(["sh", "-c", "command -v fsblacklist || echo none"]).stdout.trim(), "none");
  beforeInstall = root.modprobeConfig();

  const installed = root.aptInstall([buildPackage()]);
  assert.match(installed.stdout, /Setting up fsblacklist \(/);
  assert.match(installed.stdout + installed.stderr, /installed +usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf/);
  assert.doesNotMatch(installed.stdout + installed.stderr, /warning: 'fsblacklist apply' failed/);
  assert.match(root.must(["dpkg-query", "-W", "-f=${Status} ${Version}", "fsblacklist"]).stdout, new RegExp(`^install ok installed ${VERSION.replace(/\./g, "\\.")}$`));

  const policy = defaultProfileModules();
  const now = blacklisted(root.modprobeConfig());
  assert.deepEqual(
    now.filter((m) => !blacklisted(beforeInstall).includes(m)),
    policy,
    "kmod blacklists exactly the default profile's modules on top of what was there",
  );
  const status = JSON.parse(root.must(["fsblacklist", "status", "--json"]).stdout) as { filesystems: { module: string; state: string }[] };
  for (const module of policy) {
    const states = status.filesystems.filter((f) => f.module === module).map((f) => f.state);
    assert.equal(states.length > 0 && states.every((s) => s === "blocked" || s === "unavailable"), true, `${module}: ${states.join(",")}`);
  }
  // apt runs the postinst again only on a change: a second apply finds nothing to do.
  assert.match(root.must(["fsblacklist", "apply", "--json"]).stdout, /"changed": ?false/);
  console.log(`# install: ${took(started)}`);
});

test("bash completion in the root completes commands, options and the policy's filesystem names", () => {
  const complete = (line: string) =>
    root
      .must([
        "bash",
        "-c",
        'source /usr/share/bash-completion/bash_completion && source /usr/share/bash-completion/completions/fsblacklist && read -ra COMP_WORDS <<<"$1" && [[ $1 == *" " ]] && COMP_WORDS+=(""); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMP_LINE=$1; COMP_POINT=${#1}; _fsblacklist; printf "%s\\n" "${COMPREPLY[@]}"',
        "bash",
        line,
      ])
      .stdout.split("\n")
      .filter(Boolean)
      .sort();
  assert.deepEqual(complete("fsblacklist ex"), ["explain"]);
  assert.deepEqual(complete("fsblacklist allow j"), ["jffs2", "jfs"]);
  assert.deepEqual(complete("fsblacklist apply --d"), ["--dry-run"]);
  assert.deepEqual(complete("fsblacklist explain --type mi"), ["minix"]);
  assert.deepEqual(complete("fsblacklist --root /srv status hfs"), ["hfs", "hfsplus"]);
});

test("upgrade to a newer build whose policy adds gfs2, which the root's fstab uses: gfs2 is kept, the rest stays blocked", () => {
  const started = Date.now();
  const newer = buildPackage({ version: `${VERSION}+system1`, policy: policyAddingGfs2() });
  const upgraded = root.aptInstall([newer]);
  assert.match(upgraded.stdout, /Unpacking fsblacklist \(.*\+system1\) over \(/);
  const config = root.modprobeConfig();
  assert.equal(blacklisted(config).includes("gfs2"), false, "gfs2 is in fstab, so the upgrade keeps it loadable");
  for (const module of defaultProfileModules()) assert.equal(blacklisted(config).includes(module), true, module);
  // The vendor fragment is installed and masked by apply's keep, which says why.
  assert.match(root.read("usr/lib/modprobe.d/60-blacklist_fs-gfs2.conf"), /^blacklist gfs2$/m);
  const keep = root.read("etc/modprobe.d/60-blacklist_fs-gfs2.conf");
  assert.equal(keep.startsWith(MARKER), true, keep);
  assert.match(keep, /etc\/fstab/);
  const status = JSON.parse(root.must(["fsblacklist", "status", "--json", "gfs2"]).stdout) as { filesystems: { name: string; state: string }[] };
  assert.deepEqual(
    status.filesystems.map((f) => [f.name, f.state]),
    [["gfs2", "kept"]],
  );
  console.log(`# upgrade: ${took(started)}`);
});

test("apt remove: the fragments and apply's keep go; the administrator's block stays in force", () => {
  const started = Date.now();
  root.must(["fsblacklist", "block", "jfs"]);
  const block = root.read("etc/modprobe.d/60-blacklist_fs-jfs.conf");
  root.must(["apt-get", "remove", "-y", "fsblacklist"], { mounts: ["dev"] });
  assert.deepEqual(
    fs.readdirSync(path.join(root.dir, "usr/lib/modprobe.d")).filter((n) => n.startsWith("60-blacklist_fs-")),
    [],
  );
  assert.equal(fs.existsSync(path.join(root.dir, "etc/modprobe.d/60-blacklist_fs-gfs2.conf")), false, "apply's keep went with the fragment it masked");
  assert.equal(root.read("etc/modprobe.d/60-blacklist_fs-jfs.conf"), block, "the block stays, like a changed conffile");
  // kmod now reads exactly what was there before, plus the block's lines.
  const added = root
    .modprobeConfig()
    .split("\n")
    .filter((line) => !beforeInstall.split("\n").includes(line));
  assert.deepEqual(
    added.map((line) => line.split(" ").slice(0, 2).join(" ")),
    ["blacklist jfs", "install jfs"],
    added.join("\n"),
  );
  console.log(`# remove: ${took(started)}`);
});

test("apt purge: kmod's modprobe -c is byte-identical to before the install", () => {
  const started = Date.now();
  root.must(["apt-get", "purge", "-y", "fsblacklist"], { mounts: ["dev"] });
  assert.equal(root.modprobeConfig(), beforeInstall);
  assert.equal(fs.existsSync(path.join(root.dir, "var/lib/fsblacklist")), false);
  assert.equal(fs.existsSync(path.join(root.dir, "etc/kernel/postinst.d/50-fsblacklist")), false, "the conffile goes with purge");
  assert.equal(root.chroot(["dpkg-query", "-W", "fsblacklist"]).status, 1);
  console.log(`# purge: ${took(started)}`);
});
