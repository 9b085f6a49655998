// How states and pending changes look. Every state has a word and a symbol, so
// that the list reads the same without colour (NO_COLOR, dumb terminals).

import type { FsState } from "../model.ts";
import type { PendingAction } from "./review-state.ts";

export interface Look {
  symbol: string;
  /** An Ink colour name, used only when colour is on. */
  colour: string;
}

export const STATE_LOOK: Readonly<Record<FsState, Look>> = {
  blocked: { symbol: "✗", colour: "red" },
  pinned: { symbol: "✗", colour: "magenta" },
  allowed: { symbol: "✓", colour: "green" },
  kept: { symbol: "✓", colour: "yellow" },
  builtin: { symbol: "◆", colour: "cyan" },
  unavailable: { symbol: "-", colour: "gray" },
};

export const STATE_LABEL: Readonly<Record<FsState, string>> = {
  blocked: "blocked",
  pinned: "pinned",
  allowed: "allowed",
  kept: "kept",
  builtin: "built in",
  unavailable: "unavailable",
};

export const STATE_MEANING: Readonly<Record<FsState, string>> = {
  blocked: "the policy blacklists it; mount cannot auto-load it",
  pinned: "blocked by an admin's `block`; apply never lifts it",
  allowed: "loads on demand",
  kept: "the policy blocks it, but it is in use here, so it is kept loadable",
  builtin: "built into the kernel; a blacklist cannot stop it",
  unavailable: "no module for the running kernel",
};

export const PENDING_LOOK: Readonly<Record<PendingAction, string>> = {
  allow: "→ allow",
  block: "→ block",
  reset: "→ reset",
};

/** "L M F" columns: loaded, mounted, in fstab; a dot for no. */
export function usageFlags(flags: { loaded: boolean; mounted: boolean; inFstab: boolean }): string {
  return [flags.loaded ? "L" : "·", flags.mounted ? "M" : "·", flags.inFstab ? "F" : "·"].join(" ");
}

/** Props for an Ink Text: the colour only when colour is on (and there is one). */
export function tint(colour: boolean, color: string | undefined): { color?: string } {
  return colour && color !== undefined ? { color } : {};
}
