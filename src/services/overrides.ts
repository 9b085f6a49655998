// The one place that writes administrator overrides: `allow`, `block`, `reset`,
// the modprobe-hook prompt and the review UI all plan and apply through here.
// The facts are read here and each file's change is decided in
// decide/override-plan.ts. Planning is separate from applying so that callers
// can show a diff first (--dry-run, the review UI) and apply exactly what was shown.

import * as path from "node:path";
import type { Context } from "../context.ts";
import { RuntimeFailure, UsageError, errnoCode } from "../errors.ts";
import type { EffectiveConfig } from "../kmod/effective-config.ts";
import { normaliseModuleName } from "../kmod/module-name.ts";
import {
  blacklistEntries,
  decideOverride,
  pendingChanges,
  refusedChanges,
  type CurrentOverride,
  type OverrideChange,
  type OverrideFacts,
  type OverridePlan,
  type OverrideRequest,
} from "../decide/override-plan.ts";
import { checkModuleName, resolveFilesystemName } from "../decide/filesystem-name.ts";
import { kernelsByPreference } from "../decide/judged-kernel.ts";
import { refuseUnknownName } from "../decide/unknown-name.ts";
import { fragmentName, loadPolicy, renderFragment, shippedPolicyDir, type Policy } from "../policy/policy.ts";
import { blockDirectives } from "../policy/fragment.ts";
import { ruleForModule } from "../policy/benchmarks.ts";
import { foreignInstallLines } from "./foreign-install.ts";
import { runningRelease } from "../system/kernel-release.ts";
import { waitingMessage, withLock } from "../system/lock.ts";
import { removeLeftTemporaries } from "../system/atomic-temp.ts";
import { describeErrno } from "../system/errno-text.ts";
import { modprobeLoad } from "../system/modprobe.ts";
import { readOverrideFile } from "../system/override-file.ts";
import { configInputs } from "../system/modprobe-config.ts";
import { readKernelState } from "../system/kernel-state.ts";
import { simulate, type SystemNow } from "../decide/simulate.ts";
import type { ModuleIndex } from "../kmod/module-index.ts";
import { listInstalledReleases, readModuleIndex } from "../system/module-index-files.ts";
import type { SystemUsage } from "../decide/usage-evidence.ts";
import { readSystemUsage } from "./usage.ts";
import { checkStateBeforeChange, initramfsAfterChange, type InitramfsReport } from "./initramfs.ts";
import { behaviourFor } from "./modprobe-config.ts";
import { requireRootToChange } from "./privileges.ts";
import { checkSeparateDirs } from "../system/config-check.ts";

export interface PlanOptions {
  /** The reason recorded in the marker (default: says which command wrote it). */
  reason?: string;
  /** Time recorded in the marker (tests pin it). */
  now?: Date;
}

/**
 * Validates every name before looking at anything else: names end up in file
 * names and in `install` lines that modprobe runs through a shell as root.
 */
export function checkOverrideNames(names: readonly string[]): void {
  if (names.length === 0) throw new UsageError("name at least one filesystem type or module");
  for (const name of names) checkModuleName(name, "filesystem or module name");
}

// ---------------------------------------------------------------------------
// Planning

export async function planOverride(ctx: Context, request: OverrideRequest, names: readonly string[], options: PlanOptions = {}): Promise<OverridePlan> {
  checkOverrideNames(names);
  checkSeparateDirs(ctx.fs, ctx.config, request);
  const facts = readFacts(ctx);
  const behaviour = behaviourFor(ctx);
  const { inputs } = configInputs(ctx.fs, { behaviour, release: facts.release, cmdline: true });
  const kernel = readKernelState(ctx.fs);
  const now: SystemNow = { inputs, index: facts.release === null ? null : facts.index(facts.release), loaded: kernel.loaded };
  const before = simulate(now).config;
  const stamp = { reason: options.reason ?? null, date: (options.now ?? new Date()).toISOString(), kernel: facts.release };
  const changes: OverrideChange[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    // A benchmark's module (usb-storage) is a known name even where no installed kernel ships it.
    const module = resolveModule(facts, name) ?? ruleForModule(name)?.module ?? unknownName(ctx, facts, request, name, before);
    if (seen.has(module)) continue;
    seen.add(module);
    const file = path.posix.join(ctx.config.adminDir, fragmentName(module));
    const entry = facts.policy.entries.find((e) => normaliseModuleName(e.module) === module);
    // An administrator's install line for the module stays the one kmod runs: ours would sort first.
    const foreign = request === "block" ? foreignInstallLines(ctx, before, module) : [];
    const target: OverrideFacts = {
      request,
      name,
      module,
      file,
      current: readCurrent(ctx, file),
      policyFragment: entry === undefined ? null : renderFragment(entry, ctx.config.profile, foreign),
      blockDirectives: blockDirectives(module, ctx.config.profile, foreign.length === 0).join("\n") + "\n",
      stamp,
      now,
      blockNotes: request === "block" ? [...blockNotes(ctx, facts, module), ...foreign.map((f) => `${module}: ${f.where} \`${f.line}\` stays in force`)] : [],
      inUse: request === "reset" ? usageEvidence(ctx, facts, module).map((e) => `${e.text} (${e.where})`) : [],
    };
    changes.push(decideOverride(target));
  }
  return { request, changes };
}

function readCurrent(ctx: Context, file: string): CurrentOverride {
  const found = readOverrideFile(ctx.fs, file);
  if (found.kind === "none") return { owner: "none", text: null, marker: null, what: "" };
  if (found.kind !== "file") {
    const what = { devnull: "a link to /dev/null", dangling: "a dangling link", directory: "a directory", other: "a special file" }[found.kind];
    return { owner: "admin", text: null, marker: null, what };
  }
  return { owner: found.marker === null ? "admin" : "ours", text: found.text ?? "", marker: found.marker, what: "a file" };
}

// ---------------------------------------------------------------------------
// Applying

/** A file of the plan changed after it was made (another run, or the administrator); nothing was written. */
export class PlanOutdated extends RuntimeFailure {}

export interface ApplyOptions {
  /** How long to wait for another run's lock (the modprobe hook waits briefly). */
  lockTimeoutMs?: number;
  onWait?: (ownerPid: number) => void;
  /** false: only record an initramfs rebuild as owed, for the next apply (the modprobe hook must stay quick). */
  rebuildInitramfs?: boolean;
}

export interface ApplyOutcome {
  changed: boolean;
  /** What became of the initramfs; null when the blacklist did not change. */
  initramfs: InitramfsReport | null;
}

const MAX_PLAN_ATTEMPTS = 25;

/**
 * Plans and writes, saying once on stderr when it waits for another run's lock.
 * A run that got the lock first may have changed the same file since we
 * planned: then we plan again, as if we had started after it. Each retry means
 * another run finished a change, so few are ever needed. A plan with refusals
 * is returned unwritten.
 */
export async function planAndApplyOverride(
  ctx: Context,
  request: OverrideRequest,
  names: readonly string[],
): Promise<{ plan: OverridePlan; refused: true } | ({ plan: OverridePlan; refused: false } & ApplyOutcome)> {
  let waited = false;
  const onWait = (pid: number): void => {
    if (!waited) ctx.stderr.write(waitingMessage(pid));
    waited = true;
  };
  for (let attempt = 1; ; attempt++) {
    const plan = await planOverride(ctx, request, names);
    if (refusedChanges(plan).length > 0) return { plan, refused: true };
    try {
      return { plan, refused: false, ...(await applyOverridePlan(ctx, plan, { onWait })) };
    } catch (error) {
      if (!(error instanceof PlanOutdated) || attempt >= MAX_PLAN_ATTEMPTS) throw error;
    }
  }
}

/**
 * Carries out a plan under the root's lock. Refuses a plan with refusals, and a
 * plan whose files changed since it was made (nothing is written then). If a
 * write fails half way, the files already changed are put back. A change of
 * the blacklist is followed by apply's initramfs handling (services/initramfs.ts).
 */
export async function applyOverridePlan(ctx: Context, plan: OverridePlan, options: ApplyOptions = {}): Promise<ApplyOutcome> {
  const refused = refusedChanges(plan);
  if (refused.length > 0) {
    throw new RuntimeFailure(`refusing to apply a plan with refused changes (${refused.map((c) => c.path).join(", ")}); nothing was written`);
  }
  const pending = pendingChanges(plan);
  if (pending.length === 0) return { changed: false, initramfs: null };
  requireRootToChange(ctx, plan.request, [ctx.config.adminDir]);
  const lockOptions = { ...(options.onWait ? { onWait: options.onWait } : {}), ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}) };
  return withLock(
    ctx.fs,
    async () => {
      if (pending.some((c) => c.affectsBlacklist)) checkStateBeforeChange(ctx);
      await removeLeftTemporaries(ctx.fs, [ctx.config.adminDir]);
      for (const change of pending) {
        const current = readCurrent(ctx, change.path);
        if (current.owner === "admin" || current.text !== change.before) {
          throw new PlanOutdated(`${change.path} changed since the plan was made; nothing was written`, "run the command again");
        }
      }
      const done: OverrideChange[] = [];
      try {
        for (const change of pending) {
          await writeOrRemove(ctx, change.path, change.after);
          done.push(change);
        }
      } catch (error) {
        const failed = pending[done.length]!;
        for (const change of done.reverse()) {
          try {
            await writeOrRemove(ctx, change.path, change.before);
          } catch {
            // Best effort: the error below names the file that failed first.
          }
        }
        throw new RuntimeFailure(
          `cannot ${failed.after === null ? "remove" : "write"} ${failed.path}: ${describeErrno(error)}; nothing was changed`,
          errnoCode(error) === "EACCES" ? "run as root" : undefined,
          { cause: error },
        );
      }
      const initramfs = pending.some((c) => c.affectsBlacklist) ? await initramfsAfterChange(ctx, { rebuild: options.rebuildInitramfs !== false }) : null;
      return { changed: true, initramfs };
    },
    lockOptions,
  );
}

async function writeOrRemove(ctx: Context, file: string, text: string | null): Promise<void> {
  if (text === null) await ctx.fs.removeFile(file);
  else await ctx.fs.writeFileAtomic(file, text, 0o644);
}

// ---------------------------------------------------------------------------
// `allow --now`

export interface LoadResult {
  module: string;
  ok: boolean;
  /** What modprobe said when it failed, with what we know about why. */
  error: string | null;
}

/**
 * Loads a module through the real modprobe, past our own install line (the
 * override was written first, so nothing blacklists it any more).
 */
export async function loadModuleNow(ctx: Context, module: string): Promise<LoadResult> {
  checkModuleName(module);
  const release = runningRelease(ctx.fs);
  let error = await modprobeLoad(module, ctx.fs.isHostRoot ? null : { root: ctx.fs.root, release });
  if (error === null) return { module, ok: true, error: null };
  if (release !== null && !ctx.fs.exists("proc/modules")) {
    error += "; this kernel has no loadable module support (there is no /proc/modules)";
  }
  return { module, ok: false, error };
}

// ---------------------------------------------------------------------------
// Facts: the policy and the module index

interface Facts {
  policy: Policy;
  release: string | null;
  /** Installed kernel releases, the running one first. */
  releases: string[];
  /** A release's module index, read on first use (a real kernel's is tens of thousands of lines). */
  index(release: string): ModuleIndex | null;
}

function readFacts(ctx: Context): Facts {
  const policy = loadPolicy(ctx.config.policyDir ?? shippedPolicyDir());
  const release = runningRelease(ctx.fs);
  const releases = kernelsByPreference({ running: release, installed: () => listInstalledReleases(ctx.fs) });
  const cache = new Map<string, ModuleIndex | null>();
  const index = (r: string): ModuleIndex | null => {
    if (!cache.has(r)) cache.set(r, readModuleIndex(ctx.fs, r));
    return cache.get(r)!;
  };
  return { policy, release, releases, index };
}

/**
 * The module a filesystem type or module name means (iso9660 -> isofs): the
 * running kernel's index first, then the other installed kernels', then the
 * policy's names. Null when nothing knows the name.
 */
function resolveModule(facts: Facts, name: string): string | null {
  for (const release of facts.releases) {
    const found = resolveFilesystemName(name, facts.index(release), []);
    if (found !== null) return found.module;
  }
  const known = facts.policy.entries.map((e) => ({ module: e.module, types: e.filesystems }));
  return resolveFilesystemName(name, null, known)?.module ?? null;
}

/**
 * The module a name nothing knows stands for, after reading what
 * decide/unknown-name.ts needs to tell a typo from a module name.
 */
function unknownName(ctx: Context, facts: Facts, request: OverrideRequest, name: string, config: EffectiveConfig): string {
  const module = normaliseModuleName(name);
  const refusal = refuseUnknownName({
    request,
    name,
    releases: facts.releases,
    blacklisted: blacklistEntries(config, module).length > 0,
    overridden: readCurrent(ctx, path.posix.join(ctx.config.adminDir, fragmentName(module))).owner !== "none",
  });
  if (refusal !== null) throw new UsageError(refusal.message, refusal.hint);
  return module;
}

function usageEvidence(ctx: Context, facts: Facts, module: string): ReturnType<SystemUsage["evidenceFor"]> {
  const index = facts.release === null ? null : facts.index(facts.release);
  return readSystemUsage(ctx.fs, index).evidenceFor(module);
}

/** What blocking a module means for this system: what uses it, and whether a blacklist can matter at all. */
function blockNotes(ctx: Context, facts: Facts, module: string): string[] {
  const index = facts.release === null ? null : facts.index(facts.release);
  const notes: string[] = [];
  if (index?.builtin.has(module)) notes.push(`${module} is built into kernel ${index.release}: a blacklist has no effect on it`);
  if (module === "usb_storage") {
    notes.push(
      "usb_storage: every USB disk and stick stops working, uas (USB Attached SCSI) depends on it, " + "and a server's BMC virtual media (a remote ISO or floppy) is a USB storage device too",
    );
  }
  const dependents = index === null ? [] : modulesNeeding(index, module);
  if (dependents.length > 0) notes.push(`${module}: ${dependents.join(", ")} depend${dependents.length === 1 ? "s" : ""} on it and cannot load either`);
  const evidence = usageEvidence(ctx, facts, module);
  if (evidence.length > 0) {
    const loaded = evidence.some((e) => e.signal === "loaded");
    notes.push(
      `${module} is in use: ${evidence.map((e) => `${e.text} (${e.where})`).join("; ")}. ` +
        `${loaded ? "Blocking does not unload it, but after the next reboot" : "From now on"} the kernel cannot load it on demand: ` +
        `mounting these fails with "unknown filesystem type", and an fstab entry without nofail can stop the boot`,
    );
  }
  return notes;
}

/** The modules of a kernel that need `module` (modules.dep lists dependencies transitively). */
function modulesNeeding(index: ModuleIndex, module: string): string[] {
  const needing: string[] = [];
  for (const name of index.modules.keys()) {
    if (name !== module && index.modules.get(name)?.deps.includes(module)) needing.push(name);
  }
  return needing.sort();
}
