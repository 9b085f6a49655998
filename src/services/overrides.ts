// The one place that writes administrator overrides: `allow`, `block`, `reset`,
// the modprobe-hook prompt and the review UI all plan and apply through here.
//
// An override is a file in the admin directory under the vendor fragment's
// basename, so kmod lets it mask the vendor file exactly. It starts with our
// marker; a file there without the marker is the administrator's and is never
// written or removed. Planning is separate from applying so that callers can
// show a diff first (--dry-run, the review UI) and apply exactly what was shown.

import * as path from "node:path";
import type { Context } from "../context.ts";
import { RuntimeFailure, UsageError, errnoCode } from "../errors.ts";
import type { ListedDir } from "../kmod/config-files.ts";
import { buildEffectiveConfig, type EffectiveConfig } from "../kmod/effective-config.ts";
import { checkModuleName, normaliseModuleName } from "../kmod/module-name.ts";
import type { ConfigEntry } from "../kmod/parse-config.ts";
import { parseMarker, renderMarker, type OverrideMarker } from "../policy/marker.ts";
import { withLock } from "../system/lock.ts";
import { listConfigDirs } from "../system/modprobe-config.ts";
import { runningRelease } from "../system/kernel-release.ts";
import { listInstalledReleases, readModuleIndex, type ModuleIndex } from "../system/module-index.ts";
import { installBlocks, installEffect, installEntryFor, resolveFilesystemName } from "../kmod/resolve.ts";
import { fragmentName, hookInstallLine, loadPolicy, renderFragment, shippedPolicyDir, type Policy } from "../policy/policy.ts";
import { readSystemUsage } from "../system/usage.ts";
import { behaviourFor } from "./modprobe-config.ts";

export type OverrideRequest = "allow" | "block" | "reset";
/** What happens to one override file. */
export type OverrideAction = "allow" | "block" | "remove" | "unchanged" | "refused";

export interface OverrideChange {
  action: OverrideAction;
  /** The name as the user gave it (a filesystem type or a module name). */
  name: string;
  module: string;
  /** Root-relative path of the override file. */
  path: string;
  /** The file's contents now and after the change; null = no file. */
  before: string | null;
  after: string | null;
  /** One sentence: what the change does, or why it is not done. */
  reason: string;
  /** What the administrator should know besides (in use, built in, what to do after a refusal). */
  notes: string[];
  /** Carrying it out changes whether kmod blacklists the module (the initramfs copy goes stale). */
  affectsBlacklist: boolean;
}

export interface OverridePlan {
  request: OverrideRequest;
  changes: OverrideChange[];
}

export interface PlanOptions {
  /** The reason recorded in the marker (default: says which command wrote it). */
  reason?: string;
  /** Time recorded in the marker (tests pin it). */
  now?: Date;
}

/** Files that were refused make the whole plan refused: nothing of it is written. */
export function refusedChanges(plan: OverridePlan): OverrideChange[] {
  return plan.changes.filter((c) => c.action === "refused");
}

export function pendingChanges(plan: OverridePlan): OverrideChange[] {
  return plan.changes.filter((c) => c.action === "allow" || c.action === "block" || c.action === "remove");
}

/**
 * Validates every name before looking at anything else: names end up in file
 * names and in `install` lines that modprobe runs through a shell as root.
 */
export function checkOverrideNames(names: readonly string[]): void {
  if (names.length === 0) throw new UsageError("name at least one filesystem type or module");
  for (const name of names) checkModuleName(name, "filesystem or module name");
}

/** Changing a system needs root; under --root DIR whoever can write the tree may (image builds). */
export function requireRootForChanges(ctx: Context, command: string): void {
  if (ctx.uid !== 0 && ctx.fs.isHostRoot) {
    throw new UsageError(`${command} changes ${ctx.config.adminDir} and needs root`, `run it as root (sudo fsblacklist ${command} ...), or add --dry-run to see what it would change`);
  }
}

// ---------------------------------------------------------------------------
// Planning

interface CurrentFile {
  /** "none": no entry; "ours": a regular file with our marker; "admin": anything else. */
  owner: "none" | "ours" | "admin";
  text: string | null;
  marker: OverrideMarker | null;
  /** For "admin": what is there ("a regular file", "a link to /dev/null", ...). */
  what: string;
}

export async function planOverride(ctx: Context, request: OverrideRequest, names: readonly string[], options: PlanOptions = {}): Promise<OverridePlan> {
  checkOverrideNames(names);
  const facts = readFacts(ctx);
  const before = effectiveConfigWith(ctx, facts.release, new Map());
  const date = (options.now ?? new Date()).toISOString();
  const changes: OverrideChange[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const module = resolveModule(facts, name) ?? unknownName(ctx, facts, request, name, before);
    if (seen.has(module)) continue;
    seen.add(module);
    const file = path.posix.join(ctx.config.adminDir, fragmentName(module));
    const target: Target = { name, module, file, current: readCurrent(ctx, file), blockedBefore: blacklistEntries(before, module) };
    /** The blacklist entries for the module if `file` held `text` (null: no file). */
    const configWith = (text: string | null): EffectiveConfig => effectiveConfigWith(ctx, facts.release, new Map([[file, text]]));
    const blockedWith = (text: string | null): ConfigEntry[] => blacklistEntries(configWith(text), module);

    if (target.current.owner === "admin") {
      changes.push(refuseAdminFile(request, target));
    } else if (request === "reset") {
      changes.push(planReset(target, blockedWith));
    } else {
      const body = request === "allow" ? "" : blockBody(ctx, facts, module);
      const marker: OverrideMarker = {
        kind: request,
        module,
        reason: options.reason ?? `${request === "allow" ? "allowed" : "blocked"} by the administrator (fsblacklist ${request})`,
        date,
        kernel: facts.release,
      };
      const { current } = target;
      // The same decision again keeps the file as it is, with its original date.
      const text = current.owner === "ours" && current.marker?.kind === request && current.text === renderMarker(current.marker) + body ? current.text : renderMarker(marker) + body;
      changes.push(
        request === "allow"
          ? planAllow(target, text, configWith(text), { inPolicy: inPolicy(facts, module), masks: maskedFiles(before, file) })
          : planBlock(target, text, blockedWith(text), blockNotes(ctx, facts, module)),
      );
    }
  }
  return { request, changes };
}

interface Target {
  name: string;
  module: string;
  file: string;
  current: CurrentFile;
  /** Blacklist entries for the module now. */
  blockedBefore: ConfigEntry[];
}

function change(target: Target, action: OverrideAction, after: string | null, reason: string, notes: string[], blockedAfter: readonly ConfigEntry[]): OverrideChange {
  return {
    action,
    name: target.name,
    module: target.module,
    path: target.file,
    before: target.current.text,
    after,
    reason,
    notes,
    affectsBlacklist: action !== "refused" && action !== "unchanged" && blockedAfter.length > 0 !== target.blockedBefore.length > 0,
  };
}

function refuseAdminFile(request: OverrideRequest, target: Target): OverrideChange {
  const { file, module, current } = target;
  return change(
    target,
    "refused",
    current.text,
    `${file} is ${current.what} without fsblacklist's marker: it belongs to the administrator and fsblacklist never changes it`,
    [adminFileAdvice(request, file, module)],
    target.blockedBefore,
  );
}

function planReset(target: Target, blockedWith: (text: string | null) => ConfigEntry[]): OverrideChange {
  if (target.current.owner === "none") {
    return change(target, "unchanged", null, `no override in ${target.file}; the default applies`, [], target.blockedBefore);
  }
  const after = blockedWith(null);
  const reason = after.length > 0 ? `the default applies again: blacklisted by ${where(after[0]!)}` : `the default applies again: nothing blacklists ${target.module}`;
  return change(target, "remove", null, reason, [], after);
}

function planAllow(target: Target, text: string, after: EffectiveConfig, facts: { inPolicy: boolean; masks: string[] }): OverrideChange {
  const { module, name, file, current } = target;
  const blockedAfter = blacklistEntries(after, module);
  const first = blockedAfter[0];
  if (first !== undefined) {
    return change(target, "refused", current.text, `${module} would stay blacklisted by ${where(first)}, which fsblacklist does not manage`, [
      first.source.file === "proc/cmdline"
        ? `remove modprobe.blacklist=${module} from the kernel command line (the boot loader's configuration), then run fsblacklist allow ${name} again`
        : `remove that line yourself (fsblacklist never edits files it did not write), then run fsblacklist allow ${name} again`,
    ], target.blockedBefore);
  }
  const install = installEntryFor(module, after.entries);
  // Our own hook line loads the module; a line that fails or does nothing keeps it out whatever the blacklist says.
  const effect = install === null ? null : installEffect(install.command, module);
  if (install !== null && effect !== null && effect !== "hook" && installBlocks(effect)) {
    return change(
      target,
      "refused",
      current.text,
      `${module} would stay unloadable: ${install.source.file}:${install.source.line} runs "${install.command}" instead of loading it, and fsblacklist does not manage that file`,
      [`remove that install line yourself, then run fsblacklist allow ${name} again`],
      target.blockedBefore,
    );
  }
  if (current.text === text) return change(target, "unchanged", text, `already allowed by ${file}`, [], blockedAfter);
  if (current.owner === "none" && target.blockedBefore.length === 0 && !facts.inPolicy) {
    return change(target, "unchanged", null, `nothing blacklists ${module}; no override needed`, [], blockedAfter);
  }
  const reason =
    target.blockedBefore.length > 0
      ? `kmod no longer blacklists ${module}${facts.masks.length > 0 ? ` (masks ${facts.masks.join(", ")})` : ""}`
      : `${module} stays allowed, even when a later fsblacklist apply installs the policy`;
  return change(target, "allow", text, reason, [], blockedAfter);
}

function planBlock(target: Target, text: string, blockedAfter: ConfigEntry[], notes: string[]): OverrideChange {
  if (target.current.text === text) return change(target, "unchanged", text, `already blocked by ${target.file}`, notes, blockedAfter);
  const module = target.module;
  return change(target, "block", text, `kmod blacklists ${module}, and fsblacklist apply will not lift it even when ${module} is in use`, notes, blockedAfter);
}

function inPolicy(facts: Facts, module: string): boolean {
  return facts.policy.entries.some((e) => normaliseModuleName(e.module) === module);
}

function adminFileAdvice(request: OverrideRequest, file: string, module: string): string {
  switch (request) {
    case "allow":
      return `to allow ${module}, remove its blacklist line from ${file} yourself, or delete the file and run fsblacklist allow ${module} again`;
    case "block":
      return `to block ${module}, add 'blacklist ${module}' to ${file} yourself, or delete the file and run fsblacklist block ${module} again`;
    case "reset":
      return `if the vendor default should apply, delete ${file} yourself`;
  }
}

function where(entry: ConfigEntry): string {
  return entry.source.file === "proc/cmdline" ? "the kernel command line (proc/cmdline)" : `${entry.source.file}:${entry.source.line}`;
}

function readCurrent(ctx: Context, file: string): CurrentFile {
  const entry = ctx.fs.listDir(path.posix.dirname(file))?.find((e) => e.name === path.posix.basename(file));
  if (entry === undefined) return { owner: "none", text: null, marker: null, what: "" };
  if (entry.kind !== "file") {
    const what = { devnull: "a link to /dev/null", dangling: "a dangling link", directory: "a directory", other: "a special file" }[entry.kind];
    return { owner: "admin", text: null, marker: null, what };
  }
  const text = ctx.fs.readText(file) ?? "";
  const marker = parseMarker(text);
  return { owner: marker === null ? "admin" : "ours", text, marker, what: "a file" };
}

/** The blacklist entries for `module` in a configuration, in kmod's order. */
export function blacklistEntries(config: EffectiveConfig, module: string): ConfigEntry[] {
  const wanted = normaliseModuleName(module);
  return config.entries.filter((e) => e.kind === "blacklist" && e.module === wanted);
}

/** Files of other directories that a file at `file` masks (same basename). */
function maskedFiles(config: EffectiveConfig, file: string): string[] {
  const name = path.posix.basename(file);
  const winner = config.files.find((f) => f.name === name);
  if (winner === undefined) return [];
  return [winner.path, ...winner.masks].filter((p) => p !== file);
}

/**
 * The effective configuration as it would be with some files of the root
 * replaced (text) or removed (null): how we know what kmod will do after a
 * change before making it.
 */
export function effectiveConfigWith(ctx: Context, release: string | null, overlay: ReadonlyMap<string, string | null>): EffectiveConfig {
  const dirs: ListedDir[] = listConfigDirs(ctx.fs, behaviourFor(ctx), []).map((listed) => {
    // A path that is not a directory cannot hold an override: writing one would fail.
    if (listed.notDirectory !== undefined) return listed;
    let entries = listed.entries;
    for (const [file, text] of overlay) {
      if (path.posix.dirname(file) !== listed.dir) continue;
      const name = path.posix.basename(file);
      entries = (entries ?? []).filter((e) => e.name !== name);
      if (text !== null) entries.push({ name, kind: "file" });
    }
    return { ...listed, entries };
  });
  const moduleDirFiles =
    release === null ? [] : (["modules.softdep", "modules.weakdep"] as const).map((name) => ({ name, path: `lib/modules/${release}/${name}` }));
  return buildEffectiveConfig({
    dirs,
    readFile: (file) => {
      const replaced = overlay.get(file);
      if (replaced !== undefined) return replaced === null ? null : Buffer.from(replaced, "utf8").toString("latin1");
      try {
        return ctx.fs.readBytes(file)?.toString("latin1") ?? null;
      } catch {
        return null;
      }
    },
    moduleDirFiles,
    cmdline: ctx.fs.readBytes("proc/cmdline")?.toString("latin1") ?? null,
    behaviour: behaviourFor(ctx),
  });
}

// ---------------------------------------------------------------------------
// Applying

/** A file of the plan changed after it was made (another run, or the administrator); nothing was written. */
export class PlanOutdated extends RuntimeFailure {}

export interface ApplyOptions {
  /** How long to wait for another run's lock (the modprobe hook waits briefly). */
  lockTimeoutMs?: number;
  onWait?: (ownerPid: number) => void;
}

/**
 * Carries out a plan under the root's lock. Refuses a plan with refusals, and a
 * plan whose files changed since it was made (nothing is written then). If a
 * write fails half way, the files already changed are put back.
 */
export async function applyOverridePlan(ctx: Context, plan: OverridePlan, options: ApplyOptions = {}): Promise<{ changed: boolean }> {
  const refused = refusedChanges(plan);
  if (refused.length > 0) {
    throw new RuntimeFailure(`refusing to apply a plan with refused changes (${refused.map((c) => c.path).join(", ")}); nothing was written`);
  }
  const pending = pendingChanges(plan);
  if (pending.length === 0) return { changed: false };
  requireRootForChanges(ctx, plan.request);
  const lockOptions = { ...(options.onWait ? { onWait: options.onWait } : {}), ...(options.lockTimeoutMs !== undefined ? { timeoutMs: options.lockTimeoutMs } : {}) };
  return withLock(
    ctx.fs,
    async () => {
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
          `cannot ${failed.after === null ? "remove" : "write"} ${failed.path}: ${errnoCode(error) ?? (error instanceof Error ? error.message : String(error))}; nothing was changed`,
          errnoCode(error) === "EROFS" ? "the file system is read-only" : errnoCode(error) === "EACCES" ? "permission denied: run as root" : undefined,
          { cause: error },
        );
      }
      return { changed: true };
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
  const { execa } = await import("execa");
  const release = runningRelease(ctx.fs);
  const underRoot = ctx.fs.isHostRoot ? [] : ["-d", ctx.fs.root, ...(release === null ? [] : ["-S", release])];
  const args = ["--ignore-install", ...underRoot, "--", module];
  const result = await execa("modprobe", args, { reject: false, stdin: "ignore", env: { LC_ALL: "C" } });
  if (result.exitCode === 0) return { module, ok: true, error: null };
  let error = result.failed && result.exitCode === undefined ? `cannot run modprobe: ${result.shortMessage}` : result.stderr.trim() || `modprobe exited with ${result.exitCode}`;
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
  const installed = listInstalledReleases(ctx.fs).reverse();
  const releases = release !== null && installed.includes(release) ? [release, ...installed.filter((r) => r !== release)] : installed;
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
 * A name that neither an installed kernel nor the policy knows is most likely a
 * typo, unless the configuration mentions it already or there is no module index
 * to ask (an image without a kernel yet).
 */
function unknownName(ctx: Context, facts: Facts, request: OverrideRequest, name: string, config: EffectiveConfig): string {
  const module = normaliseModuleName(name);
  if (request === "reset" || facts.releases.length === 0) return module;
  const file = path.posix.join(ctx.config.adminDir, fragmentName(module));
  if (blacklistEntries(config, module).length > 0 || readCurrent(ctx, file).owner !== "none") return module;
  throw new UsageError(
    `unknown filesystem or module '${name}': no installed kernel (${facts.releases.join(", ")}) has a module or filesystem of that name, and the policy does not list it`,
    "check the spelling; fsblacklist status lists the policy's filesystems",
  );
}

/** What `block` writes after the marker: the policy's own fragment, or the same two lines for a module it does not list. */
function blockBody(ctx: Context, facts: Facts, module: string): string {
  const entry = facts.policy.entries.find((e) => normaliseModuleName(e.module) === module);
  if (entry !== undefined) return renderFragment(entry, ctx.config.profile);
  return `blacklist ${module}\n${hookInstallLine(module)}\n`;
}

/** What blocking a module means for this system: what uses it, and whether a blacklist can matter at all. */
function blockNotes(ctx: Context, facts: Facts, module: string): string[] {
  const index = facts.release === null ? null : facts.index(facts.release);
  const notes: string[] = [];
  if (index?.builtin.has(module)) notes.push(`${module} is built into kernel ${index.release}: a blacklist has no effect on it`);
  const evidence = readSystemUsage(ctx.fs, index).evidenceFor(module);
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
