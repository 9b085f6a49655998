// explain on a filesystem that is blacklisted but loaded and registered right
// now (an fstab mount point of jfs while jfs is loaded): mounting works until
// the next boot, and then the kernel cannot load it. explain must say so and
// give the fix for the next boot, never "nothing stops jfs". Judged with the
// real kmod: blocked for fs-jfs at the next boot before the fix, loaded after.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { canRunOracle, kmodLoads, runModprobe } from "../facts/modprobe-oracle.ts";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const policy = loadPolicy(shippedPolicyDir());

function jfsInUse(): FakeRoot {
  const root = createFakeRoot({ loaded: ["jfs"], registered: ["jfs"], fstab: "/dev/sdb1 /data jfs defaults 0 2\n" });
  const vendor = path.join(root.dir, "usr/lib/modprobe.d");
  mkdirSync(vendor, { recursive: true });
  for (const entry of policy.entries) if (entry.profiles.includes("default")) writeFileSync(path.join(vendor, fragmentName(entry.module)), renderFragment(entry, "default"));
  mkdirSync(path.join(root.dir, "data"));
  return root;
}

const nextBootLoads = (root: FakeRoot): boolean =>
  kmodLoads(runModprobe([{ root: root.dir, release: root.release!, mode: "show-depends", requests: ["fs-jfs"] }])[0]![0]!, readFileSync(path.join(root.dir, "proc/cmdline"), "utf8"));

test("explain on an fstab mount point of jfs, blacklisted but loaded now: blocked at the next boot, with the fix", { skip: skipOracle }, async (t) => {
  const root = jfsInUse();
  t.after(() => root.cleanup());
  assert.equal(nextBootLoads(root), false, "kmod blocks fs-jfs at the next boot to begin with");

  const human = await runInProcess(["--root", root.dir, "explain", "/data"]);
  assert.equal(human.status, 0, human.stderr);
  assert.doesNotMatch(human.stdout, /Nothing on this system stops jfs/);
  assert.match(human.stdout.split("\n")[0]!, /^jfs works now only because jfs is already loaded; from the next boot on it is blocked: jfs is blacklisted/);

  const result = await runInProcess(["--root", root.dir, "explain", "/data", "--json"]);
  assert.equal(result.status, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as { cause: string; typeFrom: string; fix: string[]; notes: string[] };
  assert.equal(doc.cause, "blacklisted");
  assert.equal(doc.typeFrom, "etc/fstab:1: /dev/sdb1 /data jfs");
  assert.ok(
    doc.notes.some((n) => /jfs is loaded now/.test(n)),
    doc.notes.join("\n"),
  );
  assert.deepEqual(doc.fix, [`fsblacklist --root ${root.dir} allow jfs`]);

  const run = await runInProcess(doc.fix[0]!.split(" ").slice(1));
  assert.equal(run.status, 0, run.stderr);
  assert.equal(nextBootLoads(root), true, "kmod loads fs-jfs at the next boot after the fix");
});

test("jfs loaded now and not blacklisted: still not-blocked", async (t) => {
  const root = createFakeRoot({ loaded: ["jfs"], registered: ["jfs"] });
  t.after(() => root.cleanup());
  const result = await runInProcess(["--root", root.dir, "explain", "--type", "jfs", "--json"]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal((JSON.parse(result.stdout) as { cause: string }).cause, "not-blocked");
});
