// The module's other operations through the real ansible-playbook, on a small fleet of fake roots:
// allow and block (previewed with --check --diff, applied, idempotent), state absent with and without
// purge, and the initramfs rebuild owed by a play that dies after apply and before its handler
// (test/fleet/interrupted.yml): the next run still reports it owed and the handler runs.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli } from "../helpers/cli.ts";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";
import { createFleet, REPO, runPlaybook, taskResults, type Fleet, type HostResult } from "./fleet.ts";

const SITE = path.join(REPO, "test/fleet/site.yml");
const INTERRUPTED = path.join(REPO, "test/fleet/interrupted.yml");
const MODULE_TASK = "Apply the filesystem module blacklist";
const MAKE_UP = "Make up an owed initramfs rebuild";
const HANDLER = "Rebuild the initramfs";
const STATE = "var/lib/fsblacklist/state.json";

let fleet: Fleet;
const rootOf = (name: string): string => fleet.hosts.find((h) => h.name === name)!.root.dir;
const rebuilds = (name: string): string => {
  const file = path.join(rootOf(name), "initramfs-rebuilds");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8") : "";
};

before(() => {
  // host01: jfs loaded (blocked through the module below); host02 and host03: the interrupted play.
  fleet = createFleet([{ loaded: ["jfs"] }, {}, { loaded: ["minix"] }]);
});
after(() => fleet?.cleanup());

test("a play that dies after apply, before its handler: the next run still owes the rebuild and the handler runs", () => {
  const hosts = ["host02", "host03"];
  const limit = ["--limit", hosts.join(",")];
  const died = runPlaybook(fleet, INTERRUPTED, limit);
  assert.notEqual(died.status, 0, "the play failed");
  for (const name of hosts) {
    const result = taskResults(died, MODULE_TASK).get(name)!;
    assert.equal(result.changed, true, `${name}: apply wrote the blacklist`);
    assert.equal(result["initramfs_rebuild_owed"], true);
    assert.equal(taskResults(died, "Die before the handlers run").get(name)!.failed, true);
    assert.equal(rebuilds(name), "", `${name}: the handler never ran`);
    const state = JSON.parse(fs.readFileSync(path.join(rootOf(name), STATE), "utf8")) as { initramfsOwedSince: string | null };
    assert.ok(state.initramfsOwedSince !== null, `${name}: the state file keeps the owed rebuild`);
  }
  assert.equal(taskResults(died, HANDLER).size, 0, "no handler ran");

  const next = runPlaybook(fleet, INTERRUPTED, [...limit, "-e", JSON.stringify({ interrupt: false })]);
  assert.equal(next.status, 0, next.stderr.slice(-3000));
  for (const name of hosts) {
    const result = taskResults(next, MODULE_TASK).get(name)!;
    assert.equal(result.changed, false, `${name}: nothing left to write`);
    assert.equal(result["initramfs_rebuild_owed"], true, `${name}: the rebuild is still owed`);
    assert.equal(taskResults(next, MAKE_UP).get(name)!.changed, true, `${name}: the owed rebuild is made up`);
    assert.equal(taskResults(next, HANDLER).get(name)!.changed, true, `${name}: the handler ran`);
    assert.equal(rebuilds(name), "rebuilt\n", `${name}: rebuilt once`);
  }

  // The image the handler wrote shows the rebuild done: nothing owed, no handler.
  const done = runPlaybook(fleet, INTERRUPTED, [...limit, "-e", JSON.stringify({ interrupt: false })]);
  assert.equal(done.status, 0, done.stderr.slice(-3000));
  for (const name of hosts) {
    assert.equal(taskResults(done, MODULE_TASK).get(name)!["initramfs_rebuild_owed"], false);
    assert.equal(taskResults(done, MAKE_UP).get(name)!.skipped, true);
    assert.equal(rebuilds(name), "rebuilt\n", `${name}: no second rebuild`);
  }
  assert.equal(taskResults(done, HANDLER).size, 0);
});

interface FileDiff {
  before_header: string;
  before?: string;
  after?: string;
}

function statusOf(name: string, filesystems: string[]): string[] {
  const status = runCli(["status", "--json", "--root", rootOf(name), ...filesystems]);
  assert.equal(status.status, 0, status.stderr);
  return (JSON.parse(status.stdout) as { filesystems: { name: string; state: string; decidedBy: string | null }[] }).filesystems.map(
    (f) => `${f.name} ${f.state} ${f.decidedBy?.replace(/:\d+$/, "")}`,
  );
}

test("allow and block through the module: previewed, applied over a keep, idempotent; absent leaves them, absent with purge removes them", () => {
  const name = "host01";
  const limit = ["--limit", name];
  const applied = runPlaybook(fleet, SITE, limit);
  assert.equal(applied.status, 0, applied.stderr.slice(-3000));
  assert.deepEqual(
    (taskResults(applied, MODULE_TASK).get(name)!["kept"] as { module: string }[]).map((k) => k.module),
    ["jfs"],
  );

  const overrides = ["-e", JSON.stringify({ fsblacklist_allow: ["hfs"], fsblacklist_block: ["jfs"] })];
  const before = snapshotTree(rootOf(name));
  const preview = runPlaybook(fleet, SITE, [...limit, "--check", "--diff", ...overrides]);
  assert.equal(preview.status, 0, preview.stderr.slice(-3000));
  assert.deepEqual(treeDiff(before, snapshotTree(rootOf(name))), [], "check mode wrote nothing");
  const previewed = taskResults(preview, MODULE_TASK).get(name)!;
  assert.equal(previewed.changed, true);
  const diff = previewed["diff"] as FileDiff[];
  const hfs = diff.find((d) => d.before_header === "etc/modprobe.d/60-blacklist_fs-hfs.conf");
  const jfs = diff.find((d) => d.before_header === "etc/modprobe.d/60-blacklist_fs-jfs.conf");
  assert.match(hfs?.after ?? "", /^# fsblacklist-override: allow$/m, "the allow override is shown");
  assert.match(jfs?.before ?? "", /^# fsblacklist-override: keep$/m, "the keep it replaces is the before");
  assert.match(jfs?.after ?? "", /^# fsblacklist-override: block$/m, "the block override is the after");

  const run = runPlaybook(fleet, SITE, [...limit, ...overrides]);
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  const result: HostResult = taskResults(run, MODULE_TASK).get(name)!;
  assert.equal(result.changed, true);
  const actions = (result["actions"] as { command: string; action: string; module: string }[]).map((a) => `${a.command} ${a.action} ${a.module}`);
  assert.ok(actions.includes("allow allow hfs") && actions.includes("block block jfs"), JSON.stringify(actions));
  assert.deepEqual(result["kept"], [], "jfs is blocked now, not kept, though in use");
  assert.equal(result["initramfs_rebuild_owed"], true);
  assert.deepEqual(statusOf(name, ["hfs", "jfs"]), ["hfs allowed etc/modprobe.d/60-blacklist_fs-hfs.conf", "jfs pinned etc/modprobe.d/60-blacklist_fs-jfs.conf"]);

  const again = runPlaybook(fleet, SITE, [...limit, ...overrides]);
  assert.equal(again.status, 0, again.stderr.slice(-3000));
  assert.equal(taskResults(again, MODULE_TASK).get(name)!.changed, false, "allow and block again change nothing");
  assert.equal(again.json.stats[name]!.changed, 0);

  // state absent: apply's files go, the administrator's decisions stay, reported as left alone.
  const absent = runPlaybook(fleet, SITE, [...limit, "-e", JSON.stringify({ fsblacklist_state: "absent" })]);
  assert.equal(absent.status, 0, absent.stderr.slice(-3000));
  assert.equal(taskResults(absent, MODULE_TASK).get(name)!.changed, true);
  const adminDir = path.join(rootOf(name), "etc/modprobe.d");
  assert.deepEqual(fs.readdirSync(adminDir).sort(), ["60-blacklist_fs-hfs.conf", "60-blacklist_fs-jfs.conf"]);
  assert.deepEqual(fs.readdirSync(path.join(rootOf(name), "usr/lib/modprobe.d")), [], "every fragment removed");

  // With purge: the overrides and the state file go too, previewed first.
  const purge = ["-e", JSON.stringify({ fsblacklist_state: "absent", fsblacklist_purge: true })];
  const purgePreview = runPlaybook(fleet, SITE, [...limit, "--check", "--diff", ...purge]);
  assert.equal(purgePreview.status, 0, purgePreview.stderr.slice(-3000));
  assert.deepEqual((taskResults(purgePreview, MODULE_TASK).get(name)!["diff"] as FileDiff[]).map((d) => `${d.before_header} -> ${JSON.stringify(d.after)}`).sort(), [
    'etc/modprobe.d/60-blacklist_fs-hfs.conf -> ""',
    'etc/modprobe.d/60-blacklist_fs-jfs.conf -> ""',
  ]);
  assert.equal(fs.readdirSync(adminDir).length, 2, "the preview wrote nothing");
  const purged = runPlaybook(fleet, SITE, [...limit, ...purge]);
  assert.equal(purged.status, 0, purged.stderr.slice(-3000));
  assert.equal(taskResults(purged, MODULE_TASK).get(name)!.changed, true);
  assert.deepEqual(fs.readdirSync(adminDir), []);
  assert.ok(!fs.existsSync(path.join(rootOf(name), STATE)), "the state file is gone");
  const idle = runPlaybook(fleet, SITE, [...limit, ...purge]);
  assert.equal(idle.status, 0, idle.stderr.slice(-3000));
  assert.equal(taskResults(idle, MODULE_TASK).get(name)!.changed, false, "a second purge changes nothing");
});
