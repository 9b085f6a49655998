// `status --json` has summary counts a fleet gate can test without filters.

import { test } from "node:test";
import assert from "node:assert/strict";
import { runInProcess } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";

interface Doc {
  filesystems: { state: string; usedBy: string[] }[];
  summary: Record<string, number>;
}

test("the summary counts the filesystems by state and in use, and adds up", { skip: process.getuid?.() !== 0 && "needs root to apply on a root" }, async (t) => {
  const root = createFakeRoot({ loaded: ["jfs"] });
  t.after(() => root.cleanup());
  assert.equal((await runInProcess(["apply", "--root", root.dir])).status, 0);
  assert.equal((await runInProcess(["block", "minix", "--root", root.dir])).status, 0);
  const result = await runInProcess(["status", "--root", root.dir, "--json"]);
  assert.equal(result.status, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as Doc;
  const { total, inUse, staleImages, ...byState } = doc.summary;
  assert.deepEqual(Object.keys(byState), ["blocked", "pinned", "kept", "allowed", "builtin", "unavailable"]);
  assert.equal(total, doc.filesystems.length);
  assert.equal(
    Object.values(byState).reduce((a, b) => a + b, 0),
    total,
  );
  for (const [state, count] of Object.entries(byState)) assert.equal(count, doc.filesystems.filter((f) => f.state === state).length, state);
  assert.equal(byState["kept"], 1, "jfs is loaded");
  assert.equal(byState["pinned"], 1, "minix is blocked by the administrator");
  assert.ok(byState["blocked"]! >= 20, "the rest of the policy is blocked or not built for this kernel");
  assert.equal(inUse, doc.filesystems.filter((f) => f.usedBy.length > 0).length);
  assert.ok(inUse! >= 1);
  assert.equal(staleImages, 0);
});
