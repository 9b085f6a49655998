// Making text safe for one terminal line. File contents and policy text reach
// the screen, and a stray escape sequence or tab would break the layout (or the
// terminal); names and states are ASCII or one-column symbols. The escaping is
// the one every text report uses (report/escape.ts).

import { escapeControl } from "../report/escape.ts";

export function pad(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length >= width) return text.slice(0, Math.max(0, width - 1)) + " ";
  return text + " ".repeat(width - text.length);
}

/** Tabs expanded to spaces (columns stay aligned), every other control character escaped as `status` and `explain` print it. */
export function printable(text: string): string {
  let out = "";
  for (const char of text) out += char === "\t" ? " ".repeat(8 - (out.length % 8)) : escapeControl(char);
  return out;
}

/** A value shown on one line: newlines become spaces. */
export function oneLine(text: string): string {
  return printable(text.replace(/[\r\n]+/g, " "));
}
