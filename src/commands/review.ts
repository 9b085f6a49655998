// `fsblacklist review`: the interactive UI. Ink and React load only here, and
// only once a terminal is there to draw on.

import { constants } from "node:os";
import type { Context } from "../context.ts";
import { escapeControl } from "../report/escape.ts";
import { RuntimeFailure, UsageError } from "../errors.ts";
import { mayChangeSystem } from "../services/privileges.ts";
import { computeStatus } from "../services/status.ts";
import type { ReviewEnd } from "../tui/run-review.tsx";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

const WITHOUT_A_TERMINAL = "use `fsblacklist status` to see every filesystem and its state, and `fsblacklist allow FS...`, `fsblacklist block FS...` or `fsblacklist reset FS...` to change it";

/**
 * Ink draws only a last frame, when it ends, if it believes it runs in CI: it
 * asks is-in-ci, whose module reads CI and CONTINUOUS_INTEGRATION once, when it
 * is evaluated, into a constant (chalk decides its colour support then too, and
 * under CI that is none). At a terminal the review is interactive whatever they
 * say, so they are hidden while the UI's modules load and put back right after:
 * what the review runs later (modprobe, the initramfs tool) inherits the user's
 * environment unchanged.
 */
const CI_VARIABLES = ["CI", "CONTINUOUS_INTEGRATION"] as const;

/**
 * Ink's layout engine (yoga-layout) reads its inlined WebAssembly through
 * `fetch` whenever there is one, which makes Node start its HTTP client first
 * (about a third of the UI's load time here). Without `fetch` it decodes the
 * same bytes directly, so `fetch` is hidden while the UI's modules load.
 */
async function loadUi() {
  const { fetch } = globalThis;
  const ci = CI_VARIABLES.map((name) => [name, process.env[name]] as const);
  Reflect.set(globalThis, "fetch", undefined);
  for (const name of CI_VARIABLES) delete process.env[name];
  try {
    return await Promise.all([import("../tui/import-review.ts").then((m) => m.importReview()), import("../tui/review-services.ts")]);
  } finally {
    globalThis.fetch = fetch;
    for (const [name, value] of ci) if (value !== undefined) process.env[name] = value;
  }
}

/**
 * Ctrl-C is a key in the review, not a signal, so the review exits instead of
 * dying of SIGINT, with the status a shell gives a command SIGINT ended: the
 * caller sees that the user broke off (`q` exits 0).
 */
const INTERRUPTED_STATUS = 128 + constants.signals.SIGINT;

function droppedMessage(pending: ReviewEnd["pending"]): string {
  const count = pending.length === 1 ? "1 pending change" : `${pending.length} pending changes`;
  return `${count} dropped (not written): ${pending.map((c) => `${c.action} ${c.name}`).join(", ")}`;
}

/** Said on stderr once a signal stopped the review and the screen is the shell's again. */
function stoppedMessage(end: ReviewEnd, failed: string | null): string {
  const stopped = `review stopped by ${end.signal}`;
  if (end.writing) return failed === null ? `${stopped} after writing the confirmed changes` : `${stopped}; writing the confirmed changes failed: ${failed}`;
  if (end.pending.length === 0) return `${stopped}; no changes were pending`;
  return `${stopped}; ${droppedMessage(end.pending)}`;
}

export async function run(ctx: Context): Promise<number> {
  if (ctx.json) throw new UsageError("review is interactive and prints no JSON", "use `fsblacklist status --json`");
  // Ink reads keys from stdin and draws on stdout: both must be the terminal.
  if (!ctx.stdin.isTTY || !ctx.stdout.isTTY) {
    throw new UsageError("review needs an interactive terminal (stdin and stdout must both be one)", WITHOUT_A_TERMINAL);
  }
  const ui = loadUi();

  // Same rule as allow/block/reset; without it the UI explains why when the user applies.
  const canApply = mayChangeSystem(ctx);
  const { report } = computeStatus(ctx);
  const [{ runReview }, { overrideServices }] = await ui;
  const applied: string[] = [];
  const services = overrideServices(
    ctx,
    async () => computeStatus(ctx).report,
    (summary) => applied.push(...summary),
  );
  const end = await runReview({ report, services, canApply, colour: ctx.colour }, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  // A confirmed write under way when the review ended finishes whole (under the lock) before we exit.
  const failed = end.writing ? await services.lastWrite() : null;
  for (const line of applied) ctx.stdout.write(`${escapeControl(line)}\n`);
  if (end.signal === null) {
    if (failed !== null) throw new RuntimeFailure(`writing the confirmed changes failed: ${failed}`);
    if (!end.interrupted) return 0;
    // Ctrl-C during a confirmed write drops nothing: the lines above say what it wrote.
    if (!end.writing && end.pending.length > 0) ctx.stderr.write(`fsblacklist: review interrupted (Ctrl-C); ${droppedMessage(end.pending)}\n`);
    return INTERRUPTED_STATUS;
  }
  ctx.stderr.write(`fsblacklist: ${stoppedMessage(end, failed)}\n`);
  // Now die of the signal, as its default action would have: the parent sees
  // that (a shell's status 128+n). An exit would also run Node's own reset of
  // the terminal, which aborts the process when the terminal has hung up.
  process.removeAllListeners(end.signal);
  process.kill(process.pid, end.signal);
  return 128 + constants.signals[end.signal]; // what the shell reports; the signal ends the process first
}
