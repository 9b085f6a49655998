// `fsblacklist review`: the interactive UI. Ink and React load only here, and
// only once a terminal is there to draw on.

import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { mayChangeSystem } from "../services/privileges.ts";
import { computeStatus } from "../services/status.ts";

const WITHOUT_A_TERMINAL =
  "use `fsblacklist status` to see every filesystem and its state, and `fsblacklist allow FS...`, `fsblacklist block FS...` or `fsblacklist reset FS...` to change it";

/**
 * Ink's layout engine (yoga-layout) reads its inlined WebAssembly through
 * `fetch` whenever there is one, which makes Node start its HTTP client first
 * (about a third of the UI's load time here). Without `fetch` it decodes the
 * same bytes directly, so `fetch` is hidden while the UI's modules load.
 */
async function loadUi() {
  const { fetch } = globalThis;
  Reflect.set(globalThis, "fetch", undefined);
  try {
    return await Promise.all([import("../tui/run-review.tsx"), import("../tui/review-services.ts")]);
  } finally {
    globalThis.fetch = fetch;
  }
}

export async function run(ctx: Context): Promise<number> {
  if (ctx.json) throw new UsageError("review is interactive and prints no JSON", "use `fsblacklist status --json`");
  // Ink reads keys from stdin and draws on stdout: both must be the terminal.
  if (process.stdin.isTTY !== true || !ctx.stdout.isTTY) {
    throw new UsageError("review needs an interactive terminal (stdin and stdout must both be one)", WITHOUT_A_TERMINAL);
  }
  // Ink only prints a final frame when it believes it runs in CI (it reads these
  // when it loads); at a real terminal the review is interactive regardless.
  delete process.env["CI"];
  delete process.env["CONTINUOUS_INTEGRATION"];
  const ui = loadUi();

  // Same rule as allow/block/reset; without it the UI explains why when the user applies.
  const canApply = mayChangeSystem(ctx);
  const { report } = computeStatus(ctx);
  const [{ runReview }, { overrideServices }] = await ui;
  const applied: string[] = [];
  const services = overrideServices(ctx, async () => computeStatus(ctx).report, (summary) => applied.push(...summary));
  await runReview({ report, services, canApply, colour: ctx.colour }, { stdin: process.stdin, stdout: process.stdout, stderr: process.stderr });
  for (const line of applied) ctx.stdout.write(`${line}\n`);
  return 0;
}
