// Settings that would make fsblacklist write where kmod reads configuration
// without meaning to, or fight itself, are refused: exit 2, the message naming
// the configuration file and the key, and nothing written. Directories are
// compared by where they lead (a merged /usr's lib/modprobe.d is
// usr/lib/modprobe.d). Also: an explicitly empty --root or --config.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";

const CONFIG = "etc/fsblacklist/config.yaml";

interface Case {
  name: string;
  config: string;
  key: RegExp;
  /** Make lib a link to usr/lib first. */
  merged?: boolean;
  kmod?: string;
}

const CASES: Case[] = [
  { name: "vendorDir equal to adminDir", config: "vendorDir: etc/modprobe.d\n", key: /'vendorDir' \(etc\/modprobe\.d\) and 'adminDir' \(etc\/modprobe\.d\) are the same directory/ },
  {
    name: "adminDir that is vendorDir under another name (merged /usr)",
    config: "adminDir: lib/modprobe.d\nvendorDir: usr/lib/modprobe.d\n",
    merged: true,
    key: /'vendorDir' \(usr\/lib\/modprobe\.d\) and 'adminDir' \(lib\/modprobe\.d\) are the same directory/,
  },
  { name: "adminDir read after vendorDir", config: "adminDir: lib/modprobe.d\n", key: /kmod reads 'adminDir' lib\/modprobe\.d after 'vendorDir' usr\/lib\/modprobe\.d/ },
  { name: "adminDir kmod does not read", config: "adminDir: srv/overrides\n", key: /'adminDir' srv\/overrides is not a directory kmod 34 reads/ },
  { name: "adminDir usr/lib/modprobe.d for kmod 30", config: "adminDir: usr/lib/modprobe.d\n", kmod: "30+20221128-1", key: /'adminDir' usr\/lib\/modprobe\.d is not a directory kmod 30 reads/ },
  { name: "stateFile in the admin directory", config: "stateFile: etc/modprobe.d/state.json\n", key: /'stateFile' etc\/modprobe\.d\/state\.json is in etc\/modprobe\.d, which kmod reads/ },
  { name: "stateFile in a subdirectory of run/modprobe.d", config: "stateFile: /run/modprobe.d/fsb/state.json\n", key: /'stateFile' run\/modprobe\.d\/fsb\/state\.json is in run\/modprobe\.d/ },
  {
    name: "stateFile in lib/modprobe.d, which is usr/lib/modprobe.d (merged /usr)",
    config: "stateFile: lib/modprobe.d/state.json\n",
    merged: true,
    key: /'stateFile' lib\/modprobe\.d\/state\.json is in (usr\/)?lib\/modprobe\.d/,
  },
  { name: "stateFile equal to the vendor directory", config: "stateFile: usr/lib/modprobe.d\n", key: /'stateFile' usr\/lib\/modprobe\.d is in usr\/lib\/modprobe\.d/ },
  { name: "stateFile equal to etc/fstab", config: "stateFile: etc/fstab\n", key: /'stateFile' etc\/fstab is etc\/fstab/ },
  { name: "stateFile equal to the configuration file", config: `stateFile: ${CONFIG}\n`, key: /'stateFile' etc\/fsblacklist\/config\.yaml is the configuration file itself/ },
  { name: "stateFile equal to the lock", config: "stateFile: run/fsblacklist.lock\n", key: /'stateFile' run\/fsblacklist\.lock is fsblacklist's lock/ },
  // Every directory kmod reads as modprobe or depmod configuration, and the module trees.
  ...["etc", "run", "usr/local/lib", "lib", "usr/lib"].flatMap((base): Case[] =>
    ["modprobe.d", "depmod.d"].map((sub) => ({
      name: `stateFile in ${base}/${sub}`,
      config: `stateFile: ${base}/${sub}/fsblacklist.json\n`,
      key: new RegExp(`'stateFile' ${base}/${sub}/fsblacklist\\.json is in ${base}/${sub}, which ${sub === "depmod.d" ? "depmod" : "kmod"} reads as configuration`),
    })),
  ),
  { name: "stateFile in lib/modules", config: "stateFile: lib/modules/fsblacklist.json\n", key: /'stateFile' lib\/modules\/fsblacklist\.json is in lib\/modules, the kernels' module trees/ },
  {
    name: "stateFile in usr/lib/modules",
    config: "stateFile: /usr/lib/modules/6.1.0-test/state.json\n",
    key: /'stateFile' usr\/lib\/modules\/6\.1\.0-test\/state\.json is in usr\/lib\/modules, the kernels' module trees/,
  },
  {
    name: "stateFile in lib/modules, which is usr/lib/modules (merged /usr)",
    config: "stateFile: usr/lib/modules/state.json\n",
    merged: true,
    key: /'stateFile' usr\/lib\/modules\/state\.json is in (usr\/)?lib\/modules, the kernels' module trees/,
  },
  { name: "adminDir under run/", config: "adminDir: run/modprobe.d\n", key: /'adminDir' run\/modprobe\.d is under run\/, which is emptied at every boot/ },
  { name: "vendorDir under run/", config: "vendorDir: /run/modprobe.d\n", key: /'vendorDir' run\/modprobe\.d is under run\/, which is emptied at every boot/ },
  {
    name: "keep.always with a name that is no filesystem of the policy",
    config: "keep:\n  always: [hfsplus, hfsplsu]\n",
    key: /'keep\.always' names hfsplsu, which is no filesystem of the policy.*did you mean hfsplus\?/,
  },
];

for (const c of CASES) {
  test(`refused: ${c.name}`, async (t) => {
    const root = createFakeRoot({ fstab: "/dev/vda1 / ext4 defaults 0 1\n", ...(c.kmod === undefined ? {} : { kmodVersion: c.kmod }) });
    t.after(() => root.cleanup());
    if (c.merged === true) {
      fs.mkdirSync(path.join(root.dir, "usr/lib"), { recursive: true });
      for (const name of fs.readdirSync(path.join(root.dir, "lib"))) fs.renameSync(path.join(root.dir, "lib", name), path.join(root.dir, "usr/lib", name));
      fs.rmdirSync(path.join(root.dir, "lib"));
      fs.symlinkSync("usr/lib", path.join(root.dir, "lib"));
    }
    fs.mkdirSync(path.join(root.dir, "usr/lib/modprobe.d"), { recursive: true });
    fs.mkdirSync(path.join(root.dir, "etc/fsblacklist"), { recursive: true });
    fs.writeFileSync(path.join(root.dir, CONFIG), c.config);
    const before = snapshotTree(root.dir);
    for (const args of [["apply"], ["allow", "jfs"], ["status"]]) {
      const result = await runInProcess(["--root", root.dir, ...args]);
      assert.equal(result.status, 2, `${args[0]}: exit ${result.status}: ${result.stderr}`);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, new RegExp(`^fsblacklist: ${CONFIG.replace(/\./g, "\\.")}: `), `${args[0]}: names the file: ${result.stderr}`);
      assert.match(result.stderr, c.key, `${args[0]}: ${result.stderr}`);
    }
    assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], "nothing was written");
  });
}

test("the same directories set explicitly to their defaults, and keep.always with a policy filesystem, are accepted", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  fs.mkdirSync(path.join(root.dir, "etc/fsblacklist"), { recursive: true });
  fs.writeFileSync(
    path.join(root.dir, CONFIG),
    "vendorDir: /usr/lib/modprobe.d\nadminDir: etc/modprobe.d/\nstateFile: var/lib/fsblacklist/state.json\nkeep: {always: [squashfs, hfsplus, freevxfs, vxfs]}\n",
  );
  const result = await runInProcess(["--root", root.dir, "apply", "--dry-run"]);
  assert.equal(result.status, 0, result.stderr);
});

test("an explicitly empty --root or --config is a usage error; an empty $DPKG_ROOT means /", async () => {
  for (const args of [
    ["--root", "", "allow", "jfs"],
    ["--root=", "status"],
    ["--config", "", "status"],
    ["--config=", "apply", "--dry-run"],
  ]) {
    const result = await runInProcess(args, { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" } });
    assert.equal(result.status, 2, `${args.join(" ")}: ${result.stderr}`);
    assert.match(result.stderr, /^fsblacklist: --(root|config) '': /, args.join(" "));
    assert.equal(result.stdout, "");
  }
  const dpkg = await runInProcess(["status", "--json"], { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" } });
  assert.equal(dpkg.status, 0, dpkg.stderr);
});

test("defaults on a root whose lib/modprobe.d is etc/modprobe.d are not refused: showconfig still describes it", async (t) => {
  // Seed 341 of the kmod differential: no configuration file, kmod 30, and
  // lib/modprobe.d a link to etc/modprobe.d. Nothing was chosen, so nothing is refused.
  const root = createFakeRoot({ kmodVersion: "30+20221128-1", files: { "etc/modprobe.d/sound.conf": "blacklist snd_hda_intel\n" } });
  t.after(() => root.cleanup());
  fs.rmSync(path.join(root.dir, "lib/modprobe.d"), { recursive: true, force: true });
  fs.symlinkSync("../etc/modprobe.d", path.join(root.dir, "lib/modprobe.d"));
  const result = await runInProcess(["--root", root.dir, "showconfig"]);
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /^blacklist snd_hda_intel$/m);
});
