// `uninstall --dry-run --json` carries a unified diff for each file it would
// remove. Checked with the real `patch`: the preview's diffs, applied to a copy
// of the applied root, give exactly the modprobe.d tree the real uninstall
// leaves (plain, then --purge with an administrator's allow and block).

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { fragmentName } from "../../src/policy/fragment.ts";
import { ADMIN, VENDOR, apply, settledContents } from "../apply/helpers.ts";
import { run, uninstallJson, type UninstallJson } from "./helpers.ts";

type Doc = UninstallJson;

/** The modprobe.d files of a root, every time of writing blanked. */
const modprobeTree = (root: string): Record<string, string> => settledContents(root, [VENDOR, ADMIN]);

/** Applies every diff of the document with patch(1) inside `dir`. */
function patchWith(dir: string, doc: Doc): void {
  const diffs = doc.actions.flatMap((a) => (a.diff === undefined ? [] : [a.diff])).join("");
  assert.notEqual(diffs, "", "the dry run carries diffs");
  execFileSync("patch", ["-p1", "--quiet", "--remove-empty-files", "-d", dir], { input: diffs });
}

test("uninstall's dry-run diffs, patched onto a copy of the root, give the tree uninstall leaves", { skip: process.getuid?.() !== 0 && "needs root to apply on a root" }, async (t) => {
  const root = createFakeRoot({
    loaded: ["jfs"],
    fstab: "/dev/sdb1 /mnt/old minix noauto 0 0\n",
    files: { [`${ADMIN}/local.conf`]: "options loop max_loop=8\n", [`${ADMIN}/${fragmentName("qnx6")}`]: "install qnx6 /bin/true\n" },
  });
  const copy = fs.mkdtempSync("/tmp/fsb-uninstall-copy-");
  t.after(() => {
    root.cleanup();
    fs.rmSync(copy, { recursive: true, force: true });
  });
  assert.equal((await apply(root.dir)).status, 0);
  assert.equal((await run(root.dir, ["allow", "ufs"])).status, 0);
  assert.equal((await run(root.dir, ["block", "hfs"])).status, 0);
  execFileSync("cp", ["-a", `${root.dir}/.`, copy]);
  const applied = modprobeTree(root.dir);

  for (const args of [[], ["--purge"]]) {
    const preview = (await uninstallJson(root.dir, ["--dry-run", ...args])) as Doc;
    assert.deepEqual(modprobeTree(root.dir), modprobeTree(copy), "the dry run wrote nothing");
    const removed = preview.actions.filter((a) => a.action === "remove");
    assert.ok(removed.length > 0);
    for (const a of preview.actions) {
      if (a.action === "remove") {
        assert.match(a.diff ?? "", new RegExp(`^--- a/${a.path.replace(/\./g, "\\.")}\n\\+\\+\\+ /dev/null\n@@ -1,\\d+ \\+0,0 @@\n`), a.path);
        assert.equal(a.diff!.split("\n").filter((l) => l.startsWith("-") && !l.startsWith("---")).length, applied[a.path]!.split("\n").length - 1, `${a.path}: every line removed`);
      } else assert.equal(a.diff, undefined, `${a.path} is left alone: no diff`);
    }
    patchWith(copy, preview);
    const real = (await uninstallJson(root.dir, args)) as Doc;
    assert.equal(real.changed, true);
    assert.deepEqual(
      real.actions.filter((a) => a.diff !== undefined),
      [],
      "a real run carries no diffs",
    );
    assert.deepEqual(modprobeTree(copy), modprobeTree(root.dir));
  }
  // What stays after --purge: the administrator's own files, nothing of fsblacklist's.
  assert.deepEqual(Object.keys(modprobeTree(root.dir)).sort(), [`${ADMIN}/${fragmentName("qnx6")}`, `${ADMIN}/local.conf`]);
  // Nothing left to remove: no diffs.
  const idle = (await uninstallJson(root.dir, ["--dry-run", "--purge"])) as Doc;
  assert.deepEqual(
    idle.actions.filter((a) => a.diff !== undefined),
    [],
  );
});
