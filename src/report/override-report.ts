// Output of `allow`, `block` and `reset`: one line per filesystem for people,
// a unified diff for --dry-run, the JSON document for scripts.

import type { Context } from "../context.ts";
import type { OverrideChange, OverridePlan } from "../decide/override-plan.ts";
import type { InitramfsReport } from "../services/initramfs.ts";
import type { LoadResult } from "../services/overrides.ts";
import { escapeControl } from "./escape.ts";
import { initramfsLine } from "./initramfs-report.ts";

/** The JSON document of PRODUCT.md's `apply --json` shape, for overrides. */
export function overrideJson(plan: OverridePlan, options: { dryRun: boolean; changed: boolean; loads?: readonly LoadResult[]; initramfs?: InitramfsReport | null }): Record<string, unknown> {
  return {
    changed: options.changed,
    dryRun: options.dryRun,
    actions: plan.changes.map((c) => ({
      action: c.action,
      path: c.path,
      module: c.module,
      name: c.name,
      reason: c.reason,
      notes: c.notes,
      written: !options.dryRun && options.changed && isChange(c),
      ...(options.dryRun && isChange(c) ? { diff: unifiedDiff(c.path, c.before, c.after) } : {}),
    })),
    initramfsStale: options.dryRun ? options.changed && plan.changes.some((c) => c.affectsBlacklist) : (options.initramfs?.stale ?? false),
    ...(options.initramfs ? { initramfs: options.initramfs } : {}),
    ...(options.loads && options.loads.length > 0 ? { loaded: options.loads } : {}),
  };
}

/** "done": it was written; "dry-run": it would be; "withheld": it is not, because another change was refused. */
type Mode = "done" | "dry-run" | "withheld";

function changeLine(c: OverrideChange, mode: Mode): string {
  const who = c.name === c.module ? c.module : `${c.name} (module ${c.module})`;
  if (c.action === "unchanged") return `${who}: nothing to do: ${c.reason}`;
  if (c.action === "refused") return `${who}: refused: ${c.reason}`;
  const done = { allow: "allowed: wrote", block: "blocked: wrote", remove: "removed" }[c.action];
  const planned = { allow: "would allow: write", block: "would block: write", remove: "would remove" }[c.action];
  switch (mode) {
    case "done":
      return `${who}: ${done} ${c.path}: ${c.reason}`;
    case "dry-run":
      return `${who}: ${planned} ${c.path}: ${c.reason}`;
    case "withheld":
      return `${who}: not done, because nothing is written when a change is refused: ${planned} ${c.path}`;
  }
}

/** After the plan was carried out (or refused as a whole), for people; --json uses overrideJson(). */
export function printOverrideResult(ctx: Context, plan: OverridePlan, result: { changed: boolean; loads?: readonly LoadResult[]; initramfs?: InitramfsReport | null }): void {
  const { changed, loads = [], initramfs = null } = result;
  for (const c of plan.changes) {
    const out = c.action === "refused" ? ctx.stderr : ctx.stdout;
    out.write(`${escapeControl(changeLine(c, changed ? "done" : "withheld"))}\n`);
    for (const note of c.notes) out.write(`  note: ${escapeControl(note)}\n`);
  }
  const initramfsText = initramfs === null ? null : initramfsLine(initramfs, false);
  if (initramfsText !== null) ctx.stdout.write(`${initramfsText.split("\n").map(escapeControl).join("\n")}\n`);
  for (const load of loads) if (load.ok) ctx.stdout.write(`${load.module}: loaded now\n`);
}

/** --dry-run: what would change, as a diff, and nothing written. */
export function printOverrideDryRun(ctx: Context, plan: OverridePlan): void {
  for (const c of plan.changes) {
    ctx.stdout.write(`${escapeControl(changeLine(c, "dry-run"))}\n`);
    for (const note of c.notes) ctx.stdout.write(`  note: ${escapeControl(note)}\n`);
    if (isChange(c)) ctx.stdout.write(escapeLines(unifiedDiff(c.path, c.before, c.after)));
  }
  ctx.stdout.write("dry run: nothing was written\n");
}

/** Each line escaped, the line ends kept. */
function escapeLines(text: string): string {
  return text.split("\n").map(escapeControl).join("\n");
}

export function isChange(c: OverrideChange): boolean {
  return c.action === "allow" || c.action === "block" || c.action === "remove";
}

const CONTEXT_LINES = 3;

/**
 * A unified diff between two versions of a file (null = no file), as `diff -u`
 * would print it with /dev/null for a missing side.
 */
export function unifiedDiff(path: string, before: string | null, after: string | null): string {
  const a = splitLines(before);
  const b = splitLines(after);
  const ops = diffLines(a, b);
  let out = `--- ${before === null ? "/dev/null" : `a/${path}`}\n+++ ${after === null ? "/dev/null" : `b/${path}`}\n`;
  // Group the edit script into hunks with CONTEXT_LINES of context around changes.
  let i = 0;
  while (i < ops.length) {
    if (ops[i]!.op === " ") {
      i++;
      continue;
    }
    let start = i;
    let context = 0;
    while (start > 0 && context < CONTEXT_LINES && ops[start - 1]!.op === " ") {
      start--;
      context++;
    }
    let end = i;
    for (;;) {
      while (end < ops.length && ops[end]!.op !== " ") end++;
      let run = 0;
      while (end + run < ops.length && ops[end + run]!.op === " ") run++;
      const more = end + run < ops.length;
      if (more && run <= 2 * CONTEXT_LINES) {
        end += run;
        continue;
      }
      end += Math.min(run, CONTEXT_LINES);
      break;
    }
    const hunk = ops.slice(start, end);
    const first = ops[start]!;
    const aCount = hunk.filter((o) => o.op !== "+").length;
    const bCount = hunk.filter((o) => o.op !== "-").length;
    const range = (line: number, count: number): string => (count === 1 ? `${line}` : `${count === 0 ? line - 1 : line},${count}`);
    out += `@@ -${range(first.aLine, aCount)} +${range(first.bLine, bCount)} @@\n`;
    for (const o of hunk) out += `${o.op}${o.text}\n${o.noNewline ? "\\ No newline at end of file\n" : ""}`;
    i = end;
  }
  return out;
}

interface Line {
  text: string;
  noNewline: boolean;
}

function splitLines(text: string | null): Line[] {
  if (text === null || text === "") return [];
  const parts = text.split("\n");
  const last = parts.pop()!;
  const lines = parts.map((t) => ({ text: t, noNewline: false }));
  if (last !== "") lines.push({ text: last, noNewline: true });
  return lines;
}

interface Op {
  op: " " | "-" | "+";
  text: string;
  noNewline: boolean;
  /** 1-based line numbers in a and b where this op stands. */
  aLine: number;
  bLine: number;
}

/** Longest-common-subsequence edit script; override files are a few dozen lines. */
function diffLines(a: readonly Line[], b: readonly Line[]): Op[] {
  const same = (x: Line, y: Line): boolean => x.text === y.text && x.noNewline === y.noNewline;
  const lcs: number[][] = Array.from({ length: a.length + 1 }, () => new Array<number>(b.length + 1).fill(0));
  for (let i = a.length - 1; i >= 0; i--) {
    for (let j = b.length - 1; j >= 0; j--) {
      lcs[i]![j] = same(a[i]!, b[j]!) ? lcs[i + 1]![j + 1]! + 1 : Math.max(lcs[i + 1]![j]!, lcs[i]![j + 1]!);
    }
  }
  const ops: Op[] = [];
  let i = 0;
  let j = 0;
  while (i < a.length || j < b.length) {
    if (i < a.length && j < b.length && same(a[i]!, b[j]!)) {
      ops.push({ op: " ", ...a[i]!, aLine: i + 1, bLine: j + 1 });
      i++;
      j++;
    } else if (i < a.length && (j >= b.length || lcs[i + 1]![j]! >= lcs[i]![j + 1]!)) {
      ops.push({ op: "-", ...a[i]!, aLine: i + 1, bLine: j + 1 });
      i++;
    } else {
      ops.push({ op: "+", ...b[j]!, aLine: i + 1, bLine: j + 1 });
      j++;
    }
  }
  return ops;
}
