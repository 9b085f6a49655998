// NTFS on a kernel without an `ntfs` module (Debian's 6.12, real metadata):
// blkid says TYPE=ntfs for every NTFS volume, so explain must offer this
// kernel's ntfs3 driver (with a plan the real kmod honours when our blacklist
// blocks it) and ntfs-3g (FUSE), never "boot another kernel". The rule itself is
// pure (src/decide/other-drivers.ts) and checked on its own first.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { canRunOracle, kmodLoads, runModprobe } from "../facts/modprobe-oracle.ts";
import { addKernel, createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";
import { otherDrivers, otherKernelTypes, type KernelDriverCheck } from "../../src/decide/other-drivers.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const policy = loadPolicy(shippedPolicyDir());
const debian = { id: "debian", idLike: [], prettyName: null };

test("the rule: ntfs has the kernel's ntfs3 and ntfs-3g; other types have none", () => {
  assert.deepEqual(otherKernelTypes("ntfs"), ["ntfs3"]);
  assert.deepEqual(otherKernelTypes("jfs"), []);
  assert.deepEqual(otherDrivers("jfs", new Map(), debian, null), []);
  const check = (c: Partial<KernelDriverCheck>): Map<string, KernelDriverCheck> => new Map([["ntfs3", { present: true, loads: false, plan: null, stuck: [], ...c }]]);

  const blocked = otherDrivers("ntfs", check({ plan: ["fsblacklist allow ntfs3"] }), debian, "6.12.100+deb12-amd64");
  assert.deepEqual(
    blocked.map((d) => [d.driver, d.kind, d.usable, d.fix, d.mount]),
    [
      ["ntfs3", "kernel", true, ["fsblacklist allow ntfs3"], "mount -t ntfs3 DEVICE DIR"],
      ["ntfs-3g", "fuse", true, ["apt install ntfs-3g"], "mount -t ntfs-3g DEVICE DIR"],
    ],
  );
  assert.deepEqual(otherDrivers("ntfs", check({ loads: true, plan: [] }), debian, null)[0]!.fix, []);
  const stuck = otherDrivers("ntfs", check({ stuck: ["proc/cmdline: module_blacklist=ntfs3"] }), debian, null)[0]!;
  assert.equal(stuck.usable, false);
  assert.match(stuck.note, /module_blacklist=ntfs3/);
  // Not on this kernel at all: only ntfs-3g; an unknown distribution gets no install command.
  assert.deepEqual(
    otherDrivers("ntfs", check({ present: false }), null, null).map((d) => [d.driver, d.fix]),
    [["ntfs-3g", []]],
  );
  assert.equal(otherDrivers("ntfs", new Map(), { id: "fedora", idLike: [], prettyName: null }, null)[0]!.fix[0], "dnf install ntfs-3g");
});

function debian612(withPolicy: boolean): FakeRoot {
  const root = createFakeRoot({ kernel: "6.12.100+deb12-amd64", files: { "etc/os-release": 'ID=debian\nVERSION_ID="13"\n' } });
  // An older kernel with the old ntfs driver is installed too: still no "boot it".
  addKernel(root.dir, "6.1.0-50-amd64");
  if (withPolicy) {
    const vendor = path.join(root.dir, "usr/lib/modprobe.d");
    mkdirSync(vendor, { recursive: true });
    for (const entry of policy.entries) if (entry.profiles.includes("default")) writeFileSync(path.join(vendor, fragmentName(entry.module)), renderFragment(entry, "default"));
  }
  return root;
}

interface Doc {
  cause: string;
  fix: string[];
  advice: string | null;
  otherDrivers: { driver: string; kind: string; usable: boolean; fix: string[]; mount: string; package: string | null }[];
}

const ntfs3Loads = (root: FakeRoot): boolean =>
  kmodLoads(runModprobe([{ root: root.dir, release: root.release!, mode: "show-depends", requests: ["fs-ntfs3"] }])[0]![0]!, readFileSync(path.join(root.dir, "proc/cmdline"), "utf8"));

test("ntfs on Debian's 6.12 with the policy: ntfs3 after a verified `fsblacklist allow ntfs3`, or ntfs-3g; never another kernel", { skip: skipOracle }, async (t) => {
  const root = debian612(true);
  t.after(() => root.cleanup());
  assert.equal(ntfs3Loads(root), false, "our blacklist blocks fs-ntfs3 to begin with");

  const human = await runInProcess(["--root", root.dir, "explain", "--type", "ntfs"]);
  assert.equal(human.status, 0, human.stderr);
  assert.doesNotMatch(human.stdout, /\b[Bb]oot (a|another|the installed|one of)\b/);
  assert.match(human.stdout, /mount -t ntfs3 DEVICE DIR/);
  assert.match(human.stdout, /apt install ntfs-3g/);

  const result = await runInProcess(["--root", root.dir, "explain", "--type", "ntfs", "--json"]);
  assert.equal(result.status, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as Doc;
  assert.equal(doc.cause, "removed-from-kernel");
  assert.deepEqual(doc.fix, [], "nothing makes fs-ntfs itself load on 6.12");
  assert.doesNotMatch(doc.advice ?? "", /boot/i);
  assert.deepEqual(
    doc.otherDrivers.map((d) => [d.driver, d.kind, d.usable, d.fix, d.package]),
    [
      ["ntfs3", "kernel", true, [`fsblacklist --root ${root.dir} allow ntfs3`], null],
      ["ntfs-3g", "fuse", true, ["apt install ntfs-3g"], "ntfs-3g"],
    ],
  );

  // The kernel driver's plan, run: the real kmod then loads ntfs3 for fs-ntfs3.
  const allow = await runInProcess(doc.otherDrivers[0]!.fix[0]!.split(" ").slice(1));
  assert.equal(allow.status, 0, allow.stderr);
  assert.equal(ntfs3Loads(root), true, "kmod loads fs-ntfs3 after the plan");
  const again = JSON.parse((await runInProcess(["--root", root.dir, "explain", "--type", "ntfs", "--json"])).stdout) as Doc;
  assert.deepEqual(again.otherDrivers[0]!.fix, [], "ntfs3 loads as things are now");
});

test("ntfs on 6.12 without a blacklist: ntfs3 needs no command; other causes carry no other drivers", async (t) => {
  const root = debian612(false);
  t.after(() => root.cleanup());
  const doc = JSON.parse((await runInProcess(["--root", root.dir, "explain", "--type", "ntfs", "--json"])).stdout) as Doc;
  assert.deepEqual(
    doc.otherDrivers.map((d) => [d.driver, d.usable, d.fix]),
    [
      ["ntfs3", true, []],
      ["ntfs-3g", true, ["apt install ntfs-3g"]],
    ],
  );
  const jfs = JSON.parse((await runInProcess(["--root", root.dir, "explain", "--type", "jfs", "--json"])).stdout) as Doc;
  assert.deepEqual(jfs.otherDrivers, []);
});
