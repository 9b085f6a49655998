// The distribution upgrade Debian 12 -> 13 (kmod 30 -> 34 on merged /usr) with
// the package installed, by apt as an administrator does it: kmod first, then
// the full upgrade, then the next release of the package. After every step the
// root's own `modprobe -c` still blacklists the whole policy.
//
// Debian 12's nodejs is 18, below the package's `nodejs (>= 20)`: as an
// administrator would, the root gets Node 20 from elsewhere, here the Node
// running this suite, packaged locally as `nodejs`.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE, DebianRoot, REPO, blacklisted, buildPackage, cachedRoot, defaultProfileModules, must, took } from "./debian.ts";
import { BOOKWORM } from "./recipes.ts";

const VERSION = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version as string;
const root = new DebianRoot(cachedRoot(BOOKWORM));
after(() => root.cleanup());
let before: string[] = [];

/** nodejs_<this Node>-local1_amd64.deb holding this process's `node`. */
function localNode(): string {
  const stage = fs.mkdtempSync(path.join(CACHE, "work", "nodejs-"));
  process.on("exit", () => fs.rmSync(stage, { recursive: true, force: true }));
  fs.mkdirSync(path.join(stage, "DEBIAN"));
  fs.mkdirSync(path.join(stage, "usr/bin"), { recursive: true });
  fs.copyFileSync(process.execPath, path.join(stage, "usr/bin/node"));
  fs.chmodSync(path.join(stage, "usr/bin/node"), 0o755);
  fs.symlinkSync("node", path.join(stage, "usr/bin/nodejs"));
  fs.writeFileSync(
    path.join(stage, "DEBIAN/control"),
    `Package: nodejs\nVersion: ${process.versions.node}-local1\nArchitecture: amd64\nMaintainer: fsblacklist system suite <root@localhost>\nDepends: libc6, libstdc++6, libgcc-s1\nDescription: Node.js ${process.versions.node}, the one running the system suite\n`,
  );
  const deb = path.join(stage, `nodejs_${process.versions.node}-local1_amd64.deb`);
  must("dpkg-deb", ["--root-owner-group", "-Znone", "--build", stage, deb]);
  return deb;
}

/** What kmod blacklists beyond what the root had before the package. */
function inForce(): string[] {
  return blacklisted(root.modprobeConfig()).filter((m) => !before.includes(m));
}

test("Debian 12: apt install ./fsblacklist_*.deb applies the policy for kmod 30", () => {
  const started = Date.now();
  assert.match(root.must(["modprobe", "--version"]).stdout, /^kmod version 30/);
  before = blacklisted(root.modprobeConfig());
  root.aptInstall([localNode(), buildPackage()]);
  assert.deepEqual(inForce(), defaultProfileModules());
  // kmod 30 reads lib/modprobe.d, not usr/lib/modprobe.d: apply chose that.
  assert.equal(fs.lstatSync(path.join(root.dir, "lib")).isSymbolicLink(), true, "a merged /usr root");
  const state = root.read("var/lib/fsblacklist/state.json");
  assert.match(state, /lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf/);
  console.log(`# bookworm install: ${took(started)}`);
});

test("kmod upgraded to Debian 13's first (apt install kmod from trixie): the blacklist stays in force", () => {
  const started = Date.now();
  root.write("etc/apt/sources.list", root.read("etc/apt/sources.list").replace(/\bbookworm\b/g, "trixie"));
  root.must(["apt-get", "update"], { mounts: ["dev"] });
  root.aptInstall(["kmod"]);
  assert.match(root.must(["modprobe", "--version"]).stdout, /^kmod version 34/);
  assert.deepEqual(inForce(), defaultProfileModules());
  console.log(`# kmod 30 -> 34: ${took(started)}`);
});

test("apt full-upgrade to Debian 13: the blacklist stays in force", () => {
  const started = Date.now();
  root.must(["apt-get", "full-upgrade", "-y", "--no-install-recommends"], { mounts: ["dev", "apt-cache"] });
  assert.match(root.read("etc/debian_version"), /^13\./);
  assert.deepEqual(inForce(), defaultProfileModules());
  console.log(`# full-upgrade: ${took(started)}`);
});

test("the next release of the package on Debian 13 (postinst apply with kmod 34): the blacklist stays in force, nothing lost", () => {
  const started = Date.now();
  root.aptInstall([buildPackage({ version: `${VERSION}+system2` })]);
  assert.deepEqual(inForce(), defaultProfileModules());
  for (const module of defaultProfileModules()) {
    assert.equal(fs.existsSync(path.join(root.dir, `usr/lib/modprobe.d/60-blacklist_fs-${module}.conf`)), true, module);
  }
  assert.match(root.must(["fsblacklist", "apply", "--json"]).stdout, /"changed": ?false/);
  assert.deepEqual(inForce(), defaultProfileModules());
  console.log(`# package upgrade on trixie: ${took(started)}`);
});
