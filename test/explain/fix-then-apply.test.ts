// The fix explain prints must survive the package hook: for the layered
// configurations of the verified-fixes test (test/explain/layered-configs.ts),
// run the printed fix under the root, then `fsblacklist apply` as a package
// upgrade would, then ask the real kmod: the filesystem still loads for
// fs-TYPE (apply did not restore a fragment the fix set aside, nor re-block a
// module `allow` lifted), a second apply changes nothing, and explain still
// says not-blocked. Under `npm test` a sample of the configurations runs
// (test/helpers/tier.ts), all of them under test:evidence.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { canRunOracle, kmodLoads } from "../facts/modprobe-oracle.ts";
import { sampled } from "../helpers/tier.ts";
import { build, CASES, explain, fsblacklistOnPath, generate, showDepends } from "./layered-configs.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const RUN = sampled(
  Array.from({ length: CASES }, (_, n) => n),
  4,
);
const TITLE = RUN.length === CASES ? `${CASES} layered configurations` : `${RUN.length} of ${CASES} layered configurations`;

test(`explain's fix, then apply: the real kmod still loads the filesystem (${TITLE})`, { skip: skipOracle }, async (t) => {
  const bin = fsblacklistOnPath();
  t.after(() => rmSync(bin, { recursive: true, force: true }));
  let applied = 0;
  for (const n of RUN) {
    const c = generate(n);
    const root = build(c);
    try {
      const { type } = c.target;
      const before = await explain(root, type);
      if (before.cause === "not-blocked") continue;
      assert.ok(before.fixSteps.length > 0, `${c.title}: explain prints a verified fix (${before.cause}): ${before.advice}`);
      for (const step of before.fixSteps) {
        if (step.kind === "boot") {
          writeFileSync(path.join(root.dir, "proc/cmdline"), step.cmdline!);
          continue;
        }
        const run = spawnSync("sh", ["-c", step.command], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env["PATH"]}`, NO_COLOR: "1", DPKG_ROOT: "" } });
        assert.equal(run.status, 0, `${c.title}: ${step.command}: ${run.stderr}${run.stdout}`);
      }
      const cmdline = readFileSync(path.join(root.dir, "proc/cmdline"), "utf8");
      assert.equal(kmodLoads(showDepends(root, type), cmdline), true, `${c.title}: kmod loads fs-${type} after the fix`);

      const apply = await runInProcess(["--root", root.dir, "apply", "--json"]);
      assert.equal(apply.status, 0, `${c.title}: apply: ${apply.stderr}${apply.stdout}`);
      const after = showDepends(root, type);
      assert.equal(kmodLoads(after, cmdline), true, `${c.title}: apply undid ${before.fix.join(" ; ")}:\n${apply.stdout}\nkmod: ${after.stdout}${after.stderr}`);
      const again = await runInProcess(["--root", root.dir, "apply", "--json"]);
      assert.equal((JSON.parse(again.stdout) as { changed: boolean }).changed, false, `${c.title}: a second apply changes nothing`);
      assert.equal((await explain(root, type)).cause, "not-blocked", `${c.title}: explain after the fix and apply`);
      applied++;
    } finally {
      root.cleanup();
    }
  }
  assert.ok(applied >= Math.min(40, RUN.length) * 0.9, `${applied} of ${RUN.length} configurations were fixed and applied over`);
});
