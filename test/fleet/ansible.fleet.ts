// The Ansible collection driving a fleet (`npm run test:fleet`, scripts/test-fleet.mjs):
// real ansible-playbook against 22 fake roots with different evidence of use, through
// the collection's role and modules. First run changed everywhere, second run changed
// nowhere, --check --diff shows every file and writes nothing, a profile change
// previewed then applied, one host with a read-only modprobe.d failing alone with the
// CLI's own message. The tests run in order and build on each other.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runCli } from "../helpers/cli.ts";
import { readOnly } from "../helpers/mounts.ts";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";
import { createFleet, expectedKeeps, FLEET_CASES, REPO, ansibleTool, runPlaybook, taskResults, type Fleet, type HostResult, type PlaybookRun } from "./fleet.ts";

const SITE = path.join(REPO, "test/fleet/site.yml");
const FACTS = path.join(REPO, "test/fleet/facts.yml");
const MODULE_TASK = "Apply the filesystem module blacklist";
const HANDLER = "Rebuild the initramfs";

const CASES = FLEET_CASES;
const READ_ONLY_HOST = CASES.length - 1;

let fleet: Fleet;
const hostNames = (): string[] => fleet.hosts.map((h) => h.name);
const rootOf = (name: string): string => fleet.hosts.find((h) => h.name === name)!.root.dir;

function snapshots(): Map<string, Map<string, string>> {
  return new Map(fleet.hosts.map((h) => [h.name, snapshotTree(h.root.dir)]));
}

function assertUnchanged(before: Map<string, Map<string, string>>, names: readonly string[] = hostNames()): void {
  for (const name of names) assert.deepEqual(treeDiff(before.get(name)!, snapshotTree(rootOf(name))), [], `${name}'s root was written`);
}

function moduleResults(run: PlaybookRun): Map<string, HostResult> {
  const results = taskResults(run, MODULE_TASK);
  assert.deepEqual([...results.keys()].sort(), hostNames(), `every host ran the module:\n${run.stderr.slice(-2000)}`);
  return results;
}

/** The module's keeps as "module: reason", sorted. */
function keeps(result: HostResult): string[] {
  return (result["kept"] as { module: string; reason: string }[]).map((k) => `${k.module}: ${k.reason}`).sort();
}

/** A file as Ansible's diff would show it after the run, times masked (each run writes its own). */
function masked(text: string): string {
  return text.replace(/^# fsblacklist-date: .*$/gm, "# fsblacklist-date: <time>");
}

interface GatheredFacts {
  status: { filesystems: { name: string; state: string }[] };
  summary: { kept: number };
  audit: { benchmark: string; rules: unknown[] } | null;
  audit_skipped: string | null;
}

interface FileDiff {
  before_header: string;
  after_header?: string;
  before?: string;
  after?: string;
  prepared?: string;
}

/** Every file in the diff, after the real run, holds what the preview said it would. */
function assertPreviewCameTrue(preview: Map<string, HostResult>, names: readonly string[]): void {
  for (const name of names) {
    for (const file of preview.get(name)!["diff"] as FileDiff[]) {
      const full = path.join(rootOf(name), file.before_header);
      const now = fs.existsSync(full) ? fs.readFileSync(full, "utf8") : "";
      assert.equal(masked(now), masked(file.after!), `${name}: ${file.before_header} is not what --check --diff showed`);
    }
  }
}

before(() => {
  fleet = createFleet(CASES.map((c) => c.spec));
});
after(() => fleet?.cleanup());

test("the documentation's example playbook and the suite's playbooks pass ansible-playbook --syntax-check", () => {
  for (const [playbook, inventory] of [
    [path.join(REPO, "docs/ansible/site.yml"), path.join(REPO, "docs/ansible/inventory.ini")],
    [SITE, fleet.inventory],
    [FACTS, fleet.inventory],
  ] as const) {
    const run = ansibleTool(fleet, "ansible-playbook", ["--syntax-check", "-i", inventory, playbook]);
    assert.equal(run.status, 0, `${playbook}: ${run.output}`);
  }
});

test("ansible-doc reads each module's documentation", () => {
  for (const module of ["fsblacklist", "fsblacklist_facts"]) {
    const doc = ansibleTool(fleet, "ansible-doc", [`fsblacklist.fsblacklist.${module}`]);
    assert.equal(doc.status, 0, doc.output);
    assert.doesNotMatch(doc.output, /ERROR!|\[WARNING\]/, doc.output);
    assert.match(doc.output, /RETURN VALUES/);
  }
});

let firstPreview: Map<string, HostResult>;

test("--check --diff on a new fleet: every host would change, each file's diff is shown, nothing is written", () => {
  const before = snapshots();
  const run = runPlaybook(fleet, SITE, ["--check", "--diff"]);
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  assertUnchanged(before);
  firstPreview = moduleResults(run);
  for (const [name, result] of firstPreview) {
    assert.equal(result.changed, true, `${name} would change`);
    const actions = result["actions"] as { action: string; path: string }[];
    const diff = result["diff"] as FileDiff[];
    assert.deepEqual(
      diff.map((d) => d.before_header),
      actions.map((a) => a.path),
      `${name}: one diff per file the run would write`,
    );
    for (const file of diff) {
      assert.equal(file.before, "", `${name}: ${file.before_header} is new`);
      // A fragment blacklists its module; a keep is a marked override of the same name.
      const content = file.before_header.startsWith("etc/") ? /^# fsblacklist-override: keep$/m : /^blacklist \S+$/m;
      assert.match(file.after!, content, `${name}: ${file.before_header} shows its content`);
    }
  }
});

test("the first run changes every host, keeps what each one uses and rebuilds each initramfs once", () => {
  const run = runPlaybook(fleet, SITE, ["--diff"]);
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  const results = moduleResults(run);
  for (const [i, name] of hostNames().entries()) {
    const result = results.get(name)!;
    assert.equal(result.changed, true, `${name} changed`);
    assert.equal(run.json.stats[name]!.failures, 0);
    // Each host keeps what its own evidence shows, and says which evidence.
    assert.deepEqual(keeps(result), expectedKeeps(CASES[i]!), `${name} keeps what it uses, for that reason`);
    for (const keep of result["kept"] as { loadable: boolean }[]) assert.equal(keep.loadable, true);
    assert.equal(result["initramfs_rebuild_owed"], true, `${name}: the blacklist changed, the image is out of date`);
    assert.equal(fs.readFileSync(path.join(rootOf(name), "initramfs-rebuilds"), "utf8"), "rebuilt\n", `${name}: the handler ran once`);
  }
  assertPreviewCameTrue(firstPreview, hostNames());
  // The host with kmod 30 got its fragments where that kmod reads them.
  assert.ok(fs.existsSync(path.join(rootOf("host13"), "lib/modprobe.d/60-blacklist_fs-jfs.conf")));
  // An administrator's install line stays the one kmod runs, and the module says so.
  assert.match(JSON.stringify(results.get("host12")!["install_lines_in_force"]), /local\.conf/);
});

test("the second run changes nothing on any host and owes no rebuild", () => {
  const before = snapshots();
  const run = runPlaybook(fleet, SITE);
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  const results = moduleResults(run);
  for (const name of hostNames()) {
    assert.equal(results.get(name)!.changed, false, `${name} changed again`);
    assert.equal(results.get(name)!["initramfs_rebuild_owed"], false);
    assert.equal(run.json.stats[name]!.changed, 0, `${name}: a task changed`);
    assert.equal(run.json.stats[name]!.failures, 0);
  }
  assert.equal(taskResults(run, HANDLER).size, 0, "the handler ran");
  assertUnchanged(before);
});

test("the facts module gathers status and the CIS audit", () => {
  const run = runPlaybook(fleet, FACTS, ["-e", JSON.stringify({ benchmark: "cis-l1" })]);
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  const results = taskResults(run, "Status and audit");
  for (const [i, name] of hostNames().entries()) {
    const facts = (results.get(name)!["ansible_facts"] as { fsblacklist: GatheredFacts }).fsblacklist;
    const kept = facts.status.filesystems.filter((f) => f.state === "kept").map((f) => f.name);
    assert.deepEqual(kept.sort(), Object.keys(CASES[i]!.kept).sort(), `${name}: status shows the keeps`);
    assert.equal(facts.summary.kept, Object.keys(CASES[i]!.kept).length);
    assert.equal(facts.audit?.benchmark, "cis-l1");
    assert.ok((facts.audit?.rules.length ?? 0) > 0);
  }
  // Without a benchmark, the default profile has none to audit: no audit, and why.
  const plain = taskResults(runPlaybook(fleet, FACTS, ["--limit", "host01"]), "Status and audit").get("host01")!;
  const facts = (plain["ansible_facts"] as { fsblacklist: GatheredFacts }).fsblacklist;
  assert.equal(facts.audit, null);
  assert.match(String(facts.audit_skipped), /serves no benchmark/);
});

test("a profile change is previewed with --check --diff, writing nothing, then applied as previewed", () => {
  const profile = ["-e", JSON.stringify({ fsblacklist_profile: "cis-l2" })];
  const before = snapshots();
  const preview = runPlaybook(fleet, SITE, ["--check", "--diff", ...profile]);
  assert.equal(preview.status, 0, preview.stderr.slice(-3000));
  assertUnchanged(before);
  const previewed = moduleResults(preview);
  for (const [name, result] of previewed) {
    assert.equal(result.changed, true, `${name} would change`);
    const diff = result["diff"] as FileDiff[];
    const updates = diff.filter((d) => d.before !== "" && d.after !== "");
    // Hosts on the default profile get every fragment rewritten; the one configured for cis-l1 only gains cis-l2's.
    if (name !== "host14") assert.ok(updates.length > 0, `${name}: the preview shows fragments rewritten`);
    for (const file of updates) {
      assert.equal(file.before, fs.readFileSync(path.join(rootOf(name), file.before_header), "utf8"), `${name}: ${file.before_header}'s before is the file`);
    }
    assert.ok(
      diff.some((d) => /^install \S+ \/bin\/false$/m.test(d.after!) && !/^install \S+ \/bin\/false$/m.test(d.before!)),
      `${name}: the CIS form (install X /bin/false) shows in the diff`,
    );
  }

  const run = runPlaybook(fleet, SITE, profile);
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  const results = moduleResults(run);
  for (const [i, name] of hostNames().entries()) {
    const result = results.get(name)!;
    assert.equal(result.changed, true, `${name} changed`);
    assert.equal(result["profile"], "cis-l2");
    assert.deepEqual(keeps(result), expectedKeeps(CASES[i]!, true), `${name} keeps what it uses, for that reason`);
  }
  const distinct = new Set(hostNames().map((name) => keeps(results.get(name)!).join("\n")));
  assert.equal(distinct.size, hostNames().length, "no two hosts keep the same filesystems for the same reasons");
  assertPreviewCameTrue(previewed, hostNames());
});

test("a host with a read-only modprobe.d fails with the CLI's message, changes nothing, and the rest of the fleet completes", () => {
  const name = hostNames()[READ_ONLY_HOST]!;
  const root = rootOf(name);
  const others = hostNames().filter((h) => h !== name);
  const dirs = ["etc/modprobe.d", "usr/lib/modprobe.d"].map((d) => path.join(root, d));
  for (const dir of dirs) fs.mkdirSync(dir, { recursive: true });
  const before = snapshots();
  // cis-l1: from cis-l2 (or, should the test before have failed, from the default) every host has files to write.
  const { expected, run } = readOnly(dirs[0]!, () =>
    readOnly(dirs[1]!, () => {
      const cli = runCli(["apply", "--json", "--dry-run", "--profile", "cis-l1", "--root", root]);
      assert.equal(JSON.parse(cli.stdout).changed, true, "the host has something to write");
      const failure = runCli(["apply", "--json", "--profile", "cis-l1", "--root", root]);
      assert.equal(failure.status, 1);
      const expected = JSON.parse(failure.stdout).error.message as string;
      return { expected, run: runPlaybook(fleet, SITE, ["-e", JSON.stringify({ fsblacklist_profile: "cis-l1" })]) };
    }),
  );
  assert.match(expected, /read-only|EROFS/i);
  assert.notEqual(run.status, 0, "ansible-playbook reports the failed host");
  const results = moduleResults(run);
  const failed = results.get(name)!;
  assert.equal(failed.failed, true, `${name} failed`);
  assert.equal(failed.changed, false, `${name} is not reported as changed`);
  assert.equal(failed.msg, expected, "the task's message is the CLI's own");
  assert.equal(failed["exit_code"], 1);
  assert.deepEqual(run.json.stats[name], { ...run.json.stats[name]!, failures: 1, changed: 0 });
  assertUnchanged(before, [name]);
  for (const other of others) {
    assert.equal(results.get(other)!.changed, true, `${other} completed`);
    assert.equal(run.json.stats[other]!.failures, 0, `${other} did not fail`);
    assert.equal(results.get(other)!["profile"], "cis-l1");
  }
});

test("state absent previews the removals with --check --diff, then uninstalls, leaving the administrator's files; a second run changes nothing", () => {
  const hosts = ["host02", "host12", "host13"];
  const absent = ["--limit", hosts.join(","), "-e", JSON.stringify({ fsblacklist_state: "absent" })];
  const adminFile = path.join(rootOf("host12"), "etc/modprobe.d/local.conf");
  const adminText = fs.readFileSync(adminFile, "utf8");
  const before = snapshots();
  const preview = runPlaybook(fleet, SITE, ["--check", "--diff", ...absent]);
  assert.equal(preview.status, 0, preview.stderr.slice(-3000));
  assertUnchanged(before, hosts);
  const previewed = taskResults(preview, MODULE_TASK);
  for (const name of hosts) {
    // One diff per removal, from the CLI's own unified diff (a diff that did not fit would come as `prepared`).
    const removals = previewed.get(name)!["diff"] as FileDiff[];
    const removed = (previewed.get(name)!["actions"] as { action: string; path: string }[]).filter((a) => a.action === "remove");
    assert.ok(removals.length > 0, `${name}: the preview shows files removed`);
    assert.deepEqual(
      removals.map((d) => d.before_header),
      removed.map((a) => a.path),
    );
    for (const file of removals) {
      assert.equal(file.prepared, undefined, `${name}: ${file.before_header}'s diff fits the file`);
      assert.equal(file.after, "", `${name}: ${file.before_header} is removed`);
      assert.equal(file.before, fs.readFileSync(path.join(rootOf(name), file.before_header), "utf8"));
    }
  }

  const run = runPlaybook(fleet, SITE, absent);
  assert.equal(run.status, 0, run.stderr.slice(-3000));
  const results = taskResults(run, MODULE_TASK);
  for (const name of hosts) {
    assert.equal(results.get(name)!.changed, true, `${name} changed`);
    for (const dir of ["usr/lib/modprobe.d", "lib/modprobe.d", "etc/modprobe.d"]) {
      const full = path.join(rootOf(name), dir);
      const left = fs.existsSync(full) ? fs.readdirSync(full).filter((f) => /^# fsblacklist-policy: fragment$/m.test(fs.readFileSync(path.join(full, f), "utf8"))) : [];
      assert.deepEqual(left, [], `${name}: no fragment left in ${dir}`);
    }
  }
  assert.ok(!fs.existsSync(path.join(rootOf("host02"), "etc/modprobe.d/60-blacklist_fs-jfs.conf")), "apply's keep is removed");
  assert.equal(fs.readFileSync(adminFile, "utf8"), adminText, "the administrator's file is untouched");

  const again = runPlaybook(fleet, SITE, absent);
  assert.equal(again.status, 0, again.stderr.slice(-3000));
  for (const name of hosts) assert.equal(taskResults(again, MODULE_TASK).get(name)!.changed, false, `${name} changed again`);
});
