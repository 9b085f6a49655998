// `fsblacklist audit [--benchmark cis-l1|cis-l2]`: the benchmark's kernel-module
// rules judged from what kmod enforces. Exit 0 when every rule passes, 1 when one fails.

import type { Context } from "../context.ts";
import { chooseBenchmark, runAudit } from "../services/audit.ts";
import { auditExitCode, auditJson, renderAuditText } from "../report/audit-report.ts";
import { writeJson } from "../report/output.ts";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

export async function run(ctx: Context, _args: string[], options: { benchmark?: string } = {}): Promise<number> {
  const report = runAudit(ctx, chooseBenchmark(ctx, options.benchmark));
  if (ctx.json) writeJson(ctx, auditJson(report));
  else ctx.stdout.write(renderAuditText(report));
  return auditExitCode(report);
}
