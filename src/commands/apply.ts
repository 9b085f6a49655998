// `fsblacklist apply`: the package hooks' entry point. Never prompts (--yes is
// accepted for scripts that pass it anyway).

import type { Context } from "../context.ts";
import { RuntimeFailure } from "../errors.ts";
import { applyPolicy } from "../services/apply.ts";
import { applyJson, renderApplyText } from "../report/apply-report.ts";
import { writeJson } from "../report/output.ts";
import { bootBlockMessage } from "../report/initramfs-report.ts";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

export async function run(ctx: Context, _args: string[], options: Record<string, unknown>): Promise<number> {
  const result = await applyPolicy(ctx, { dryRun: options["dryRun"] === true });
  const failed = result.initramfs.error;
  // A failed rebuild fails the run; the JSON document is then the error with this report.
  if (!ctx.json) ctx.stdout.write(renderApplyText(result));
  else if (failed === null) writeJson(ctx, applyJson(result));
  for (const image of result.images) {
    for (const block of image.bootBlocked) ctx.stderr.write(`fsblacklist: error: ${bootBlockMessage(image, block)}\n`);
  }
  if (failed === null) return 0;
  throw new RuntimeFailure(failed, undefined, { report: applyJson(result) });
}
