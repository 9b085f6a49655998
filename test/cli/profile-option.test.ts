// --profile NAME: one run under another profile than the configured one; with
// --dry-run a preview that writes nothing. An unknown profile is a usage error.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";

interface ApplyDoc {
  changed: boolean;
  profile: string;
  actions: { action: string; path: string; module: string }[];
}

const run = async (root: string, ...args: string[]): Promise<ApplyDoc> => {
  const result = await runInProcess(["apply", "--root", root, "--json", ...args]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as ApplyDoc;
};

test("--profile previews a profile change with --dry-run, then applies it for one run", { skip: process.getuid?.() !== 0 && "needs root to apply on a root" }, async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  assert.equal((await run(root.dir)).profile, "default");
  assert.equal((await run(root.dir)).changed, false);

  const vendor = path.join(root.dir, "usr/lib/modprobe.d");
  const before = fs.readdirSync(vendor).map((f) => [f, fs.readFileSync(path.join(vendor, f), "utf8")]);
  const preview = await run(root.dir, "--dry-run", "--profile", "cis-l2");
  assert.equal(preview.profile, "cis-l2");
  assert.equal(preview.changed, true);
  assert.ok(
    preview.actions.some((a) => a.action === "install" && a.module === "squashfs"),
    "cis-l2 adds squashfs",
  );
  assert.ok(
    preview.actions.some((a) => a.action === "update" && a.module === "jfs"),
    "and writes install X /bin/false",
  );
  assert.deepEqual(
    fs.readdirSync(vendor).map((f) => [f, fs.readFileSync(path.join(vendor, f), "utf8")]),
    before,
    "the preview wrote nothing",
  );

  const applied = await run(root.dir, "--profile", "cis-l2");
  assert.equal(applied.changed, true);
  assert.match(fs.readFileSync(path.join(vendor, "60-blacklist_fs-squashfs.conf"), "utf8"), /install squashfs \/bin\/false/);
  assert.equal((await run(root.dir, "--profile", "cis-l2")).changed, false, "a second run changes nothing");
});

test("an unknown --profile is a usage error (exit 2) naming the profiles", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  for (const command of ["apply", "status", "audit"]) {
    const result = await runInProcess([command, "--root", root.dir, "--profile", "paranoid", "--json"]);
    assert.equal(result.status, 2, `${command}: ${result.stderr}`);
    const doc = JSON.parse(result.stdout) as { error: { message: string; hint: string } };
    assert.match(doc.error.message, /--profile paranoid: unknown policy profile/);
    assert.match(doc.error.hint, /default, cis, cis-l1, cis-l2/);
  }
});
