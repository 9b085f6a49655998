// `fsblacklist apply`: the package hooks' entry point. Never prompts (--yes is
// accepted for scripts that pass it anyway).

import type { Context } from "../context.ts";
import { escapeMessage } from "../report/escape.ts";
import { applyPolicy } from "../services/apply.ts";
import { applyJson, renderApplyText } from "../report/apply-report.ts";
import { writeJson } from "../report/output.ts";
import { bootBlockMessage } from "../report/initramfs-report.ts";

export async function run(ctx: Context, _args: string[], options: Record<string, unknown>): Promise<number> {
  const result = await applyPolicy(ctx, { dryRun: options["dryRun"] === true });
  if (ctx.json) writeJson(ctx, applyJson(result));
  else ctx.stdout.write(renderApplyText(result));
  for (const image of result.images) {
    for (const block of image.bootBlocked) ctx.stderr.write(`fsblacklist: error: ${bootBlockMessage(image, block)}\n`);
  }
  if (result.initramfs.error === null) return 0;
  ctx.stderr.write(`fsblacklist: ${escapeMessage(result.initramfs.error)}\n`);
  return 1;
}
