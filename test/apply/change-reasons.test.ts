// What apply says changed a fragment it rewrites or removes: the profile, a
// local edit, an install line of another file, or the policy's version. Each
// case through the bundled command on a fake root, text and --json.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { fragmentName } from "../../src/policy/fragment.ts";
import { ADMIN, STATE, VENDOR, apply, applyJson, makePolicy, writeConfig } from "./helpers.ts";

function reasonOf(json: { actions: { action: string; module: string; reason: string }[] }, action: string, module: string): string | undefined {
  return json.actions.find((a) => a.action === action && a.module === module)?.reason;
}

function fresh(t: { after(fn: () => void): void }, files: Record<string, string> = {}): FakeRoot {
  const root = createFakeRoot({ files });
  t.after(() => root.cleanup());
  return root;
}

test("a profile change is reported as the profile's, not the policy's", async (t) => {
  const root = fresh(t);
  writeConfig(root.dir, "profile: cis-l2\n");
  await applyJson(root.dir);
  writeConfig(root.dir, "profile: default\n");

  const { json } = await applyJson(root.dir, ["--dry-run"]);
  assert.equal(reasonOf(json, "update", "hfs"), "profile changed from cis-l2 to default: loading hfs by name goes through fsblacklist's hook again");
  assert.equal(reasonOf(json, "remove", "squashfs"), "profile changed from cis-l2 to default, which does not list squashfs");
  assert.ok(!json.actions.some((a) => /policy 1\.\d\.\d changed|no longer in policy/.test(a.reason)), JSON.stringify(json.actions, null, 1));

  const text = await apply(root.dir);
  assert.equal(text.status, 0, text.stderr);
  assert.match(text.stdout, /updated {2}usr\/lib\/modprobe\.d\/60-blacklist_fs-hfs\.conf \(hfs\): profile changed from cis-l2 to default: loading hfs by name goes through fsblacklist's hook again\n/);
  assert.match(text.stdout, /removed {2}usr\/lib\/modprobe\.d\/60-blacklist_fs-squashfs\.conf \(squashfs\): profile changed from cis-l2 to default, which does not list squashfs\n/);
  const state = JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8")) as { profile?: string };
  assert.equal(state.profile, "default", "the state records the profile applied");

  writeConfig(root.dir, "profile: cis-l1\n");
  const back = (await applyJson(root.dir)).json;
  assert.equal(reasonOf(back, "update", "hfs"), "profile changed from default to cis-l1: loading hfs by name fails (`install hfs /bin/false`)");
});

test("--profile for one run is a profile change too", async (t) => {
  const root = fresh(t);
  await applyJson(root.dir);
  const { json } = await applyJson(root.dir, ["--dry-run", "--profile", "cis-l2"]);
  assert.equal(reasonOf(json, "update", "jfs"), "profile changed from default to cis-l2: loading jfs by name fails (`install jfs /bin/false`)");
  assert.ok(reasonOf(json, "install", "squashfs") !== undefined, "squashfs is in cis-l2 only");
});

test("a state file of an older version (no profile recorded): the profile is told from the fragments it installed", async (t) => {
  const root = fresh(t);
  writeConfig(root.dir, "profile: cis-l2\n");
  await applyJson(root.dir);
  const statePath = path.join(root.dir, STATE);
  const { format: _format, profile: _profile, ...old } = JSON.parse(fs.readFileSync(statePath, "utf8")) as Record<string, unknown>;
  fs.writeFileSync(statePath, JSON.stringify(old, null, 2));
  writeConfig(root.dir, "profile: default\n");

  const { json } = await applyJson(root.dir);
  assert.equal(reasonOf(json, "update", "hfs"), "profile changed from cis-l2 to default: loading hfs by name goes through fsblacklist's hook again");
  assert.equal(reasonOf(json, "remove", "squashfs"), "profile changed from cis-l2 to default, which does not list squashfs");
  const state = JSON.parse(fs.readFileSync(statePath, "utf8")) as { format?: string; profile?: string };
  assert.equal(state.profile, "default");
  assert.equal(state.format, "fsblacklist-state-1");
  assert.equal((await applyJson(root.dir)).json.changed, false, "a second apply changes nothing");
});

test("a locally edited fragment is restored and said to be", async (t) => {
  const root = fresh(t);
  await applyJson(root.dir);
  const file = path.join(root.dir, VENDOR, fragmentName("minix"));
  fs.writeFileSync(file, fs.readFileSync(file, "utf8").replace(/^install .*\n/m, ""));

  const { json } = await applyJson(root.dir, ["--dry-run"]);
  assert.deepEqual(
    json.actions.map((a) => [a.action, a.module, a.reason]),
    [["update", "minix", "edited locally: restored the policy's text"]],
  );
  const text = await apply(root.dir);
  assert.match(text.stdout, /updated {2}usr\/lib\/modprobe\.d\/60-blacklist_fs-minix\.conf \(minix\): edited locally: restored the policy's text\n/);
  assert.match(fs.readFileSync(file, "utf8"), /^install minix /m);
});

test("a new policy version that changes a fragment says so with both versions", async (t) => {
  const v1 = makePolicy("1.0.0", [
    { module: "jfs", since: "1.0.0" },
    { module: "minix", since: "1.0.0" },
  ]);
  const v2 = makePolicy("1.1.0", [
    { module: "jfs", since: "1.0.0" },
    { module: "minix", since: "1.0.0" },
  ]);
  t.after(() => {
    v1.cleanup();
    v2.cleanup();
  });
  const minix = path.join(v2.dir, fragmentName("minix"));
  fs.writeFileSync(minix, fs.readFileSync(minix, "utf8").replace("# reason: minix for tests", "# reason: minix, reviewed again"));
  const root = fresh(t);
  writeConfig(root.dir, `policyDir: ${v1.dir}\n`);
  await applyJson(root.dir);
  writeConfig(root.dir, `policyDir: ${v2.dir}\n`);

  const { json } = await applyJson(root.dir);
  assert.deepEqual(
    json.actions.map((a) => [a.action, a.module, a.reason]),
    [["update", "minix", "policy 1.0.0 -> 1.1.0 changed this fragment"]],
    "jfs's text is the same in 1.1.0: nothing to say about it",
  );
});

test("an install line of the administrator's that appears or goes is named as what changed the fragment", async (t) => {
  const root = fresh(t);
  await applyJson(root.dir);
  const hfsConf = path.join(root.dir, ADMIN, "hfs.conf");
  fs.mkdirSync(path.dirname(hfsConf), { recursive: true });
  fs.writeFileSync(hfsConf, "install hfs /bin/false\n");

  const appeared = (await applyJson(root.dir)).json;
  assert.equal(
    reasonOf(appeared, "update", "hfs"),
    "etc/modprobe.d/hfs.conf:1 `install hfs /bin/false` now matches hfs: the fragment keeps its blacklist line alone, so that line stays the one kmod runs",
  );

  fs.rmSync(hfsConf);
  const gone = (await applyJson(root.dir)).json;
  assert.equal(reasonOf(gone, "update", "hfs"), "etc/modprobe.d/hfs.conf:1 `install hfs /bin/false` no longer matches hfs: the fragment gets its install line back");
});
