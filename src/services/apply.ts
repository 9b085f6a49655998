// `apply`: bring the system in line with the shipped policy, keeping loadable
// what the running system uses. The facts are read and the whole plan is made
// before the first write (under the lock); the writes then follow the plan's
// order, each atomic, so a failure or a kill leaves every file old or new and the
// next run finishes the job.

import * as path from "node:path";
import type { Context } from "../context.ts";
import { escapeMessage } from "../report/escape.ts";
import {
  changesFiles,
  enforcementChanged,
  nextState,
  planApply,
  plannedFiles,
  type ApplyPlan,
  type NewEntry,
  type PlanInput,
  type PlannedAction,
  type PolicyFragment,
  type UseEvidence,
  type VendorFile,
} from "../decide/apply-plan.ts";
import { judgedKernel } from "../decide/judged-kernel.ts";
import { rebuildStillOwed } from "../decide/initramfs-compare.ts";
import { fragmentModuleOf, fragmentName, renderFragment, type ForeignInstall } from "../policy/fragment.ts";
import { benchmarkOfProfile, filesystemRules } from "../policy/benchmarks.ts";
import type { PolicyEntry } from "../policy/policy.ts";
import { normaliseModuleName } from "../kmod/module-name.ts";
import { installedContainerRuntimes } from "../system/container-runtimes.ts";
import { checkSeparateDirs } from "../system/config-check.ts";
import { foreignInstallLines } from "./foreign-install.ts";
import { entriesForProfile, loadPolicy, shippedPolicyDir } from "../policy/policy.ts";
import { removeLeftTemporaries } from "../system/atomic-temp.ts";
import { readKernelState } from "../system/kernel-state.ts";
import { waitingMessage, withLock } from "../system/lock.ts";
import { readModuleIndex } from "../system/module-index-files.ts";
import type { ApplyState, KeptRecord } from "../model.ts";
import { readState, stateNeedsWrite } from "../system/state-file.ts";
import { kernelFacts } from "./kernels.ts";
import { readSystemUsage } from "./usage.ts";
import { initramfsReport, planInitramfs, settleInitramfs, type InitramfsPlan, type InitramfsReport } from "./initramfs.ts";
import { checkInitramfsImages, type ImageReport } from "./initramfs-images.ts";
import { carryOut, configAfter, readManagedContent, readManagedDir } from "./managed-files.ts";
import { requireRootToChange } from "./privileges.ts";
import { behaviourFor } from "./modprobe-config.ts";
import { ConfigReads, configInputs } from "../system/modprobe-config.ts";
import { simulate } from "../decide/simulate.ts";
import { loadObstacles } from "../decide/postconditions.ts";

export interface ApplyResult {
  dryRun: boolean;
  /** Files were (or, in a dry run, would be) written or removed. */
  changed: boolean;
  /** What kmod enforces changed (or would change). */
  blacklistChanged: boolean;
  actions: PlannedAction[];
  /** A dry run: each written or removed file's text as it is now (null: none), for the diffs --json carries. */
  before: Map<string, string | null> | null;
  kept: KeptRecord[];
  /** Kept filesystems that foreign lines still keep from loading at the next boot, with those lines. */
  keptBlocked: { module: string; obstacles: string[] }[];
  newEntries: NewEntry[];
  notes: string[];
  policyVersion: string;
  previousPolicyVersion: string | null;
  profile: string;
  kernel: string | null;
  initramfs: InitramfsReport;
  /** Each image under boot/ compared with the configuration this run leaves (would leave). */
  images: ImageReport[];
  /** Install lines of the administrator's (or another tool's) that match a policy module and stay in force. */
  installLinesInForce: InstallInForce[];
  /** Under a benchmark profile: its items this system does not meet, and why (a keep, an allow). */
  deviations: Deviation[];
}

export interface InstallInForce extends ForeignInstall {
  module: string;
}

export interface Deviation {
  module: string;
  /** The benchmark's rule id and items. */
  rule: string;
  items: string[];
  reason: string;
}

interface Decision {
  input: PlanInput;
  plan: ApplyPlan;
  keptBlocked: ApplyResult["keptBlocked"];
  blacklistChanged: boolean;
  /** The state after this run, the initramfs still to rebuild or not. */
  next: ApplyState;
  initramfs: InitramfsPlan;
  notes: string[];
  /** The state file was damaged (also among the notes). */
  stateWarning: string | null;
  installLinesInForce: InstallInForce[];
  deviations: Deviation[];
}

interface LoadedPolicy {
  version: string;
  /** The profile's entries. */
  entries: PolicyEntry[];
  /** Every profile the policy defines, and every module of the policy with the profiles that list it. */
  profiles: string[];
  profilesOf: Map<string, string[]>;
  /** Filesystem types by module (freevxfs serves vxfs), for every module of the policy, of any profile. */
  filesystems: Map<string, string[]>;
}

function loadFragments(ctx: Context): LoadedPolicy {
  const policy = loadPolicy(ctx.config.policyDir ?? shippedPolicyDir());
  const entries = entriesForProfile(policy, ctx.config.profile);
  return {
    version: policy.version,
    entries,
    profiles: Object.keys(policy.profiles),
    profilesOf: new Map(policy.entries.map((e) => [e.module, e.profiles])),
    filesystems: new Map(policy.entries.map((e) => [e.module, e.filesystems])),
  };
}

/**
 * The profile's fragments as this system needs them: where an install line we
 * did not write matches a module, its fragment holds the blacklist line alone,
 * so that the administrator's line stays the one kmod runs.
 */
function renderFragments(ctx: Context, policy: LoadedPolicy, reads: ConfigReads): { fragments: PolicyFragment[]; inForce: InstallInForce[] } {
  const config = configAfter(ctx, new Map(), reads);
  const inForce: InstallInForce[] = [];
  const fragments = policy.entries.map((e): PolicyFragment => {
    const foreign = foreignInstallLines(ctx, config, e.module, reads.texts);
    for (const f of foreign) inForce.push({ module: e.module, ...f });
    return { module: e.module, fileName: fragmentName(e.module), content: renderFragment(e, ctx.config.profile, foreign), since: e.since, reason: e.reason, entry: e, foreign };
  });
  return { fragments, inForce };
}

/** Something to write, remove or run. */
function hasWork(d: Decision): boolean {
  return changesFiles(d.plan) || stateNeedsWrite(d.input.previous, d.next) || d.initramfs.rebuild !== null;
}

export async function applyPolicy(ctx: Context, options: { dryRun: boolean }): Promise<ApplyResult> {
  checkSeparateDirs(ctx.fs, ctx.config, "apply");
  const policy = loadFragments(ctx);
  // Deciding without the lock is safe: writes are atomic and the state file is
  // written last, so a plan with nothing to do means no other run is half-way.
  let first = decide(ctx, policy, []);
  if (first.stateWarning !== null) ctx.stderr.write(`fsblacklist: warning: ${escapeMessage(first.stateWarning)}\n`);
  // The images as they are against the configuration this run leaves: where one
  // can be read, that decides whether the initramfs is stale; and an image written
  // after the change that owed a rebuild shows the rebuild done.
  const images = await measureImages(ctx, policy, first.plan, plannedFiles(first.plan.actions));
  if (images.length > 0) first = decide(ctx, policy, images);
  if (options.dryRun || !hasWork(first)) {
    return result(ctx, first, { dryRun: options.dryRun, changed: hasWork(first), initramfs: initramfsReport(ctx, first.initramfs), images });
  }
  requireRootToChange(ctx, "apply", [ctx.config.vendorDir, ctx.config.adminDir]);
  return withLock(ctx.fs, () => applyLocked(ctx, policy, images), {
    onWait: (pid) => ctx.stderr.write(waitingMessage(pid)),
  });
}

/** Stale when a readable image differs; null (the rule decides) when no image could be read. */
function measuredStale(images: readonly ImageReport[]): boolean | null {
  const readable = images.filter((image) => image.state !== "unreadable");
  return readable.length === 0 ? null : readable.some((image) => image.state === "stale");
}

async function measureImages(ctx: Context, policy: LoadedPolicy, plan: ApplyPlan, overlay: ReadonlyMap<string, string | null>): Promise<ImageReport[]> {
  const kept = new Set(plan.kept.map((k) => k.module));
  // Every module of the policy, not only the profile's: an image built under another profile blocks that one's.
  const filesystems = [...policy.filesystems].map(([module, types]) => ({
    name: types[0] ?? module,
    module,
    types,
    systemState: kept.has(module) ? ("kept" as const) : null,
  }));
  return checkInitramfsImages(ctx, { filesystems, overlay });
}

async function applyLocked(ctx: Context, policy: LoadedPolicy, images: ImageReport[]): Promise<ApplyResult> {
  const d = decide(ctx, policy, images);
  if (!hasWork(d)) return result(ctx, d, { dryRun: false, changed: false, initramfs: initramfsReport(ctx, d.initramfs), images });
  const cleaned = await removeLeftTemporaries(ctx.fs, [ctx.config.vendorDir, ctx.config.adminDir, path.posix.dirname(ctx.config.stateFile)]);
  if (cleaned > 0) d.notes.push(`removed ${cleaned} temporary file(s) left by an interrupted run`);

  const writes = d.plan.actions.filter((a) => a.action !== "skip");
  const progress = { done: 0, total: writes.length + 1, retry: "fsblacklist apply" };
  for (const action of writes) await carryOut(ctx, action.path, action.content ?? null, progress);
  // The state says "initramfs pending" and owed before the tool runs, so a failure or a kill is retried.
  const stateChanged = stateNeedsWrite(d.input.previous, d.next);
  if (stateChanged) await carryOut(ctx, ctx.config.stateFile, d.next, progress);

  const initramfs = await settleInitramfs(ctx, d.initramfs, d.next, (state) => carryOut(ctx, ctx.config.stateFile, state, progress));
  // After a rebuild the images are new: measure them again.
  const after = initramfs.regenerated ? await measureImages(ctx, policy, d.plan, new Map()) : images;
  const stale = measuredStale(after);
  return result(ctx, d, { dryRun: false, changed: writes.length > 0 || stateChanged || initramfs.regenerated, initramfs: stale === null ? initramfs : { ...initramfs, stale }, images: after });
}

/** `images`: those under boot/ compared with the configuration this run leaves (none: not looked at yet, or none there). */
function decide(ctx: Context, policy: LoadedPolicy, images: readonly ImageReport[]): Decision {
  const { fs, config } = ctx;
  const notes: string[] = [];
  const { state: previous, warning } = readState(fs, config.stateFile);
  if (warning !== null) notes.push(warning);

  const kernel = readKernelState(fs);
  const indexRelease = judgedKernel(kernelFacts(fs, kernel), "any-boot");
  const index = indexRelease === null ? null : readModuleIndex(fs, indexRelease);
  const usage = readSystemUsage(fs, index, kernel);
  const sawRunningKernel = usage.kernel.running;
  if (!sawRunningKernel) {
    notes.push(`no running kernel under ${fs.root} (no proc/ of its own): what to keep was decided from etc/fstab and mount units alone`);
  }
  if (sawRunningKernel && !usage.kernel.moduleSupport) {
    notes.push("the running kernel cannot load modules: the blacklist matters only for the other kernels installed here");
  }
  for (const u of usage.untyped) notes.push(`${u.where}: ${u.text}: mount probes for the type, so apply cannot tell which module it needs`);

  // The decision reads the configuration four times: each directory listed, each file read, once.
  const reads = new ConfigReads();
  const { fragments, inForce } = renderFragments(ctx, policy, reads);
  const evidence: UseEvidence[] = [];
  const always = new Set(config.keep.always);
  for (const fragment of fragments) {
    if (fragment.module === "overlay") {
      for (const runtime of installedContainerRuntimes(fs))
        evidence.push({ module: fragment.module, signal: "container-runtime", detail: `container runtime ${runtime.name} installed (${runtime.path})` });
    }
    const filesystems = policy.filesystems.get(fragment.module) ?? [];
    for (const e of usage.evidenceFor(fragment.module, filesystems)) {
      evidence.push({ module: fragment.module, signal: e.signal, detail: `${e.text} (${e.where})` });
    }
    if ([fragment.module, ...filesystems].some((name) => always.has(name))) {
      evidence.push({ module: fragment.module, signal: "always", detail: `listed in keep.always (${config.loadedFrom ?? "configuration"})` });
    }
  }

  const input: PlanInput = {
    vendorDir: config.vendorDir,
    adminDir: config.adminDir,
    policyVersion: policy.version,
    profile: config.profile,
    profiles: policy.profiles,
    profilesOf: policy.profilesOf,
    fragments,
    vendorFiles: readVendorFiles(ctx, previous, reads.texts),
    adminFiles: readManagedDir(ctx, config.adminDir, undefined, reads.texts),
    evidence,
    keepSignals: config.keep.signals,
    sawRunningKernel,
    kernel: sawRunningKernel ? kernel.release : null,
    previous,
    now: new Date().toISOString(),
  };
  const plan = planApply(input);
  // A keep counts only when kmod will load the filesystem at the next boot with the planned files in place.
  const { inputs } = configInputs(fs, { behaviour: behaviourFor(ctx), release: indexRelease, cmdline: sawRunningKernel, reads });
  const after = simulate({ inputs, index, loaded: new Set() }, { files: plannedFiles(plan.actions), nextBoot: true });
  const keptBlocked = plan.kept.map((k) => ({ module: k.module, obstacles: loadObstacles(after, normaliseModuleName(k.module)).map((o) => o.text) })).filter((k) => k.obstacles.length > 0);
  const blacklistChanged = enforcementChanged(configAfter(ctx, new Map(), reads), configAfter(ctx, plannedFiles(plan.actions), reads));
  // A change owes a rebuild from now on; an earlier one stays owed until the images show it done.
  const owedSince = rebuildStillOwed(blacklistChanged ? input.now : (previous?.initramfsOwedSince ?? null), images);
  // Images that could be read say whether the initramfs is stale; otherwise the change or the pending rebuild does.
  const stale = (measuredStale(images) ?? (blacklistChanged || previous?.initramfsPending === true)) || owedSince !== null;
  const initramfs = planInitramfs(ctx, stale, owedSince);
  const next = nextState(input, plan, { initramfsPending: initramfs.rebuild !== null, initramfsOwedSince: owedSince });
  const inForceNotes = inForce.map((f) => {
    // kmod runs only the first line that matches; a later one stays in its file but does not run for this module.
    const first = inForce.find((g) => g.module === f.module)!;
    return first === f
      ? `${f.module}: ${f.where} \`${f.line}\` stays in force`
      : `${f.module}: ${f.where} \`${f.line}\` stays, shadowed by ${first.where} (kmod runs only the first line that matches)`;
  });
  const deviations = benchmarkDeviations(ctx.config.profile, plan);
  const deviationNotes = deviations.map((d) => `deviation from ${ctx.config.profile} (${d.items.join(", ")}): ${d.module} ${d.reason}`);
  return {
    input,
    plan,
    keptBlocked,
    blacklistChanged,
    next,
    initramfs,
    notes: [...notes, ...initramfs.notes, ...plan.notes, ...inForceNotes, ...deviationNotes],
    stateWarning: warning,
    installLinesInForce: inForce,
    deviations,
  };
}

/** The benchmark items a profile serves that this plan leaves unmet: a module kept, or allowed by the administrator. */
function benchmarkDeviations(profile: string, plan: ApplyPlan): Deviation[] {
  const benchmark = benchmarkOfProfile(profile);
  if (benchmark === null) return [];
  const deviations: Deviation[] = [];
  for (const rule of filesystemRules(benchmark)) {
    const kept = plan.kept.find((k) => normaliseModuleName(k.module) === rule.module);
    const allowed = plan.actions.find((a) => a.action === "skip" && normaliseModuleName(a.module) === rule.module && a.path.startsWith("etc/") && a.reason.startsWith("allowed by"));
    const reason = kept !== undefined ? `kept loadable: ${kept.reason}` : allowed !== undefined ? `left loadable: ${allowed.reason}` : null;
    if (reason !== null) deviations.push({ module: rule.spelling, rule: rule.id, items: rule.items, reason });
  }
  return deviations;
}

function result(ctx: Context, d: Decision, outcome: { dryRun: boolean; changed: boolean; initramfs: InitramfsReport; images: ImageReport[] }): ApplyResult {
  return {
    dryRun: outcome.dryRun,
    changed: outcome.changed,
    blacklistChanged: d.blacklistChanged,
    actions: d.plan.actions,
    before: outcome.dryRun ? currentTexts(ctx, d.plan.actions) : null,
    kept: d.plan.kept,
    keptBlocked: d.keptBlocked,
    newEntries: d.plan.newEntries,
    notes: d.notes,
    policyVersion: d.input.policyVersion,
    previousPolicyVersion: d.input.previous?.policyVersion ?? null,
    profile: ctx.config.profile,
    kernel: d.input.kernel,
    initramfs: outcome.initramfs,
    images: outcome.images,
    installLinesInForce: d.installLinesInForce,
    deviations: d.deviations,
  };
}

function currentTexts(ctx: Context, actions: readonly PlannedAction[]): Map<string, string | null> {
  const texts = new Map<string, string | null>();
  for (const action of actions) {
    if (action.action === "skip") continue;
    try {
      texts.set(action.path, ctx.fs.readText(action.path));
    } catch {
      texts.set(action.path, null);
    }
  }
  return texts;
}

/** Candidate fragments: the vendor directory's files and every path the state says we installed. */
function readVendorFiles(ctx: Context, previous: ApplyState | null, texts: ReadonlyMap<string, string>): VendorFile[] {
  const files = readManagedDir(ctx, ctx.config.vendorDir, undefined, texts);
  const seen = new Set(files.map((f) => f.path));
  for (const installed of previous?.installed ?? []) {
    if (seen.has(installed) || !ctx.fs.exists(installed)) continue;
    files.push({ path: installed, content: readManagedContent(ctx, installed, ctx.fs.resolve(installed).kind) });
  }
  return files.map((f) => ({ ...f, headerModule: f.content === null ? null : fragmentModuleOf(f.content), identity: ctx.fs.identity(f.path) }));
}
