// `apply --dry-run --json` and the overrides' dry runs carry a unified diff per
// file. Checked with the real `patch`: the preview's diffs, applied to a copy
// of the root, give exactly the files the real run then writes.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";

interface Doc {
  changed: boolean;
  actions: { action: string; path: string; diff?: string }[];
}

const json = async (args: string[]): Promise<Doc> => {
  const result = await runInProcess([...args, "--json"]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Doc;
};

/** The modprobe.d files, with a keep's date (the time of each run) left out. */
function tree(dir: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const sub of ["usr/lib/modprobe.d", "etc/modprobe.d"]) {
    const full = path.join(dir, sub);
    for (const name of fs.existsSync(full) ? fs.readdirSync(full) : [])
      out[`${sub}/${name}`] = fs.readFileSync(path.join(full, name), "utf8").replace(/^(# fsblacklist-date: ).*$/m, "$1(time of the run)");
  }
  return out;
}

/** Applies every diff of the document with patch(1) inside `dir`. */
function patchWith(dir: string, doc: Doc): void {
  const diffs = doc.actions.flatMap((a) => (a.diff === undefined ? [] : [a.diff])).join("");
  execFileSync("patch", ["-p1", "--quiet", "--remove-empty-files", "-d", dir], { input: diffs });
}

test("the dry run's diffs, patched onto a copy of the root, are what apply writes", { skip: process.getuid?.() !== 0 && "needs root to apply on a root" }, async (t) => {
  const root = createFakeRoot({ loaded: ["jfs"] });
  const copy = createFakeRoot({ loaded: ["jfs"] });
  t.after(() => {
    root.cleanup();
    copy.cleanup();
  });
  for (const extra of [[], ["--profile", "cis-l2"]]) {
    const preview = await json(["apply", "--dry-run", "--root", root.dir, ...extra]);
    assert.ok(preview.actions.filter((a) => a.action !== "skip").every((a) => a.diff !== undefined && a.diff.includes(`b/${a.path}\n`) === (a.action !== "remove")));
    patchWith(copy.dir, preview);
    assert.equal((await json(["apply", "--root", root.dir, ...extra])).changed, true);
    assert.deepEqual(tree(copy.dir), tree(root.dir));
  }
  // A real run and a no-op dry run carry no diffs.
  assert.deepEqual(
    (await json(["apply", "--dry-run", "--root", root.dir, "--profile", "cis-l2"])).actions.filter((a) => a.diff !== undefined),
    [],
  );

  const block = await json(["block", "hfs", "--dry-run", "--root", root.dir]);
  assert.match(block.actions[0]!.diff ?? "", /^--- \/dev\/null\n\+\+\+ b\/etc\/modprobe\.d\/60-blacklist_fs-hfs\.conf\n@@ /);
  patchWith(copy.dir, block);
  await json(["block", "hfs", "--root", root.dir]);
  assert.deepEqual(tree(copy.dir), tree(root.dir));
});
