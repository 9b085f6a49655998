// `uninstall`: remove what `apply` installed, for the package's removal hooks.
// As in apply, the facts are read and the whole plan is made before the first
// write (under the lock); each removal is atomic and the order keeps every
// kept filesystem loadable at every moment, so a failure or a kill leaves a
// state the next run finishes.

import * as path from "node:path";
import type { Context } from "../context.ts";
import { escapeMessage } from "../report/escape.ts";
import { errnoCode } from "../errors.ts";
import { enforcementChanged, type FoundFile, type VendorFile } from "../decide/apply-plan.ts";
import { planUninstall, removals, uninstalledState, type UninstallAction, type UninstallPlan } from "../decide/uninstall-plan.ts";
import { fragmentModuleOf, moduleFromFragmentName } from "../policy/fragment.ts";
import { parseMarker } from "../policy/marker.ts";
import { atomicTempWriter, removeLeftTemporaries } from "../system/atomic-temp.ts";
import { describeErrno } from "../system/errno-text.ts";
import { waitingMessage, withLock } from "../system/lock.ts";
import type { ApplyState, KeptRecord } from "../model.ts";
import { readState, stateNeedsWrite } from "../system/state-file.ts";
import { listInitramfsImages } from "../system/initramfs-image.ts";
import { rebuildStillOwed } from "../decide/initramfs-compare.ts";
import { initramfsReport, planInitramfs, settleInitramfs, type InitramfsPlan, type InitramfsReport, type RebuildFailureWording } from "./initramfs.ts";
import { carryOut, configAfter, readManagedContent, readManagedDir } from "./managed-files.ts";
import { ConfigReads } from "../system/modprobe-config.ts";
import { requireRootToChange } from "./privileges.ts";

/** Where apply puts fragments for kmod 32 and later, and before. */
const VENDOR_DIRS = ["usr/lib/modprobe.d", "lib/modprobe.d"];

/**
 * A pending rebuild in the state file is retried by the next uninstall (or an
 * apply after a reinstall); run from a removal hook, neither comes once the
 * package is gone.
 */
const AFTER_UNINSTALL: RebuildFailureWording = {
  done: "fsblacklist's files were removed",
  pending: (command) => `the next \`fsblacklist uninstall\` (or \`fsblacklist apply\`) tries the initramfs again, but once fsblacklist itself is removed nothing does: then run ${command} yourself`,
  unrecorded: (command) => `without a state file nothing records the rebuild: run ${command} yourself once it can succeed`,
};

export interface StateChange {
  path: string;
  /** update: a plain uninstall records that nothing is installed; remove: --purge. */
  action: "update" | "remove" | "none";
  /** The state file's directory, removed with it when nothing else is in it (--purge). */
  directory: string | null;
}

export interface UninstallResult {
  dryRun: boolean;
  purge: boolean;
  /** Files were (or, in a dry run, would be) removed or written. */
  changed: boolean;
  /** What kmod enforces changed (or would change). */
  blacklistChanged: boolean;
  actions: UninstallAction[];
  /** A dry run: each file it would remove, with its text as it is now, for the diffs --json carries. */
  before: Map<string, string> | null;
  kept: KeptRecord[];
  state: StateChange;
  notes: string[];
  initramfs: InitramfsReport;
}

interface Decision {
  plan: UninstallPlan;
  /** Every root-relative path that names each removed file (lib is usr/lib on a merged /usr). */
  aliases: Map<string, string[]>;
  /** What the decision read of each file it judged (null: not a file kmod reads), by path. */
  contents: Map<string, string | null>;
  blacklistChanged: boolean;
  previous: ApplyState | null;
  /** The state after a plain uninstall, the initramfs still to rebuild or not; null without a state file. */
  next: ApplyState | null;
  state: StateChange;
  initramfs: InitramfsPlan;
  notes: string[];
  stateWarning: string | null;
}

function hasWork(d: Decision): boolean {
  return removals(d.plan).length > 0 || d.state.action !== "none" || d.state.directory !== null || d.initramfs.rebuild !== null;
}

export async function uninstall(ctx: Context, options: { dryRun: boolean; purge: boolean }): Promise<UninstallResult> {
  // Deciding without the lock is safe for the same reason as in apply: a plan
  // with nothing to do means no other run is half-way.
  const first = decide(ctx, options.purge);
  if (first.stateWarning !== null) ctx.stderr.write(`fsblacklist: warning: ${escapeMessage(first.stateWarning)}\n`);
  if (options.dryRun || !hasWork(first)) {
    const done = result(first, { dryRun: options.dryRun, purge: options.purge, changed: hasWork(first), initramfs: initramfsReport(ctx, first.initramfs) });
    return options.dryRun ? { ...done, before: removedTexts(ctx, first) } : done;
  }
  requireRootToChange(ctx, "uninstall", [ctx.config.vendorDir, ctx.config.adminDir]);
  return withLock(ctx.fs, () => uninstallLocked(ctx, options.purge), {
    onWait: (pid) => ctx.stderr.write(waitingMessage(pid)),
  });
}

async function uninstallLocked(ctx: Context, purge: boolean): Promise<UninstallResult> {
  const d = decide(ctx, purge);
  const done = (changed: boolean, initramfs: InitramfsReport): UninstallResult => result(d, { dryRun: false, purge, changed, initramfs });
  if (!hasWork(d)) return done(false, initramfsReport(ctx, d.initramfs));
  const stateDir = path.posix.dirname(ctx.config.stateFile);
  const cleaned = await removeLeftTemporaries(ctx.fs, [...scannedDirs(ctx), ctx.config.adminDir, stateDir]);
  if (cleaned > 0) d.notes.push(`removed ${cleaned} temporary file(s) left by an interrupted run`);

  const removed = removals(d.plan);
  const progress = { done: 0, total: removed.length + (d.state.action === "none" ? 0 : 1), retry: "fsblacklist uninstall" };
  for (const action of removed) await carryOut(ctx, action.path, null, progress);

  // The state says "initramfs pending" before the tool runs, so a failure or a kill is retried (by
  // the next uninstall, or apply after a reinstall); with --purge it goes once the rebuild is done.
  let stateWritten = false;
  if (d.next !== null && stateNeedsWrite(d.previous, d.next) && (d.state.action === "update" || d.initramfs.rebuild !== null)) {
    await carryOut(ctx, ctx.config.stateFile, d.next, progress);
    stateWritten = true;
  }
  const initramfs = await settleInitramfs(ctx, d.initramfs, d.next, (state) => carryOut(ctx, ctx.config.stateFile, state, progress), AFTER_UNINSTALL);
  if (initramfs.error === null && d.state.action === "remove") await carryOut(ctx, ctx.config.stateFile, null, progress);
  if (initramfs.error === null && d.state.directory !== null) await removeEmptyDirectory(ctx, d.state.directory, d.notes);
  return done(removed.length > 0 || stateWritten || d.state.action === "remove" || d.state.directory !== null || initramfs.regenerated, initramfs);
}

function decide(ctx: Context, purge: boolean): Decision {
  const { fs: rootFs, config } = ctx;
  const notes: string[] = [];
  const { state: previous, warning } = readState(rootFs, config.stateFile);
  if (warning !== null) notes.push(warning);

  const candidates = readFragmentCandidates(ctx, previous);
  const { vendorFiles, adminFiles } = judgedOnce(ctx, candidates.files, readManagedDir(ctx, config.adminDir));
  const { aliases } = candidates;
  const plan = planUninstall({ vendorFiles, adminFiles, installed: previous?.installed ?? [], purge });
  const removedPaths = new Map<string, string | null>();
  for (const action of removals(plan)) for (const alias of aliases.get(action.path) ?? [action.path]) removedPaths.set(alias, null);
  const reads = new ConfigReads();
  const blacklistChanged = enforcementChanged(configAfter(ctx, new Map(), reads), configAfter(ctx, removedPaths, reads));
  // A change owes a rebuild from now on; an earlier one stays owed until an image written since shows it done.
  const images = listInitramfsImages(rootFs).map((image) => ({ modified: image.modified, state: "unread" as const }));
  const owedSince = rebuildStillOwed(blacklistChanged ? new Date().toISOString() : (previous?.initramfsOwedSince ?? null), images);
  const initramfs = planInitramfs(ctx, blacklistChanged || previous?.initramfsPending === true || owedSince !== null, previous === null ? null : owedSince);
  const next = uninstalledState(previous, plan, { initramfsPending: initramfs.rebuild !== null, initramfsOwedSince: owedSince });
  const state = stateChange(ctx, purge, previous, next);
  const contents = new Map([...vendorFiles, ...adminFiles].map((f) => [f.path, f.content]));
  return { plan, aliases, contents, blacklistChanged, previous, next, state, initramfs, notes: [...notes, ...initramfs.notes], stateWarning: warning };
}

function stateChange(ctx: Context, purge: boolean, previous: ApplyState | null, next: ApplyState | null): StateChange {
  const file = ctx.config.stateFile;
  if (!purge) return { path: file, action: next !== null && stateNeedsWrite(previous, next) ? "update" : "none", directory: null };
  // A damaged state file goes too: nothing reads it once fsblacklist is gone.
  const exists = ctx.fs.exists(file);
  const dir = path.posix.dirname(file);
  // Only a directory of our own (the default var/lib/fsblacklist), never var/lib itself.
  const ownDir = path.posix.basename(dir) === "fsblacklist";
  const entries = ctx.fs.listDir(dir);
  const others = (entries ?? []).filter((e) => e.name !== path.posix.basename(file) && atomicTempWriter(e.name) === null);
  const removeDir = ownDir && entries !== null && others.length === 0;
  return { path: file, action: exists ? "remove" : "none", directory: removeDir ? dir : null };
}

function result(d: Decision, outcome: { dryRun: boolean; purge: boolean; changed: boolean; initramfs: InitramfsReport }): UninstallResult {
  return {
    dryRun: outcome.dryRun,
    purge: outcome.purge,
    changed: outcome.changed,
    blacklistChanged: d.blacklistChanged,
    actions: d.plan.actions,
    before: null,
    kept: d.plan.kept,
    state: d.state,
    notes: d.notes,
    initramfs: outcome.initramfs,
  };
}

/** The text of each file the plan removes, as the decision read it (a link to /dev/null reads as empty, as kmod reads it). */
function removedTexts(ctx: Context, d: Decision): Map<string, string> {
  const texts = new Map<string, string>();
  for (const action of removals(d.plan)) {
    const known = d.contents.get(action.path);
    const read = known !== undefined ? known : readManagedContent(ctx, action.path, ctx.fs.resolve(action.path).kind);
    texts.set(action.path, read ?? "");
  }
  return texts;
}

/** The vendor directories to look in: the configured one, both of apply's defaults, each real directory once. */
function scannedDirs(ctx: Context): string[] {
  return [...new Set([ctx.config.vendorDir, ...VENDOR_DIRS])];
}

/**
 * Every file of the vendor directories, and every path the state says apply
 * installed. A directory reached under two names (lib -> usr/lib on a merged
 * /usr) is read once, under the first name; `aliases` maps each file to all its
 * names, which all disappear from kmod's view when it is removed.
 */
function readFragmentCandidates(ctx: Context, previous: ApplyState | null): { files: VendorFile[]; aliases: Map<string, string[]> } {
  const byHostDir = new Map<string, string[]>();
  for (const dir of scannedDirs(ctx)) {
    const resolved = ctx.fs.resolve(dir);
    if (resolved.kind !== "directory") continue;
    byHostDir.set(resolved.hostPath, [...(byHostDir.get(resolved.hostPath) ?? []), dir]);
  }
  const installed = new Set(previous?.installed ?? []);
  // Other packages' files there are not even read: only a fragment's name or the state can make a file ours.
  const candidate = (file: string): boolean => moduleFromFragmentName(path.posix.basename(file)) !== null || installed.has(file);
  const files: FoundFile[] = [];
  const aliases = new Map<string, string[]>();
  for (const [dir, ...others] of byHostDir.values()) {
    for (const file of readManagedDir(ctx, dir!, candidate)) {
      files.push(file);
      const name = path.posix.basename(file.path);
      aliases.set(file.path, [file.path, ...others.map((other) => path.posix.join(other, name))]);
    }
  }
  for (const file of installed) {
    const dirHost = ctx.fs.resolve(path.posix.dirname(file)).hostPath;
    if (byHostDir.has(dirHost) || aliases.has(file) || !ctx.fs.exists(file)) continue;
    files.push({ path: file, content: readManagedContent(ctx, file, ctx.fs.resolve(file).kind) });
    aliases.set(file, [file]);
  }
  files.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return { files: files.map((f) => ({ ...f, headerModule: f.content === null ? null : fragmentModuleOf(f.content) })), aliases };
}

/**
 * Each file once, whatever the names it is reached by: a vendor file listed
 * twice (a link to another), and a file that is both a vendor file and an admin
 * file (etc/modprobe.d a link to the vendor directory). A file both ways is
 * judged by what it holds: with our marker as an override, else as a fragment.
 */
function judgedOnce(ctx: Context, vendor: readonly VendorFile[], admin: readonly FoundFile[]): { vendorFiles: VendorFile[]; adminFiles: FoundFile[] } {
  const identity = (file: string): string | null => {
    try {
      return ctx.fs.identity(file);
    } catch {
      return null;
    }
  };
  const vendorFiles: VendorFile[] = [];
  const vendorAt = new Map<string, VendorFile>();
  for (const file of vendor) {
    const id = identity(file.path);
    if (id !== null && vendorAt.has(id)) continue;
    if (id !== null) vendorAt.set(id, file);
    vendorFiles.push(file);
  }
  const adminFiles: FoundFile[] = [];
  for (const file of admin) {
    const id = identity(file.path);
    const same = id === null ? undefined : vendorAt.get(id);
    if (same === undefined) {
      adminFiles.push(file);
    } else if (file.content !== null && parseMarker(file.content) !== null) {
      vendorFiles.splice(vendorFiles.indexOf(same), 1);
      adminFiles.push(file);
    }
  }
  return { vendorFiles, adminFiles };
}

/** The state file's directory (a link there is not followed: it is not our directory). Something written there meanwhile keeps it, with a note. */
async function removeEmptyDirectory(ctx: Context, dir: string, notes: string[]): Promise<void> {
  try {
    await ctx.fs.removeEmptyDir(dir);
  } catch (error) {
    const code = errnoCode(error);
    notes.push(`${dir} stays: ${code === "ENOTEMPTY" || code === "EEXIST" ? "something else was written there" : describeErrno(error)}`);
  }
}
