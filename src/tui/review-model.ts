// The review UI's model: what it shows, what the user can do, and the state the
// reducer (review-state.ts) keeps. Types only, so the key map, the diff lines
// and the reducer all read it without importing each other.

import type { Key } from "ink";
import type { FilesystemStatusDetail, StatusResult } from "../services/status.ts";

export type KeyPress = Partial<Pick<Key, "upArrow" | "downArrow" | "pageUp" | "pageDown" | "home" | "end" | "return" | "escape" | "backspace" | "delete" | "ctrl" | "meta" | "tab">>;

/** What `status` reports, with its phrase saying why each state. */
export type ReviewReport = StatusResult["report"];
export type ReviewFilesystem = FilesystemStatusDetail;

export type PendingAction = "allow" | "block" | "reset";

export interface PendingChange {
  name: string;
  action: PendingAction;
}

/** One file the plan writes or removes; null stands for "does not exist". */
export interface FileChange {
  path: string;
  before: string | null;
  after: string | null;
}

export interface ApplyOutcome {
  report: ReviewReport;
  /** What was done, one line each ("allow jfs: wrote etc/modprobe.d/..."). */
  summary: string[];
}

/** The exact changes the overrides service would make, and how to make them. */
export interface ReviewPlan {
  files: FileChange[];
  /** What the service says besides the file changes (nothing to do, in-use warnings). */
  notes: string[];
  /** Changes the service refuses (an administrator's own file ...); the plan cannot be applied then. */
  refused: string[];
  apply(): Promise<ApplyOutcome>;
}

export type Mode =
  | { kind: "browse" }
  | { kind: "filter" }
  | { kind: "details" }
  | { kind: "help" }
  | { kind: "planning" }
  | { kind: "diff"; plan: ReviewPlan; scroll: number }
  | { kind: "applying"; plan: ReviewPlan }
  /** Asked by q or Esc, or by Ctrl-C (`interrupted`); y ends the review as it was asked to end. */
  | { kind: "quit-confirm"; interrupted: boolean };

/**
 * How the user ended the review: with q or Esc, or interrupted with Ctrl-C
 * (whether at once, at its question, or by answering that question y).
 */
export type ReviewExit = "quit" | "interrupted";

export interface Message {
  tone: "info" | "success" | "error";
  text: string;
}

export interface ReviewState {
  report: ReviewReport;
  /** Name of the selected filesystem, kept across filtering. */
  selected: string | null;
  /** Index of the first list row shown. */
  top: number;
  /** How many list rows fit on screen. */
  rows: number;
  /** How many diff lines fit on screen in the apply view. */
  pageRows: number;
  /** The window is big enough to draw in; when it is not, only quitting works. */
  drawable: boolean;
  filter: string;
  pending: Readonly<Record<string, PendingAction>>;
  mode: Mode;
  message: Message | null;
  /** Writing needs root; without it browsing works and applying explains why not. */
  canApply: boolean;
  /** Set once the user has ended the review. */
  ended: ReviewExit | null;
}

export type ReviewAction =
  /** A key, read against the state it arrives in (keys typed faster than frames are drawn). */
  | { type: "key"; input: string; key: KeyPress }
  | { type: "move"; by: number }
  | { type: "move-to"; where: "first" | "last" }
  | { type: "page"; direction: 1 | -1 }
  | { type: "filter-start" }
  | { type: "filter-type"; text: string }
  | { type: "filter-erase" }
  | { type: "filter-keep" }
  | { type: "filter-clear" }
  | { type: "toggle" }
  | { type: "reset" }
  | { type: "details" }
  | { type: "help" }
  | { type: "close" }
  | { type: "apply-request" }
  | { type: "plan-ready"; plan: ReviewPlan }
  | { type: "plan-failed"; error: string }
  | { type: "scroll"; by: number }
  | { type: "scroll-page"; direction: 1 | -1 }
  | { type: "confirm" }
  | { type: "cancel" }
  | { type: "applied"; outcome: ApplyOutcome }
  | { type: "apply-failed"; error: string }
  | { type: "quit-request" }
  | { type: "quit-confirm" }
  | { type: "interrupt" }
  | { type: "resize"; rows: number; pageRows: number; drawable: boolean };

export interface ViewSize {
  rows: number;
  pageRows: number;
  drawable: boolean;
}
