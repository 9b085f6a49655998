// Which key does what, in each mode. Pure, so the key map is table-tested and
// the help overlay is written from the same table the handler uses.

import type { KeyPress, Mode, ReviewAction } from "./review-model.ts";

export type { KeyPress } from "./review-model.ts";

export interface KeyContext {
  mode: Mode["kind"];
  filterActive: boolean;
}

/** The keys the help overlay lists. */
export const KEY_HELP: readonly (readonly [keys: string, what: string])[] = [
  ["↑ ↓  j k", "move"],
  ["PgUp PgDn  g G", "page, first, last"],
  ["/", "filter (type, Enter keeps it, Esc clears it)"],
  ["space", "mark allow / block (pending until applied)"],
  ["r", "mark reset: drop our override (pending)"],
  ["Enter", "details of the selected filesystem"],
  ["a", "apply: show the file changes, then confirm"],
  ["?", "this help"],
  ["q  Esc", "quit (Esc first clears a filter)"],
  ["Ctrl-C", "quit from any view, asking as q does (status 130)"],
];

/** Ctrl-C: in raw mode a key, not a signal. */
export function isInterrupt(input: string, key: KeyPress): boolean {
  return key.ctrl === true && input === "c";
}

function movement(input: string, key: KeyPress): ReviewAction | null {
  if (key.upArrow || input === "k") return { type: "move", by: -1 };
  if (key.downArrow || input === "j") return { type: "move", by: 1 };
  if (key.pageUp) return { type: "page", direction: -1 };
  if (key.pageDown) return { type: "page", direction: 1 };
  if (key.home || input === "g") return { type: "move-to", where: "first" };
  if (key.end || input === "G") return { type: "move-to", where: "last" };
  return null;
}

function marking(input: string): ReviewAction | null {
  if (input === " ") return { type: "toggle" };
  if (input === "r") return { type: "reset" };
  return null;
}

export function keyToAction(context: KeyContext, input: string, key: KeyPress): ReviewAction | null {
  // Whatever is on screen, even while work runs: the reducer decides what interrupting it means.
  if (isInterrupt(input, key)) return { type: "interrupt" };
  switch (context.mode) {
    case "browse":
      if (key.escape) return context.filterActive ? { type: "filter-clear" } : { type: "quit-request" };
      if (key.return) return { type: "details" };
      if (input === "/") return { type: "filter-start" };
      if (input === "a") return { type: "apply-request" };
      if (input === "?") return { type: "help" };
      if (input === "q") return { type: "quit-request" };
      return movement(input, key) ?? marking(input);
    case "filter":
      if (key.escape) return { type: "filter-clear" };
      if (key.return) return { type: "filter-keep" };
      if (key.backspace || key.delete) return { type: "filter-erase" };
      if (key.upArrow) return { type: "move", by: -1 };
      if (key.downArrow) return { type: "move", by: 1 };
      if (key.ctrl || key.meta || key.tab || input === "") return null;
      return { type: "filter-type", text: input };
    case "details":
      if (key.escape || key.return || input === "q") return { type: "close" };
      if (input === "?") return { type: "help" };
      return movement(input, key) ?? marking(input);
    case "help":
      return { type: "close" };
    case "diff":
      if (input === "y") return { type: "confirm" };
      if (input === "n" || input === "q" || key.escape) return { type: "cancel" };
      if (key.upArrow || input === "k") return { type: "scroll", by: -1 };
      if (key.downArrow || input === "j") return { type: "scroll", by: 1 };
      if (key.pageUp) return { type: "scroll-page", direction: -1 };
      if (key.pageDown || input === " ") return { type: "scroll-page", direction: 1 };
      if (key.home || input === "g") return { type: "scroll", by: -Infinity };
      if (key.end || input === "G") return { type: "scroll", by: Infinity };
      return null;
    case "quit-confirm":
      if (input === "y") return { type: "quit-confirm" };
      if (input === "n" || key.escape) return { type: "close" };
      return null;
    case "planning":
    case "applying":
      return null;
  }
}
