// Verified outcomes for allow, block and apply's keeps: what the command says is
// what the real kmod does afterwards (modprobe --show-depends fs-TYPE), and when
// a foreign line stands in the way the command names it and writes nothing.
// Under `npm test` the table of install commands is a sample (test/helpers/tier.ts),
// whole under test:evidence.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { runInProcess, type CliResult } from "../helpers/cli.ts";
import { canRunOracle, kmodLoads, runModprobe } from "../facts/modprobe-oracle.ts";
import { policyRoot, snapshotTree } from "./helpers.ts";
import type { FakeRoot } from "../helpers/fake-root.ts";
import { sampled } from "../helpers/tier.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";

async function cli(root: string, ...args: string[]): Promise<CliResult> {
  return runInProcess(["--root", root, ...args]);
}

function kmodLoadsTypes(root: FakeRoot, types: readonly string[]): Record<string, boolean> {
  const cmdline = readFileSync(path.join(root.dir, "proc/cmdline"), "utf8");
  const [runs] = runModprobe([{ root: root.dir, release: root.release!, mode: "show-depends", requests: types.map((t) => `fs-${t}`) }]);
  return Object.fromEntries(runs!.map((run, i) => [types[i]!, kmodLoads(run, cmdline)]));
}

test("allow isofs is refused while `install cdrom /bin/true` stops every filesystem that needs cdrom", { skip: skipOracle }, async (t) => {
  const root = policyRoot({ files: { "etc/modprobe.d/harden.conf": "install cdrom /bin/true\n", "usr/lib/modprobe.d/60-blacklist_fs-isofs.conf": "blacklist isofs\n" } });
  t.after(() => root.cleanup());
  const before = snapshotTree(root.dir);
  for (const name of ["iso9660", "udf", "hfsplus"]) {
    const result = await cli(root.dir, "allow", name);
    assert.equal(result.status, 1, `${name}: ${result.stdout}`);
    assert.match(result.stderr, /would stay unloadable: etc\/modprobe\.d\/harden\.conf:1 runs `\/bin\/true` instead of loading cdrom, which \S+ needs/);
  }
  assert.deepEqual(snapshotTree(root.dir), before, "nothing written");
  assert.deepEqual(kmodLoadsTypes(root, ["iso9660", "udf", "hfsplus"]), { iso9660: false, udf: false, hfsplus: false }, "and kmod agrees that they do not load");
});

test("allow succeeds only when kmod then loads the module for every type it serves", { skip: skipOracle }, async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const result = await cli(root.dir, "allow", "hfsplus", "jfs");
  assert.equal(result.status, 0, result.stderr);
  assert.deepEqual(kmodLoadsTypes(root, ["hfsplus", "jfs"]), { hfsplus: true, jfs: true });
});

test("allow with an unrecognised install command in another file is refused and names it", { skip: skipOracle }, async () => {
  for (const command of sampled(["/bin/false;", "true && false", "/bin/echo disabled", "/bin/logger -t hardening jfs; /bin/false"], 2)) {
    const root = policyRoot({ files: { "run/modprobe.d/site.conf": `install jfs ${command}\n` } });
    try {
      const before = snapshotTree(root.dir);
      const result = await cli(root.dir, "allow", "jfs");
      assert.equal(result.status, 1, `${command}: ${result.stdout}`);
      assert.ok(result.stderr.includes(`run/modprobe.d/site.conf:1 runs \`${command}\` instead of loading jfs`), result.stderr);
      assert.deepEqual(snapshotTree(root.dir), before);
      const status = await cli(root.dir, "status", "jfs", "--json");
      assert.equal(JSON.parse(status.stdout).filesystems[0].state, "blocked", `${command}: status does not say allowed`);
    } finally {
      root.cleanup();
    }
  }
});

test("block fat is refused: fat serves no type, vfat and msdos load it as a dependency; block vfat msdos works", { skip: skipOracle }, async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const before = snapshotTree(root.dir);
  const fat = await cli(root.dir, "block", "fat");
  assert.equal(fat.status, 1, fat.stdout);
  assert.match(fat.stderr, /fat serves no filesystem type itself/);
  assert.match(fat.stderr, /fsblacklist block msdos vfat/);
  assert.deepEqual(snapshotTree(root.dir), before);
  const instead = await cli(root.dir, "block", "msdos", "vfat");
  assert.equal(instead.status, 0, instead.stderr);
  assert.deepEqual(kmodLoadsTypes(root, ["vfat", "msdos"]), { vfat: false, msdos: false });
});

test("apply does not call a kept filesystem loadable while an administrator's line still blocks it", { skip: skipOracle }, async (t) => {
  const root = policyRoot({ loaded: ["jfs", "minix"], files: { "run/modprobe.d/local.conf": "blacklist jfs\n" } });
  t.after(() => root.cleanup());
  const result = await cli(root.dir, "apply");
  assert.equal(result.status, 0, result.stderr);
  assert.match(result.stdout, /Kept loadable:\n {2}minix:/);
  assert.doesNotMatch(result.stdout, /^ {2}jfs:/m);
  assert.match(result.stdout, /Warning: jfs is in use \(.*\) but will NOT load at the next boot: run\/modprobe\.d\/local\.conf:1 blacklists jfs/);
  const json = JSON.parse((await cli(root.dir, "apply", "--json")).stdout);
  const jfs = json.kept.find((k: { module: string }) => k.module === "jfs");
  assert.equal(jfs.loadable, false);
  assert.deepEqual(kmodLoadsTypes(root, ["jfs", "minix"]), { jfs: false, minix: true }, "what apply said is what kmod does");
});
