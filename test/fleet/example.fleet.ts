// The documentation's example (docs/ansible/site.yml with docs/ansible/inventory.ini), run for real by
// ansible-playbook: its four hosts are fake roots on this machine. A second inventory gives each host
// of the example its root, the local connection, the worktree's command and the fake initramfs
// rebuild; the groups and their variables (the hardened hosts' cis-l2, the servers' allow) are the
// example's own. The CIS gate passes a hardened host that uses no CIS module and names the one that
// keeps squashfs because it mounts a snap; --check --diff writes nothing and does not judge.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";
import { createFleet, REPO, runPlaybook, taskResults, type Fleet, type PlaybookRun } from "./fleet.ts";

const SITE = path.join(REPO, "docs/ansible/site.yml");
const INVENTORY = path.join(REPO, "docs/ansible/inventory.ini");
const FAKE_REBUILD = path.join(REPO, "test/fleet/fake-update-initramfs.sh");
const MODULE_TASK = "Apply the filesystem module blacklist";
const GATE = "Every filesystem rule of the benchmark passes, or the host is named";
const ROOT_MOUNT = { source: "/dev/vda1", target: "/", fstype: "ext4" };

const HOSTS = ["web1.example.org", "web2.example.org", "bastion.example.org", "db1.example.org"];

let fleet: Fleet;
/** The fleet with an inventory naming the example's hosts; the example's inventory is passed beside it. */
let example: Fleet;
const rootOf = (name: string): string => fleet.hosts[HOSTS.indexOf(name)]!.root.dir;

function run(args: readonly string[] = []): PlaybookRun {
  return runPlaybook(example, SITE, ["-i", INVENTORY, ...args]);
}

function snapshots(): Map<string, Map<string, string>> {
  return new Map(HOSTS.map((h) => [h, snapshotTree(rootOf(h))]));
}

before(() => {
  fleet = createFleet([
    // web1: nothing in use; web2: jfs loaded.
    {},
    { loaded: ["jfs"] },
    // bastion: nothing of CIS level 2 in use; db1 mounts a snap (squashfs), which cis-l2 blocks.
    {},
    { loaded: ["squashfs"], mounts: [ROOT_MOUNT, { source: "/var/lib/snapd/snaps/core_1.snap", target: "/snap/core/1", fstype: "squashfs" }] },
  ]);
  const lines = HOSTS.map((name, i) => {
    const root = fleet.hosts[i]!.root.dir;
    const rebuild = JSON.stringify([FAKE_REBUILD, root]);
    return `${name} fsblacklist_root=${root} fsblacklist_initramfs_command='${rebuild}'`;
  });
  const inventory = path.join(fleet.dir, "example-hosts.ini");
  // No sudo here and already root: the play's `become: true` is turned off by the connection variable.
  fs.writeFileSync(
    inventory,
    `${lines.join("\n")}\n\n[all:vars]\nansible_connection=local\nansible_become=false\nansible_python_interpreter={{ ansible_playbook_python }}\nfsblacklist_executable=${fleet.wrapper}\n`,
  );
  example = { ...fleet, inventory };
});
after(() => fleet?.cleanup());

test("the example with --check --diff previews every host, writes nothing and leaves the gate unjudged", () => {
  const before = snapshots();
  const preview = run(["--check", "--diff"]);
  assert.equal(preview.status, 0, preview.stderr.slice(-3000));
  for (const name of HOSTS) assert.deepEqual(treeDiff(before.get(name)!, snapshotTree(rootOf(name))), [], `${name}'s root was written`);
  const results = taskResults(preview, MODULE_TASK);
  assert.deepEqual([...results.keys()].sort(), [...HOSTS].sort());
  for (const [name, result] of results) {
    assert.equal(result.changed, true, `${name} would change`);
    assert.ok((result["diff"] as unknown[]).length > 0, `${name}: the files it would write are shown`);
  }
  const gate = taskResults(preview, GATE);
  assert.deepEqual([...gate.keys()].sort(), ["bastion.example.org", "db1.example.org"]);
  for (const result of gate.values()) assert.equal(result.skipped, true, "the gate does not judge files not yet written");
});

test("the example applies each group's settings, and the CIS gate passes bastion and names db1 for the squashfs it keeps", () => {
  const first = run();
  assert.notEqual(first.status, 0, "the gate fails db1, so the run fails");
  const results = taskResults(first, MODULE_TASK);
  for (const name of HOSTS) {
    const result = results.get(name)!;
    assert.equal(result.changed, true, `${name} changed`);
    assert.equal(result["profile"], name.startsWith("web") ? "default" : "cis-l2", `${name}: its group's profile`);
    assert.equal(fs.readFileSync(path.join(rootOf(name), "initramfs-rebuilds"), "utf8"), "rebuilt\n", `${name}: the role's handler ran once`);
  }
  // The servers' allow: an override of the administrator's kind, in the module's actions.
  for (const name of ["web1.example.org", "web2.example.org"]) {
    const actions = results.get(name)!["actions"] as { command: string; path: string }[];
    assert.ok(
      actions.some((a) => a.command === "allow" && a.path === "etc/modprobe.d/60-blacklist_fs-hfsplus.conf"),
      `${name}: ${JSON.stringify(actions)}`,
    );
    assert.match(fs.readFileSync(path.join(rootOf(name), "etc/modprobe.d/60-blacklist_fs-hfsplus.conf"), "utf8"), /^# fsblacklist-override: allow$/m);
  }
  assert.deepEqual(
    (results.get("web2.example.org")!["kept"] as { module: string; reason: string }[]).map((k) => `${k.module}: ${k.reason}`),
    ["jfs: jfs loaded (proc/modules)"],
  );
  assert.deepEqual(
    (results.get("db1.example.org")!["kept"] as { module: string }[]).map((k) => k.module),
    ["squashfs"],
  );
  assert.deepEqual(results.get("bastion.example.org")!["kept"], []);

  const gate = taskResults(first, GATE);
  assert.deepEqual([...gate.keys()].sort(), ["bastion.example.org", "db1.example.org"], "the gate judges the hardened hosts only");
  assert.equal(gate.get("bastion.example.org")!.failed ?? false, false, JSON.stringify(gate.get("bastion.example.org")));
  const db1 = gate.get("db1.example.org")!;
  assert.equal(db1.failed, true);
  assert.equal(db1.msg, "kernel_module_squashfs_disabled fail; kept because in use: squashfs");
  assert.equal(first.json.stats["db1.example.org"]!.failures, 1);
  for (const name of ["web1.example.org", "web2.example.org", "bastion.example.org"]) assert.equal(first.json.stats[name]!.failures, 0, `${name} did not fail`);

  // Run again: nothing changes, no rebuild, and the gate judges the same.
  const before = snapshots();
  const again = run();
  for (const name of HOSTS) {
    assert.equal(taskResults(again, MODULE_TASK).get(name)!.changed, false, `${name} changed again`);
    assert.equal(again.json.stats[name]!.changed, 0, `${name}: a task changed`);
    assert.deepEqual(treeDiff(before.get(name)!, snapshotTree(rootOf(name))), [], `${name}'s root was written`);
  }
  assert.equal(taskResults(again, GATE).get("bastion.example.org")!.failed ?? false, false);
  assert.equal(taskResults(again, GATE).get("db1.example.org")!.msg, db1.msg);
});
