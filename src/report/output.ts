// Writing results: one JSON document for scripts, diagnostics on stderr that name
// the file and line.

import type { Context } from "../context.ts";
import type { Diagnostic } from "../kmod/parse-config.ts";
import { escapeControl } from "./escape.ts";

export function writeJson(ctx: Context, value: unknown): void {
  ctx.stdout.write(JSON.stringify(value, null, 2) + "\n");
}

export interface ErrorFields {
  message: string;
  /** What to do about it; null when there is nothing to add. */
  hint: string | null;
  exitCode: number;
}

/**
 * The one document a failed `--json` run prints: `error` first, then what the run
 * knew (the plan, what was written), whose keys never replace the error.
 */
export function errorDocument(error: ErrorFields, report: Record<string, unknown> = {}): Record<string, unknown> {
  return { error, ...Object.fromEntries(Object.entries(report).filter(([key]) => key !== "error")) };
}

/** `--json` among the options, before a `--` that ends them (a value such as `--message --json` aside). */
export function jsonRequested(argv: readonly string[]): boolean {
  const end = argv.indexOf("--");
  return (end < 0 ? argv : argv.slice(0, end)).includes("--json");
}

/** Config text is kept as latin1 "binary strings"; JSON wants the UTF-8 reading of those bytes. */
export function binaryToText<T>(value: T): T {
  if (typeof value === "string") return Buffer.from(value, "latin1").toString("utf8") as T;
  if (Array.isArray(value)) return value.map((v) => binaryToText(v)) as T;
  if (value !== null && typeof value === "object") {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, binaryToText(v)])) as T;
  }
  return value;
}

export function formatDiagnostic(d: Diagnostic): string {
  const where = d.line !== undefined ? `${d.file}:${d.line}` : d.file;
  return `${where}: ${binaryToText(d.message)}`;
}

export function printDiagnostics(ctx: Context, diagnostics: readonly Diagnostic[]): void {
  for (const d of diagnostics) ctx.stderr.write(`fsblacklist: warning: ${escapeControl(formatDiagnostic(d))}\n`);
}
