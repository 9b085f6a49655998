// What a killed run leaves: a temporary file named by RootFs.writeFileAtomic.
// The next apply recognises it by that name (system/atomic-temp.ts), removes it
// when its writer is dead, and never mistakes one for a fragment or an override.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { atomicTempWriter } from "../../src/system/atomic-temp.ts";
import { ADMIN, VENDOR, applySpawned, applyJson } from "./helpers.ts";

test("a temporary file of a killed run is removed by the next apply; one of a live writer is left alone", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  // Killed right after its first temporary file was created.
  const killed = applySpawned(root.dir, [], { FSBLACKLIST_TEST_CRASH_AFTER: "1" });
  assert.notEqual(killed.status, 0);
  const left = fs.readdirSync(path.join(root.dir, VENDOR)).filter((name) => atomicTempWriter(name) !== null);
  assert.equal(left.length, 1, `one temporary file: ${fs.readdirSync(path.join(root.dir, VENDOR)).join(", ")}`);
  assert.ok(Number.isInteger(atomicTempWriter(left[0]!)));

  const live = `.60-blacklist_fs-jfs.conf.fsblacklist-${process.pid}-1.tmp`;
  assert.equal(atomicTempWriter(live), process.pid);
  fs.mkdirSync(path.join(root.dir, ADMIN), { recursive: true });
  fs.writeFileSync(path.join(root.dir, ADMIN, live), "half written");

  const { json } = await applyJson(root.dir);
  assert.ok(json.notes.includes("removed 1 temporary file(s) left by an interrupted run"), json.notes.join("\n"));
  assert.equal(fs.existsSync(path.join(root.dir, VENDOR, left[0]!)), false);
  assert.ok(fs.existsSync(path.join(root.dir, ADMIN, live)), "a live writer's file stays");
  assert.ok(
    json.actions.every((a) => !a.path.includes(".tmp")),
    "never taken for a fragment or an override",
  );
  assert.equal(atomicTempWriter("60-blacklist_fs-jfs.conf"), null);
});
