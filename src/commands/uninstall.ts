// `fsblacklist uninstall`: the package removal hooks' entry point. Removes what
// apply installed; the administrator's allow/block overrides stay unless --purge.

import type { Context } from "../context.ts";
import { escapeMessage } from "../report/escape.ts";
import { uninstall } from "../services/uninstall.ts";
import { renderUninstallText, uninstallJson } from "../report/uninstall-report.ts";
import { writeJson } from "../report/output.ts";

export async function run(ctx: Context, _args: string[], options: Record<string, unknown>): Promise<number> {
  const result = await uninstall(ctx, { dryRun: options["dryRun"] === true, purge: options["purge"] === true });
  if (ctx.json) writeJson(ctx, uninstallJson(result));
  else ctx.stdout.write(renderUninstallText(result));
  if (result.initramfs.error === null) return 0;
  ctx.stderr.write(`fsblacklist: ${escapeMessage(result.initramfs.error)}\n`);
  return 1;
}
