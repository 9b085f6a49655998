// The kmod upgrade that moves the vendor directory: kmod 30 (Debian 12) does not
// read usr/lib/modprobe.d, so apply installs into lib/modprobe.d; kmod 32 and
// later do, so apply moves the fragments there. On a merged-/usr root (`lib` a
// link to `usr/lib`, every Debian since 12) both names are one directory, and a
// "move" that removed the old names removed the files just found in place.
//
// On merged and on split roots, in both directions, with a keep, an allow and a
// block in place: after each apply the real kmod (judging with the directories
// the root's kmod reads) blacklists exactly what it did before; a second apply
// changes nothing; and apply killed at every write step leaves each module as
// kmod saw it before or after, and the next run ends where an uninterrupted one does.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { runOracle } from "../helpers/kmod-oracle.ts";
import { copyTree, fsb, fsbAsync, scratchDir, writeConfig, writePolicy } from "./helpers.ts";

const KMOD_30 = "30+20221128-1";
const KMOD_34 = "34.2-2";
const MODULES = ["jfs", "hfs", "minix", "cramfs", "ufs"];
/** The directories whose files apply, allow and block may write (the rest of a fake root never changes). */
const WRITTEN = ["etc/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d", "var/lib/fsblacklist"];
const TIMESTAMP = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;
const TEMPORARY = /^\..+\.fsblacklist-\d+-\d+\.tmp$/;

/** Makes `lib` a link to `usr/lib`, as on every merged-/usr system. */
function mergeUsr(root: string): void {
  fs.mkdirSync(path.join(root, "usr/lib"), { recursive: true });
  for (const name of fs.readdirSync(path.join(root, "lib"))) fs.renameSync(path.join(root, "lib", name), path.join(root, "usr/lib", name));
  fs.rmdirSync(path.join(root, "lib"));
  fs.symlinkSync("usr/lib", path.join(root, "lib"));
}

function setKmod(root: string, version: string): void {
  const status = path.join(root, "var/lib/dpkg/status");
  fs.writeFileSync(status, fs.readFileSync(status, "utf8").replace(/^Version: .*$/m, `Version: ${version}`));
}

/** The files fsblacklist may write, by their real place (a merged root's lib/ is usr/lib/), times blanked; temporaries left out. */
function written(root: string): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of WRITTEN) {
    const full = path.join(root, dir);
    if (fs.realpathSync(path.dirname(full)) !== path.join(fs.realpathSync(root), path.dirname(dir))) continue;
    for (const name of fs.existsSync(full) ? fs.readdirSync(full).sort() : []) {
      if (!TEMPORARY.test(name)) out.set(`${dir}/${name}`, fs.readFileSync(path.join(full, name), "latin1").replace(TIMESTAMP, "<time>"));
    }
  }
  return out;
}

/** What the real kmod does with each module of the policy: its blacklist and install lines, in kmod's order. */
async function kmodView(roots: readonly string[]): Promise<Map<string, string>[]> {
  const results = await runOracle(roots);
  return results.map((r) => {
    assert.equal(r.status, 0, `modprobe -c on ${r.root}: ${r.stderr.toString()}`);
    const byModule = new Map<string, string>(MODULES.map((m) => [m, ""]));
    for (const line of r.config.toString("latin1").split("\n")) {
      const [word, module] = line.split(" ");
      if ((word === "blacklist" || word === "install") && module !== undefined && byModule.has(module)) byModule.set(module, `${byModule.get(module)}${line}\n`);
    }
    return byModule;
  });
}

const CASES = [
  { layout: "merged", from: KMOD_30, to: KMOD_34 },
  { layout: "merged", from: KMOD_34, to: KMOD_30 },
  { layout: "split", from: KMOD_30, to: KMOD_34 },
  { layout: "split", from: KMOD_34, to: KMOD_30 },
] as const;

for (const { layout, from, to } of CASES) {
  test(`${layout} /usr, kmod ${from} -> ${to}: apply keeps every fragment, kmod blacklists what it did, crashes at every write step converge`, async (t) => {
    const scratch = scratchDir("fsb-kmod-upgrade-");
    t.after(() => scratch.cleanup());
    const policy = writePolicy(
      path.join(scratch.dir, "policy"),
      "1.0.0",
      MODULES.map((module) => ({ module, since: "1.0.0" })),
    );
    const base = createFakeRoot({ loaded: ["jfs"], kmodVersion: from });
    t.after(() => base.cleanup());
    if (layout === "merged") mergeUsr(base.dir);
    writeConfig(base.dir, `policyDir: ${policy}\n`);
    for (const args of [["apply"], ["allow", "hfs"], ["block", "minix"]]) {
      const run = fsb(["--root", base.dir, ...args]);
      assert.equal(run.status, 0, `${args.join(" ")}: ${run.stderr}`);
    }
    const template = path.join(scratch.dir, "template");
    copyTree(base.dir, template);
    setKmod(template, to);
    const reference = path.join(scratch.dir, "reference");
    copyTree(template, reference);
    const applied = fsb(["--root", reference, "apply", "--json"]);
    assert.equal(applied.status, 0, applied.stderr);
    const goal = written(reference);
    const fragments = [...goal.keys()].filter((p) => /modprobe\.d\/60-blacklist_fs-/.test(p) && !p.startsWith("etc/"));
    assert.equal(fragments.length, MODULES.length, `every fragment is there after the upgrade: ${fragments.join(", ")}`);
    const again = fsb(["--root", reference, "apply", "--json"]);
    assert.equal(again.status, 0, again.stderr);
    assert.equal(JSON.parse(again.stdout).changed, false, "a second apply changes nothing");
    assert.deepEqual(written(reference), goal, "a second apply leaves every file as it was");

    // Killed at every write step of the upgrade's apply (until a run gets through), then run again.
    const crashed: string[] = [];
    for (let step = 1; ; step++) {
      const root = path.join(scratch.dir, `crash-${step}`);
      copyTree(template, root);
      const run = await fsbAsync(["--root", root, "apply"], { FSBLACKLIST_TEST_CRASH_AFTER: String(step) }).done;
      if (run.signal !== "SIGKILL") {
        assert.equal(run.status, 0, `step ${step}: ${run.stderr}`);
        assert.ok(step > 1, "the upgrade's apply writes something");
        break;
      }
      crashed.push(root);
      assert.ok(step < 200, "the run ends");
    }
    const views = await kmodView([base.dir, template, reference, ...crashed]);
    const [before, upgraded, after] = views as [Map<string, string>, Map<string, string>, Map<string, string>];
    assert.deepEqual(after, before, "after apply, kmod blacklists exactly what it did before the upgrade");
    assert.equal(after.get("jfs"), "", "the keep: jfs loadable");
    assert.equal(after.get("hfs"), "", "the allow: hfs loadable");
    for (const module of ["minix", "cramfs", "ufs"]) assert.match(after.get(module)!, new RegExp(`^blacklist ${module}$`, "m"), `${module} blacklisted`);
    crashed.forEach((root, i) => {
      for (const module of MODULES) {
        const seen = views[3 + i]!.get(module);
        assert.ok(seen === upgraded.get(module) || seen === after.get(module), `killed at write step ${i + 1}: kmod's view of ${module} is neither the one before apply nor after:\n${seen}`);
      }
      const rerun = fsb(["--root", root, "apply"]);
      assert.equal(rerun.status, 0, `killed at write step ${i + 1}, then again: ${rerun.stderr}`);
      assert.deepEqual(written(root), goal, `killed at write step ${i + 1}, then again: ends where an uninterrupted run ends`);
    });
  });
}
