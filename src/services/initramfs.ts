// The initramfs after a change of the effective blacklist, the same for `apply`
// and for `allow`, `block` and `reset`: its copy of modprobe.d is stale until the
// distribution's tool rebuilds it. With `initramfs: regenerate` we run that tool;
// the state file says "pending" from before the tool runs until it succeeded, so
// a rebuild that fails or is killed is retried by the next `apply` (or the
// next `uninstall`, after one).

import type { Context } from "../context.ts";
import { RuntimeFailure } from "../errors.ts";
import { describeErrno } from "../system/errno-text.ts";
import { detectInitramfsTool, initramfsCommand, regenerateInitramfs, type InitramfsTool } from "../system/initramfs.ts";
import type { ApplyState } from "../model.ts";
import { readState, unappliedState, writeState } from "../system/state-file.ts";

export interface InitramfsReport {
  /** The initramfs still carries an older blacklist than the system now enforces. */
  stale: boolean;
  tool: string | null;
  /** The command that rebuilds it, as one would type it. */
  command: string | null;
  regenerated: boolean;
  /** Why regeneration failed (the run then exits 1). */
  error: string | null;
  /** Since when (ISO 8601) a rebuild is owed, as the state file records it; null when none is. */
  owedSince: string | null;
}

export interface InitramfsPlan {
  /** The initramfs carries an older blacklist than the system enforces after this run. */
  stale: boolean;
  tool: InitramfsTool | null;
  /** The command this run rebuilds it with; null in report mode, or when it must not run here (see notes). */
  rebuild: string[] | null;
  /** Why it is not rebuilt although the configuration says to. */
  notes: string[];
  /** The rebuild owed (state file) after this run unless it rebuilds. */
  owedSince: string | null;
}

/** How a failed rebuild is explained: what the run did all the same, and what rebuilds it later. */
export interface RebuildFailureWording {
  done: string;
  /** The state file records the rebuild as pending; `command` rebuilds it by hand. */
  pending: (command: string) => string;
  /** There is no state file to record it in. */
  unrecorded: (command: string) => string;
}

const AFTER_APPLY: RebuildFailureWording = {
  done: "the blacklist itself was applied",
  pending: () => "the next `fsblacklist apply` tries the initramfs again",
  unrecorded: (command) => `nothing records the rebuild until \`fsblacklist apply\` has run once: run ${command} yourself once it can succeed`,
};

/** allow, block, reset: the pending rebuild goes into apply's state file, for the next apply. */
const AFTER_OVERRIDE: RebuildFailureWording = { ...AFTER_APPLY, done: "the blacklist itself was changed" };

/** What to do about the initramfs; `stale`: the blacklist changed, or an earlier rebuild is still owed (since `owedSince`). */
export function planInitramfs(ctx: Context, stale: boolean, owedSince: string | null = null): InitramfsPlan {
  const tool = detectInitramfsTool(ctx.fs);
  const notes: string[] = [];
  let rebuild: string[] | null = null;
  if (!stale || ctx.config.initramfs.mode !== "regenerate") {
    // Report mode: the report says which command to run.
  } else if (tool === null) {
    notes.push(`no initramfs tool (update-initramfs, dracut, mkinitcpio) under ${ctx.fs.root}; if this system boots with an initramfs, rebuild it`);
  } else if (!ctx.fs.isHostRoot && !ctx.config.initramfs.underRoot) {
    notes.push(`not rebuilding the initramfs under --root ${ctx.fs.root} (initramfs.underRoot is off)`);
  } else {
    rebuild = initramfsCommand(ctx.fs, tool);
  }
  return { stale, tool, rebuild, notes, owedSince };
}

/** The report of a plan that was not carried out (a dry run, nothing to do). */
export function initramfsReport(ctx: Context, plan: InitramfsPlan, outcome: { regenerated: boolean; error: string | null } = { regenerated: false, error: null }): InitramfsReport {
  return {
    stale: plan.stale && !outcome.regenerated,
    tool: plan.tool?.name ?? null,
    command: plan.tool === null ? null : initramfsCommand(ctx.fs, plan.tool).join(" "),
    regenerated: outcome.regenerated,
    error: outcome.error,
    owedSince: outcome.regenerated ? null : plan.owedSince,
  };
}

/**
 * Carries out the plan, under the lock and after the configuration was written.
 * `state` is the state file as this run left it: when the plan rebuilds, it
 * already says pending and owed (unless there is no state file yet), and
 * `write` clears both once the tool succeeded.
 */
export async function settleInitramfs(
  ctx: Context,
  plan: InitramfsPlan,
  state: ApplyState | null,
  write: (state: ApplyState) => Promise<void>,
  wording: RebuildFailureWording = AFTER_APPLY,
): Promise<InitramfsReport> {
  if (plan.rebuild === null) return initramfsReport(ctx, plan);
  const outcome = await regenerateInitramfs(plan.rebuild);
  if (!outcome.ok) {
    const command = plan.rebuild.join(" ");
    const retry = state?.initramfsPending === true ? wording.pending(command) : wording.unrecorded(command);
    return initramfsReport(ctx, plan, { regenerated: false, error: `${outcome.message}\n${wording.done}; ${retry}` });
  }
  if (state !== null && (state.initramfsPending || state.initramfsOwedSince !== null)) await write({ ...state, initramfsPending: false, initramfsOwedSince: null });
  return initramfsReport(ctx, plan, { regenerated: true, error: null });
}

/**
 * Before `allow`, `block` or `reset` write anything: a change of the blacklist
 * records the rebuild it owes in the state file, so that file must be
 * fsblacklist's (readState() throws for a foreign one), or nothing is written.
 */
export function checkStateBeforeChange(ctx: Context): void {
  readState(ctx.fs, ctx.config.stateFile);
}

/**
 * After `allow`, `block` or `reset` changed what kmod enforces, under the lock
 * and after the override files were written: `apply`'s handling, with the
 * rebuild this change owes recorded in the state file apply keeps (in report
 * mode too, so that every later run says it is owed until a rebuild is seen).
 * With `rebuild` false the tool is not run here (the modprobe hook must stay
 * quick): the rebuild is only recorded as owed, for the next `apply`.
 */
export async function initramfsAfterChange(ctx: Context, options: { rebuild: boolean }): Promise<InitramfsReport> {
  const changedAt = new Date().toISOString();
  const plan = planInitramfs(ctx, true, changedAt);
  const { stateFile } = ctx.config;
  const byHand = initramfsReport(ctx, plan).command ?? "the distribution's initramfs tool";
  const write = async (state: ApplyState): Promise<void> => {
    try {
      await writeState(ctx.fs, stateFile, state);
    } catch (error) {
      const what = state.initramfsOwedSince !== null ? "record the initramfs rebuild it needs" : "record that the initramfs was rebuilt";
      throw new RuntimeFailure(`the override was written, but ${stateFile} cannot ${what}: ${describeErrno(error)}`, `run ${byHand} yourself`, { cause: error });
    }
  };
  // A damaged state file is treated as absent, as apply does (and apply rewrites it).
  // Before apply has run there is none: one that records only the owed rebuild,
  // which apply takes over, so that a failed rebuild is retried all the same.
  const { state } = readState(ctx.fs, stateFile);
  const owed = { ...(state ?? unappliedState()), initramfsPending: plan.rebuild !== null || state?.initramfsPending === true, initramfsOwedSince: changedAt };
  await write(owed);
  if (!options.rebuild || plan.rebuild === null) return initramfsReport(ctx, plan);
  return settleInitramfs(ctx, plan, owed, write, AFTER_OVERRIDE);
}
