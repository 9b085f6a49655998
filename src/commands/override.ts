// `fsblacklist allow|block|reset FS...`: plan the override files, show or write
// them. Refusals (an administrator's own file, a blacklist we do not manage)
// fail the whole run: exit 1 and nothing written.

import type { Context } from "../context.ts";
import { escapeMessage } from "../report/escape.ts";
import { RuntimeFailure } from "../errors.ts";
import { refusedChanges, type OverrideRequest } from "../decide/override-plan.ts";
import { checkOverrideNames, loadModuleNow, planAndApplyOverride, planOverride, type LoadResult } from "../services/overrides.ts";
import { requireRootToChange } from "../services/privileges.ts";
import { printOverrideDryRun, printOverrideResult } from "../report/override-report.ts";

interface OverrideOptions {
  dryRun?: boolean;
  now?: boolean;
}

export const runAllow = (ctx: Context, names: string[], options: OverrideOptions): Promise<number> => run(ctx, "allow", names, options);
export const runBlock = (ctx: Context, names: string[], options: OverrideOptions): Promise<number> => run(ctx, "block", names, options);
export const runReset = (ctx: Context, names: string[], options: OverrideOptions): Promise<number> => run(ctx, "reset", names, options);

async function run(ctx: Context, request: OverrideRequest, names: string[], options: OverrideOptions): Promise<number> {
  checkOverrideNames(names);
  const dryRun = options.dryRun === true;
  if (dryRun) {
    const plan = await planOverride(ctx, request, names);
    const refused = refusedChanges(plan);
    printOverrideDryRun(ctx, plan);
    if (refused.length > 0) throw refusal(refused.length, plan.changes.length, true);
    return 0;
  }
  requireRootToChange(ctx, request, [ctx.config.adminDir]);
  const outcome = await planAndApplyOverride(ctx, request, names);
  if (outcome.refused) {
    printOverrideResult(ctx, outcome.plan, { changed: false });
    throw refusal(refusedChanges(outcome.plan).length, outcome.plan.changes.length, false);
  }
  const { plan, changed, initramfs } = outcome;
  const loads: LoadResult[] = [];
  if (request === "allow" && options.now === true) {
    for (const change of plan.changes) loads.push(await loadModuleNow(ctx, change.module));
  }
  printOverrideResult(ctx, plan, { changed, loads, initramfs });
  // As after apply: the overrides stay written; the failed rebuild makes the run fail.
  const rebuildError = initramfs?.error ?? null;
  if (rebuildError !== null) ctx.stderr.write(`fsblacklist: ${escapeMessage(rebuildError)}\n`);
  const failed = loads.filter((l) => !l.ok);
  if (failed.length > 0) {
    throw new RuntimeFailure(
      `could not load ${failed.map((l) => `${l.module} (${l.error})`).join("; ")}`,
      `the override stays: ${failed.map((l) => l.module).join(", ")} ${failed.length === 1 ? "is" : "are"} no longer blacklisted and load${failed.length === 1 ? "s" : ""} when a mount or modprobe asks for ${failed.length === 1 ? "it" : "them"}`,
    );
  }
  return rebuildError === null ? 0 : 1;
}

function refusal(refused: number, total: number, dryRun: boolean): RuntimeFailure {
  const what = total === 1 ? "the change was refused" : `${refused} of ${total} changes were refused`;
  return new RuntimeFailure(`${what}; ${dryRun ? "a real run would write nothing" : "nothing was written"}`);
}
