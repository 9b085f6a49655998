// The modprobe hook's conversation (commands/modprobe-hook.ts decides whether
// to hold one at all): what blacklists the module, the question, and the
// override the answer asks for. The services load only once there is a person
// to ask, so the hook stays quick for everyone else.

import type { Context } from "../context.ts";
import type { Terminal } from "../system/terminal.ts";

const LOCK_TIMEOUT_MS = 5_000;
const MAX_ATTEMPTS = 3;

type Answer = "yes" | "no" | "never";

function parseAnswer(text: string): Answer | null {
  const word = text.trim().toLowerCase();
  if (word === "" || word === "n" || word === "no") return "no";
  if (word === "y" || word === "yes") return "yes";
  if (word === "v" || word === "never") return "never";
  return null;
}

/**
 * Says which line blacklists `module` and asks whether to un-blacklist it for
 * good (allow), keep asking (no) or never ask again (block), on the terminal.
 */
export async function converse(ctx: Context, module: string, tty: Terminal): Promise<void> {
  const { applyOverridePlan, planOverride } = await import("../services/overrides.ts");
  const { blacklistEntries } = await import("../decide/override-plan.ts");
  const { loadModprobeConfig } = await import("../services/modprobe-config.ts");
  const { parseMarker } = await import("../policy/marker.ts");
  const { config } = loadModprobeConfig(ctx);
  const first = blacklistEntries(config, module)[0];
  if (first === undefined) return; // nothing blacklists it: nothing to offer
  const where = first.source.file === "proc/cmdline" ? "the kernel command line" : `${first.source.file}:${first.source.line}`;
  const loadingAnyway = "will be loaded now anyway, because you asked for it by name";

  const allow = await planOverride(ctx, "allow", [module], { reason: `allowed at the prompt of \`modprobe ${module}\`` });
  const change = allow.changes[0]!;
  if (change.before !== null && parseMarker(change.before)?.kind === "block") {
    // "never" was answered before (or `fsblacklist block`): do not ask again.
    tty.write(`fsblacklist: ${module} is blacklisted by ${where} (pinned by fsblacklist block) and ${loadingAnyway}.\n`);
    return;
  }
  tty.write(`fsblacklist: ${module} is blacklisted by ${where} and ${loadingAnyway}.\n`);
  if (change.action !== "allow") {
    tty.write(`fsblacklist cannot un-blacklist it: ${change.reason}.\n`);
    return;
  }

  let answer: Answer | null = null;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && answer === null; attempt++) {
    tty.write(`Un-blacklist ${module} permanently? [y]es / [n]o / ne[v]er: `);
    const line = tty.readLine();
    if (line === null) {
      tty.write("\n");
      answer = "no";
    } else answer = parseAnswer(line);
  }
  if (answer === null || answer === "no") {
    tty.write(`Nothing changed: ${module} stays blacklisted and is loaded this time only.\n`);
    return;
  }
  const plan = answer === "yes" ? allow : await planOverride(ctx, "block", [module], { reason: `"never" answered at the prompt of \`modprobe ${module}\`` });
  await applyOverridePlan(ctx, plan, { lockTimeoutMs: LOCK_TIMEOUT_MS, rebuildInitramfs: false });
  const written = plan.changes[0]!;
  tty.write(
    answer === "yes"
      ? `Wrote ${written.path}: ${module} is no longer blacklisted (undo with: fsblacklist reset ${module}).\n`
      : `Wrote ${written.path}: ${module} stays blacklisted and fsblacklist will not ask again (undo with: fsblacklist reset ${module}).\n`,
  );
}
