// `fsblacklist uninstall`: the package removal hooks' entry point. Removes what
// apply installed; the administrator's allow/block overrides stay unless --purge.

import type { Context } from "../context.ts";
import { RuntimeFailure } from "../errors.ts";
import { uninstall } from "../services/uninstall.ts";
import { renderUninstallText, uninstallJson } from "../report/uninstall-report.ts";
import { writeJson } from "../report/output.ts";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

export async function run(ctx: Context, _args: string[], options: Record<string, unknown>): Promise<number> {
  const result = await uninstall(ctx, { dryRun: options["dryRun"] === true, purge: options["purge"] === true });
  const failed = result.initramfs.error;
  // A failed rebuild fails the run; the JSON document is then the error with this report.
  if (!ctx.json) ctx.stdout.write(renderUninstallText(result));
  else if (failed === null) writeJson(ctx, uninstallJson(result));
  if (failed === null) return 0;
  throw new RuntimeFailure(failed, undefined, { report: uninstallJson(result) });
}
