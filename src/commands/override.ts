// `fsblacklist allow|block|reset FS...`: plan the override files, show or write
// them. Refusals (an administrator's own file, a blacklist we do not manage)
// fail the whole run: exit 1 and nothing written.

import type { Context } from "../context.ts";
import { escapeMessage } from "../report/escape.ts";
import { RuntimeFailure } from "../errors.ts";
import { refusedChanges, type OverrideRequest } from "../decide/override-plan.ts";
import { checkOverrideNames, loadModuleNow, planAndApplyOverride, planOverride, type LoadResult } from "../services/overrides.ts";
import { requireRootToChange } from "../services/privileges.ts";
import { isChange, overrideJson, printOverrideDryRun, printOverrideResult } from "../report/override-report.ts";
import { writeJson } from "../report/output.ts";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

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
    const failure = refused.length > 0 ? refusal(refused.length, plan.changes.length, true) : null;
    if (ctx.json) return finishJson(ctx, overrideJson(plan, { dryRun: true, changed: plan.changes.some(isChange) }), failure);
    printOverrideDryRun(ctx, plan);
    if (failure !== null) throw failure;
    return 0;
  }
  requireRootToChange(ctx, request, [ctx.config.adminDir]);
  const outcome = await planAndApplyOverride(ctx, request, names);
  if (outcome.refused) {
    const failure = refusal(refusedChanges(outcome.plan).length, outcome.plan.changes.length, false);
    if (ctx.json) return finishJson(ctx, overrideJson(outcome.plan, { dryRun: false, changed: false }), failure);
    printOverrideResult(ctx, outcome.plan, { changed: false });
    throw failure;
  }
  const { plan, changed, initramfs } = outcome;
  const loads: LoadResult[] = [];
  if (request === "allow" && options.now === true) {
    for (const change of plan.changes) loads.push(await loadModuleNow(ctx, change.module));
  }
  // As after apply: the overrides stay written; a failed rebuild or load makes the run fail.
  const rebuildError = initramfs?.error ?? null;
  const failed = loads.filter((l) => !l.ok);
  const failure =
    failed.length > 0
      ? new RuntimeFailure(
          `could not load ${failed.map((l) => `${l.module} (${l.error})`).join("; ")}`,
          `the override stays: ${failed.map((l) => l.module).join(", ")} ${failed.length === 1 ? "is" : "are"} no longer blacklisted and load${failed.length === 1 ? "s" : ""} when a mount or modprobe asks for ${failed.length === 1 ? "it" : "them"}`,
        )
      : rebuildError !== null
        ? new RuntimeFailure(rebuildError)
        : null;
  if (ctx.json) return finishJson(ctx, overrideJson(plan, { dryRun: false, changed, loads, initramfs }), failure);
  printOverrideResult(ctx, plan, { changed, loads, initramfs });
  if (failure === null) return 0;
  if (failed.length > 0 && rebuildError !== null) ctx.stderr.write(`fsblacklist: ${escapeMessage(rebuildError)}\n`);
  throw failure;
}

/** One JSON document: the report, or the error with the report beside it. */
function finishJson(ctx: Context, report: Record<string, unknown>, failure: RuntimeFailure | null): number {
  if (failure === null) {
    writeJson(ctx, report);
    return 0;
  }
  failure.report = report;
  throw failure;
}

function refusal(refused: number, total: number, dryRun: boolean): RuntimeFailure {
  const what = total === 1 ? "the change was refused" : `${refused} of ${total} changes were refused`;
  return new RuntimeFailure(`${what}; ${dryRun ? "a real run would write nothing" : "nothing was written"}`);
}
