// `fsblacklist allow jfs` when the administrator has already masked our
// fragment in etc/modprobe.d (a link to /dev/null, or an empty file of the same
// name): the filesystem is allowed already, so allow exits 0 and says so, and
// leaves the administrator's file exactly as it was. The real kmod confirms
// that it is allowed indeed (it loads jfs for fs-jfs).

import { test } from "node:test";
import assert from "node:assert/strict";
import { lstatSync, mkdirSync, readFileSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { canRunOracle, kmodLoads, runModprobe } from "../facts/modprobe-oracle.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const policy = loadPolicy(shippedPolicyDir());

for (const mask of ["a link to /dev/null", "an empty file"] as const) {
  test(`allow jfs over the administrator's ${mask}: already allowed, exit 0, the file untouched`, { skip: skipOracle }, async (t) => {
    const root = createFakeRoot({});
    t.after(() => root.cleanup());
    const vendor = path.join(root.dir, "usr/lib/modprobe.d");
    mkdirSync(vendor, { recursive: true });
    for (const entry of policy.entries) if (entry.profiles.includes("default")) writeFileSync(path.join(vendor, fragmentName(entry.module)), renderFragment(entry, "default"));
    const file = path.join(root.dir, "etc/modprobe.d", fragmentName("jfs"));
    mkdirSync(path.dirname(file), { recursive: true });
    if (mask === "an empty file") writeFileSync(file, "");
    else symlinkSync("/dev/null", file);
    const loads = (): boolean =>
      kmodLoads(runModprobe([{ root: root.dir, release: root.release!, mode: "show-depends", requests: ["fs-jfs"] }])[0]![0]!, readFileSync(path.join(root.dir, "proc/cmdline"), "utf8"));
    assert.equal(loads(), true, "kmod loads jfs: the mask allows it");

    const human = await runInProcess(["--root", root.dir, "allow", "jfs"]);
    assert.equal(human.status, 0, human.stderr);
    assert.equal(human.stderr, "");
    assert.match(
      human.stdout,
      mask === "an empty file"
        ? /^jfs: nothing to do: already allowed: nothing blacklists jfs \(etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf is the administrator's file\)\n/
        : /^jfs: nothing to do: already allowed: nothing blacklists jfs \(etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf is the administrator's link to \/dev\/null\)\n/,
    );
    const json = await runInProcess(["--root", root.dir, "allow", "jfs", "--json"]);
    assert.equal(json.status, 0, json.stderr);
    const doc = JSON.parse(json.stdout) as { changed: boolean; actions: { action: string; written: boolean }[] };
    assert.equal(doc.changed, false);
    assert.deepEqual(
      doc.actions.map((a) => [a.action, a.written]),
      [["unchanged", false]],
    );

    if (mask === "an empty file") assert.equal(readFileSync(file, "utf8"), "");
    else assert.equal(lstatSync(file).isSymbolicLink() && readlinkSync(file), "/dev/null");
    assert.equal(loads(), true);
  });
}
