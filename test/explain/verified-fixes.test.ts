// The evidence for "every fix explain prints works": the generated table of
// layered configurations of test/explain/layered-configs.ts (blockers in every
// directory, several install lines, globs, dependencies, the command line with
// files, continued lines, `alias ... off`, /dev/null masks, the cis profile, our
// own block override). For each one the test runs explain's fix commands in
// order under the root (a boot loader step: proc/cmdline becomes what explain
// says the next boot gets), each must exit 0 and touch only the administrator's
// files in etc, run or usr/local/lib modprobe.d, never fsblacklist's
// 60-blacklist_fs-* files, unless it is `fsblacklist allow`; the real kmod must
// then load the module for fs-TYPE (modprobe --show-depends), and explain must
// then say not-blocked. The one-time command is run the same way with kmod's
// dry run (-n -v), each module it loads marked live in the root's sys/module
// for the next command. FSB_FIX_CASES sets how many configurations (default
// 44); under `npm test` a sample of them runs (test/helpers/tier.ts), all of
// them under test:evidence.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { canRunOracle, kmodLoads } from "../facts/modprobe-oracle.ts";
import { sampled } from "../helpers/tier.ts";
import { assertStepTouchesOnlyAdminFiles, build, CASES, changedFiles, explain, fsblacklistOnPath, generate, runOnce, showDepends, snapshot } from "./layered-configs.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const RUN = sampled(
  Array.from({ length: CASES }, (_, n) => n),
  4,
);
const TITLE = RUN.length === CASES ? `${CASES} layered configurations` : `${RUN.length} of ${CASES} layered configurations`;

test(`explain's fixes, run in order under the root, make the real kmod load the module (${TITLE})`, { skip: skipOracle }, async (t) => {
  const bin = fsblacklistOnPath();
  t.after(() => rmSync(bin, { recursive: true, force: true }));
  let fixed = 0;
  let once = 0;
  for (const n of RUN) {
    const c = generate(n);
    const root = build(c);
    try {
      const { type } = c.target;
      const before = await explain(root, type);
      if (before.cause === "not-blocked") continue;
      assert.ok(before.fixSteps.length > 0, `${c.title}: explain prints no verified fix (${before.cause}): ${before.advice}\n${before.evidence.join("\n")}`);
      assert.equal(kmodLoads(showDepends(root, type), readFileSync(path.join(root.dir, "proc/cmdline"), "utf8")), false, `${c.title}: kmod blocks it to begin with`);

      // The one-time command first, on this boot (nothing changed yet).
      if (before.once !== null) {
        runOnce(root, before.once);
        once++;
        rmSync(path.join(root.dir, "sys/module"), { recursive: true, force: true });
        mkdirSync(path.join(root.dir, "sys/module"));
      }

      for (const step of before.fixSteps) {
        if (step.kind === "boot") {
          // The reboot: the boot loader hands the kernel the line explain said.
          assert.ok(step.cmdline !== undefined, `${c.title}: a boot step says which command line follows`);
          writeFileSync(path.join(root.dir, "proc/cmdline"), step.cmdline);
          continue;
        }
        const files = snapshot(root);
        const run = spawnSync("sh", ["-c", step.command], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env["PATH"]}`, NO_COLOR: "1", DPKG_ROOT: "" } });
        assert.equal(run.status, 0, `${c.title}: ${step.command}: ${run.stderr}${run.stdout}`);
        assertStepTouchesOnlyAdminFiles(c.title, step.command, changedFiles(files, snapshot(root)));
      }
      const cmdline = readFileSync(path.join(root.dir, "proc/cmdline"), "utf8");
      const after = showDepends(root, type);
      assert.equal(kmodLoads(after, cmdline), true, `${c.title}: after ${before.fix.join(" ; ")}\nkmod: ${after.stdout}${after.stderr}`);
      assert.equal((await explain(root, type)).cause, "not-blocked", `${c.title}: explain after the fix`);
      fixed++;
    } finally {
      root.cleanup();
    }
  }
  assert.ok(fixed >= Math.min(40, RUN.length) * 0.9, `${fixed} of ${RUN.length} configurations were blocked and fixed`);
  assert.ok(once > 0, "one-time commands were run");
});
