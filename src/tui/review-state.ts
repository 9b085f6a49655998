// The review UI's state and every change to it, as one pure reducer. Components
// only render a state and dispatch actions; the two effects that touch the
// system (planning and applying) live in use-review.ts.

import { isInterrupt, keyToAction } from "./keys.ts";
import { planLines } from "./plan-lines.ts";
import type { KeyPress, ReviewReport, ReviewFilesystem, PendingAction, PendingChange, Message, ReviewState, ReviewAction, ViewSize } from "./review-model.ts";

export type {
  ReviewReport,
  ReviewFilesystem,
  PendingAction,
  PendingChange,
  FileChange,
  ApplyOutcome,
  ReviewPlan,
  Mode,
  ReviewExit,
  Message,
  ReviewState,
  ReviewAction,
  ViewSize,
} from "./review-model.ts";

export function initialState(report: ReviewReport, canApply: boolean, size: ViewSize = { rows: 10, pageRows: 10, drawable: true }): ReviewState {
  return {
    report,
    selected: report.filesystems[0]?.name ?? null,
    top: 0,
    rows: Math.max(1, size.rows),
    pageRows: Math.max(1, size.pageRows),
    drawable: size.drawable,
    filter: "",
    pending: {},
    mode: { kind: "browse" },
    message: null,
    canApply,
    ended: null,
  };
}

function matches(fs: ReviewFilesystem, filter: string): boolean {
  if (filter === "") return true;
  const needle = filter.toLowerCase();
  return [fs.name, fs.module ?? "", fs.state].some((field) => field.toLowerCase().includes(needle));
}

/** The filesystems the list shows, in report order. */
export function visibleFilesystems(state: ReviewState): ReviewFilesystem[] {
  return state.report.filesystems.filter((fs) => matches(fs, state.filter));
}

/** Index of the selected filesystem among the visible ones (0 when it is filtered out). */
export function cursorIndex(state: ReviewState): number {
  const index = visibleFilesystems(state).findIndex((fs) => fs.name === state.selected);
  return Math.max(0, index);
}

export function selectedFilesystem(state: ReviewState): ReviewFilesystem | null {
  return visibleFilesystems(state)[cursorIndex(state)] ?? null;
}

export function pendingChanges(state: ReviewState): PendingChange[] {
  // Report order, so that the plan and the summary read like the list.
  return state.report.filesystems.filter((fs) => state.pending[fs.name] !== undefined).map((fs) => ({ name: fs.name, action: state.pending[fs.name]! }));
}

/** What ending the review now would leave undone: changes marked but not written, or a confirmed write under way. */
export interface ReviewProgress {
  pending: readonly PendingChange[];
  writing: boolean;
}

export function progressOf(state: ReviewState): ReviewProgress {
  return { pending: pendingChanges(state), writing: state.mode.kind === "applying" };
}

/** Whether modprobe refuses the filesystem's alias request now; null when a blacklist cannot matter here. */
function isBlocking(fs: ReviewFilesystem): boolean | null {
  switch (fs.state) {
    case "blocked":
    case "pinned":
      return true;
    case "allowed":
    case "kept":
      return false;
    case "builtin":
    case "unavailable":
      return null;
  }
}

/** The commands that make the same changes without the UI (for non-root users and scripts). */
export function equivalentCommands(changes: readonly PendingChange[]): string[] {
  const byAction = new Map<PendingAction, string[]>();
  for (const change of changes) byAction.set(change.action, [...(byAction.get(change.action) ?? []), change.name]);
  return (["allow", "block", "reset"] as const).filter((action) => byAction.has(action)).map((action) => `fsblacklist ${action} ${byAction.get(action)!.join(" ")}`);
}

function withSelection(state: ReviewState, index: number): ReviewState {
  const visible = visibleFilesystems(state);
  if (visible.length === 0) return { ...state, top: 0 };
  const clamped = Math.min(Math.max(index, 0), visible.length - 1);
  return scrolled({ ...state, selected: visible[clamped]!.name }, clamped, visible.length);
}

/** The first row to show so that the cursor is on screen and the list does not scroll past its end. */
export function windowTop(top: number, cursor: number, count: number, rows: number): number {
  let first = top;
  if (cursor < first) first = cursor;
  if (cursor >= first + rows) first = cursor - rows + 1;
  return Math.max(0, Math.min(first, Math.max(0, count - rows)));
}

function scrolled(state: ReviewState, cursor: number, count: number): ReviewState {
  return { ...state, top: windowTop(state.top, cursor, count, state.rows) };
}

function withFilter(state: ReviewState, filter: string): ReviewState {
  const next = { ...state, filter };
  const visible = visibleFilesystems(next);
  const keep = visible.findIndex((fs) => fs.name === state.selected);
  if (keep >= 0) return scrolled(next, keep, visible.length);
  return withSelection({ ...next, top: 0 }, 0);
}

function setPending(state: ReviewState, name: string, action: PendingAction | null): ReviewState {
  const pending = { ...state.pending };
  if (action === null) delete pending[name];
  else pending[name] = action;
  return { ...state, pending };
}

function toggle(state: ReviewState): ReviewState {
  const fs = selectedFilesystem(state);
  if (fs === null) return state;
  if (state.pending[fs.name] !== undefined) return setPending(state, fs.name, null);
  const blocking = isBlocking(fs);
  if (blocking === null) {
    const text =
      fs.state === "builtin" ? `${fs.name} is built into the kernel; a blacklist cannot stop it` : `${fs.name}: no module for this kernel (other kernels: fsblacklist allow|block ${fs.name})`;
    return { ...state, message: { tone: "info", text } };
  }
  return setPending(state, fs.name, blocking ? "allow" : "block");
}

function reset(state: ReviewState): ReviewState {
  const fs = selectedFilesystem(state);
  if (fs === null) return state;
  if (state.pending[fs.name] === "reset") return setPending(state, fs.name, null);
  if (fs.state === "blocked" || fs.state === "builtin") {
    const why = fs.state === "blocked" ? "already follows the vendor default" : "is built into the kernel";
    return { ...state, message: { tone: "info", text: `${fs.name} ${why}; nothing to reset` } };
  }
  return setPending(state, fs.name, "reset");
}

/** Scrolls the apply view, never past its last page. */
function scrollDiff(state: ReviewState, by: number): ReviewState {
  if (state.mode.kind !== "diff") return state;
  const last = Math.max(0, planLines(state.mode.plan).length - state.pageRows);
  const scroll = Math.max(0, Math.min(last, state.mode.scroll + by));
  return scroll === state.mode.scroll ? state : { ...state, mode: { ...state.mode, scroll } };
}

function browse(state: ReviewState, message: Message | null = null): ReviewState {
  return { ...state, mode: { kind: "browse" }, message };
}

/** A character that came inside a longer string, read as Ink reads it typed alone. */
function keyOf(char: string): { input: string; key: KeyPress } {
  if (char === "\r" || char === "\n") return { input: char, key: { return: true } };
  if (char === "\u007f" || char === "\b") return { input: char, key: { backspace: true } };
  if (char === "\t") return { input: char, key: { tab: true } };
  // Ctrl and a letter (Ctrl-C is \x03): the letter, with ctrl.
  const code = char.codePointAt(0)!;
  if (code >= 0x01 && code <= 0x1a) return { input: String.fromCharCode(code + 0x60), key: { ctrl: true } };
  return { input: char, key: {} };
}

export function reviewReducer(state: ReviewState, action: ReviewAction): ReviewState {
  // A message stays up until the next key; results of work replace it.
  const base: ReviewState = state.message === null ? state : { ...state, message: null };
  const count = visibleFilesystems(base).length;
  switch (action.type) {
    case "key": {
      // Keys typed faster than they are read arrive as one string (as a paste does): one at a time.
      if ([...action.input].length > 1) return [...action.input].reduce((next, char) => reviewReducer(next, { type: "key", ...keyOf(char) }), state);
      // What cannot be seen cannot be confirmed: in a window too small to draw in, only quitting works,
      // and the question it asks while changes are pending, which that window's one line shows.
      const quitting = action.input === "q" || action.key.escape === true || isInterrupt(action.input, action.key) || state.mode.kind === "quit-confirm";
      if (!state.drawable && !quitting) return state;
      const meant = keyToAction({ mode: state.mode.kind, filterActive: state.filter !== "" }, action.input, action.key);
      return meant === null ? state : reviewReducer(state, meant);
    }
    case "move":
      return withSelection(base, cursorIndex(base) + action.by);
    case "move-to":
      return withSelection(base, action.where === "first" ? 0 : count - 1);
    case "page":
      return withSelection(base, cursorIndex(base) + action.direction * Math.max(1, base.rows - 1));
    case "filter-start":
      return { ...base, mode: { kind: "filter" } };
    case "filter-type":
      return withFilter(base, base.filter + action.text);
    case "filter-erase":
      return withFilter(base, base.filter.slice(0, -1));
    case "filter-keep":
      return browse(base);
    case "filter-clear":
      return browse(withFilter(base, ""));
    case "toggle":
      return toggle(base);
    case "reset":
      return reset(base);
    case "details":
      return { ...base, mode: base.mode.kind === "details" ? { kind: "browse" } : { kind: "details" } };
    case "help":
      return { ...base, mode: base.mode.kind === "help" ? { kind: "browse" } : { kind: "help" } };
    case "close":
      return browse(base);
    case "apply-request":
      if (pendingChanges(base).length === 0) {
        return browse(base, { tone: "info", text: "Nothing to apply: mark changes with space (allow/block) or r (reset) first" });
      }
      return { ...base, mode: { kind: "planning" } };
    case "plan-ready":
      if (state.mode.kind !== "planning") return state;
      if (action.plan.files.length === 0 && action.plan.refused.length === 0) {
        const text = ["Nothing would change on disk", ...action.plan.notes].join("; ");
        return browse({ ...state, pending: {} }, { tone: "info", text });
      }
      return { ...state, mode: { kind: "diff", plan: action.plan, scroll: 0 } };
    case "plan-failed":
      if (state.mode.kind !== "planning") return state;
      return browse(state, { tone: "error", text: action.error });
    case "scroll":
      return scrollDiff(base, action.by);
    case "scroll-page":
      return scrollDiff(base, action.direction * Math.max(1, base.pageRows - 1));
    case "confirm":
      if (base.mode.kind !== "diff") return base;
      if (base.mode.plan.refused.length > 0) {
        return { ...base, message: { tone: "error", text: "Cannot apply this: fsblacklist refuses part of it (the lines marked cannot); n goes back" } };
      }
      if (!base.canApply) {
        const commands = equivalentCommands(pendingChanges(base)).join("; ");
        return { ...base, message: { tone: "error", text: `Applying needs root: run fsblacklist review as root, or: ${commands}` } };
      }
      return { ...base, mode: { kind: "applying", plan: base.mode.plan } };
    case "cancel":
      if (base.mode.kind === "diff") return browse(base, { tone: "info", text: "Not applied; the changes are still pending" });
      return browse(base);
    case "applied": {
      if (state.mode.kind !== "applying") return state;
      const next = { ...state, report: action.outcome.report, pending: {} };
      const text = action.outcome.summary.length > 0 ? `Applied: ${action.outcome.summary.join("; ")}` : "Applied";
      return browse(withFilter(next, next.filter), { tone: "success", text });
    }
    case "apply-failed":
      if (state.mode.kind !== "applying") return state;
      return browse(state, { tone: "error", text: `Not applied: ${action.error}` });
    case "quit-request":
      if (pendingChanges(base).length > 0) return { ...base, mode: { kind: "quit-confirm", interrupted: false } };
      return { ...base, ended: "quit" };
    case "quit-confirm":
      return { ...base, ended: base.mode.kind === "quit-confirm" && base.mode.interrupted ? "interrupted" : "quit" };
    case "interrupt":
      // As q, from any view. Asked again at the question it quits without
      // writing (the command says what was dropped); a confirmed write under
      // way drops nothing and finishes whole, so the review ends at once.
      if (base.mode.kind !== "quit-confirm" && base.mode.kind !== "applying" && pendingChanges(base).length > 0) {
        return { ...base, mode: { kind: "quit-confirm", interrupted: true } };
      }
      return { ...base, ended: "interrupted" };
    case "resize": {
      // Not a key: the message stays.
      const rows = Math.max(1, action.rows);
      const pageRows = Math.max(1, action.pageRows);
      if (rows === state.rows && pageRows === state.pageRows && action.drawable === state.drawable) return state;
      const resized = scrollDiff({ ...state, rows, pageRows, drawable: action.drawable }, 0);
      return scrolled(resized, cursorIndex(resized), visibleFilesystems(resized).length);
    }
  }
}
