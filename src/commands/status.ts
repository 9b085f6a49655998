// `fsblacklist status [FS...]`: the state of every policy filesystem (or those named).

import type { Context } from "../context.ts";
import { computeStatusWithImages } from "../services/status.ts";
import { bootBlockMessage } from "../report/initramfs-report.ts";
import { renderStatusTable, statusSummary } from "../report/status-table.ts";
import { printDiagnostics, writeJson } from "../report/output.ts";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

export async function run(ctx: Context, args: string[], options: { kernel?: string; allKernels?: boolean } = {}): Promise<number> {
  const result = await computeStatusWithImages(ctx, args, {
    ...(options.kernel === undefined ? {} : { kernel: options.kernel }),
    allKernels: options.allKernels === true,
  });
  if (ctx.json) writeJson(ctx, { ...result.report, summary: statusSummary(result.report) });
  else {
    ctx.stdout.write(renderStatusTable(result, { colour: ctx.colour, vendorDir: ctx.config.vendorDir, adminDir: ctx.config.adminDir, details: args.length > 0 }));
  }
  printDiagnostics(ctx, result.config.diagnostics);
  for (const image of result.report.initramfs ?? []) {
    for (const block of image.bootBlocked) ctx.stderr.write(`fsblacklist: error: ${bootBlockMessage(image, block)}\n`);
  }
  return 0;
}
