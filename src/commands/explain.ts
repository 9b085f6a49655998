// `fsblacklist explain [TARGET] [--type T] [--message TEXT]`: why a mount fails
// or would fail, and the fix. Exit 0 whenever a cause was found, including
// "nothing here blocks it".

import type { Context } from "../context.ts";
import { explain } from "../services/explain.ts";
import { printExplain } from "../report/explain-report.ts";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

export async function run(ctx: Context, args: string[], options: Record<string, unknown>): Promise<number> {
  const text = (key: string): string | null => (typeof options[key] === "string" ? (options[key] as string) : null);
  const report = await explain(ctx, { target: args[0] ?? null, type: text("type"), message: text("message"), cwd: ctx.cwd });
  printExplain(ctx, report);
  return 0;
}
