// The lines of the apply view: what the service refuses, each file's unified
// diff (the same diff as `allow --dry-run` prints), and the service's notes.
// Pure, so the reducer can bound the scrolling by the same count.

import { unifiedDiff } from "../report/override-report.ts";
import type { ReviewPlan } from "./review-model.ts";
import { oneLine } from "./text.ts";

export type LineKind = "heading" | "file" | "hunk" | "context" | "removed" | "added" | "note" | "refused";

export interface ViewLine {
  kind: LineKind;
  text: string;
}

function heading(before: string | null, after: string | null): string {
  if (before === null) return "create";
  if (after === null) return "remove";
  return "change";
}

function diffLines(path: string, before: string | null, after: string | null): ViewLine[] {
  const lines = unifiedDiff(path, before, after).split("\n");
  if (lines[lines.length - 1] === "") lines.pop();
  return lines.map((text, index): ViewLine => {
    if (index < 2) return { kind: "file", text };
    if (text.startsWith("@@")) return { kind: "hunk", text };
    if (text.startsWith("-")) return { kind: "removed", text };
    if (text.startsWith("+")) return { kind: "added", text };
    if (text.startsWith("\\")) return { kind: "note", text };
    return { kind: "context", text };
  });
}

/** Every line the view can show: refusals, then each file's heading and diff, then the notes. */
export function planLines(plan: ReviewPlan): ViewLine[] {
  const lines: ViewLine[] = plan.refused.map((text) => ({ kind: "refused", text: `cannot: ${oneLine(text)}` }));
  for (const file of plan.files) {
    lines.push({ kind: "heading", text: `${heading(file.before, file.after)} ${oneLine(file.path)}` });
    lines.push(...diffLines(file.path, file.before, file.after));
  }
  for (const note of plan.notes) lines.push({ kind: "note", text: `note: ${oneLine(note)}` });
  return lines;
}

/** The first line shown, so that the view never scrolls past the end. */
export function clampScroll(scroll: number, total: number, height: number): number {
  return Math.max(0, Math.min(scroll, total - height));
}
