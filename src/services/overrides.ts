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
import { MODPROBE_DIRS, type ListedDir } from "../kmod/config-files.ts";
import { buildEffectiveConfig, type EffectiveConfig } from "../kmod/effective-config.ts";
import { checkModuleName, normaliseModuleName } from "../kmod/module-name.ts";
import type { ConfigEntry } from "../kmod/parse-config.ts";
import { parseMarker, renderMarker, type OverrideMarker } from "../policy/marker.ts";
import { withLock } from "../system/lock.ts";
import { runningRelease } from "../system/kernel-release.ts";
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
  const release = runningRelease(ctx.fs);
  const before = effectiveConfigWith(ctx, release, new Map());
  const date = (options.now ?? new Date()).toISOString();
  const changes: OverrideChange[] = [];
  const seen = new Set<string>();
  for (const name of names) {
    const module = await resolveModule(ctx, name);
    if (seen.has(module)) continue;
    seen.add(module);
    const file = path.posix.join(ctx.config.adminDir, fragmentName(module));
    const current = readCurrent(ctx, file);
    const base = { name, module, path: file, before: current.text, notes: [] as string[] };
    const wasBlocked = blacklistEntries(before, module);

    if (current.owner === "admin") {
      changes.push({
        ...base,
        action: "refused",
        after: current.text,
        reason: `${file} is ${current.what} without fsblacklist's marker: it belongs to the administrator and fsblacklist never changes it`,
        notes: [adminFileAdvice(request, file, module)],
        affectsBlacklist: false,
      });
      continue;
    }

    if (request === "reset") {
      if (current.owner === "none") {
        changes.push({ ...base, action: "unchanged", after: null, reason: `no override in ${file}; the vendor default applies`, affectsBlacklist: false });
        continue;
      }
      const after = effectiveConfigWith(ctx, release, new Map([[file, null]]));
      const nowBlocked = blacklistEntries(after, module);
      changes.push({
        ...base,
        action: "remove",
        after: null,
        reason: nowBlocked.length > 0 ? `the default applies again: blacklisted by ${where(nowBlocked[0]!)}` : `the default applies again: nothing blacklists ${module}`,
        affectsBlacklist: nowBlocked.length > 0 !== wasBlocked.length > 0,
      });
      continue;
    }

    const kind = request;
    const body = kind === "allow" ? "" : await policyFragmentFor(ctx, module);
    const marker: OverrideMarker = {
      kind,
      module,
      reason: options.reason ?? `${kind === "allow" ? "allowed" : "blocked"} by the administrator (fsblacklist ${kind})`,
      date,
      kernel: release,
    };
    const unchanged = current.owner === "ours" && current.marker?.kind === kind && current.text === renderMarker(current.marker) + body;
    const text = unchanged ? current.text! : renderMarker(marker) + body;
    const after = effectiveConfigWith(ctx, release, new Map([[file, text]]));
    const nowBlocked = blacklistEntries(after, module);
    const affectsBlacklist = nowBlocked.length > 0 !== wasBlocked.length > 0;

    if (kind === "allow") {
      if (nowBlocked.length > 0) {
        const first = nowBlocked[0]!;
        changes.push({
          ...base,
          action: "refused",
          after: current.text,
          reason: `${module} would stay blacklisted by ${where(first)}, which fsblacklist does not manage`,
          notes: [
            first.source.file === "proc/cmdline"
              ? `remove modprobe.blacklist=${module} from the kernel command line (the boot loader's configuration), then run fsblacklist allow ${name} again`
              : `remove that line yourself (fsblacklist never edits files it did not write), then run fsblacklist allow ${name} again`,
          ],
          affectsBlacklist: false,
        });
        continue;
      }
      if (unchanged) {
        changes.push({ ...base, action: "unchanged", after: text, reason: `already allowed by ${file}`, affectsBlacklist: false });
        continue;
      }
      const masks = maskedFiles(before, file);
      changes.push({
        ...base,
        action: "allow",
        after: text,
        reason:
          wasBlocked.length > 0
            ? `kmod no longer blacklists ${module}${masks.length > 0 ? ` (masks ${masks.join(", ")})` : ""}`
            : `${module} stays allowed, even after a later fsblacklist apply`,
        affectsBlacklist,
      });
      continue;
    }

    if (unchanged) {
      changes.push({ ...base, action: "unchanged", after: text, reason: `already blocked by ${file}`, notes: await blockNotes(ctx, module), affectsBlacklist: false });
      continue;
    }
    changes.push({
      ...base,
      action: "block",
      after: text,
      reason: `kmod blacklists ${module}, and fsblacklist apply will not lift it even when ${module} is in use`,
      notes: await blockNotes(ctx, module),
      affectsBlacklist,
    });
  }
  return { request, changes };
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
  const dirs: ListedDir[] = MODPROBE_DIRS.map((dir) => {
    let entries = ctx.fs.listDir(dir)?.map((e) => ({ name: e.name, kind: e.kind })) ?? null;
    for (const [file, text] of overlay) {
      if (path.posix.dirname(file) !== dir) continue;
      const name = path.posix.basename(file);
      entries = (entries ?? []).filter((e) => e.name !== name);
      if (text !== null) entries.push({ name, kind: "file" });
    }
    return { dir, entries };
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
          throw new RuntimeFailure(`${change.path} changed since the plan was made; nothing was written`, "run the command again");
        }
      }
      const done: OverrideChange[] = [];
      try {
        for (const change of pending) {
          await writeOrRemove(ctx, change.path, change.after);
          done.push(change);
        }
      } catch (error) {
        for (const change of done.reverse()) {
          try {
            await writeOrRemove(ctx, change.path, change.before);
          } catch {
            // Best effort: the error below names the file that failed first.
          }
        }
        const failed = pending[done.length]!;
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
  const args = ["--ignore-install", ...(ctx.fs.isHostRoot ? [] : ["-d", ctx.fs.root]), "--", module];
  const result = await execa("modprobe", args, { reject: false, stdin: "ignore", env: { LC_ALL: "C" } });
  if (result.exitCode === 0) return { module, ok: true, error: null };
  let error = result.failed && result.exitCode === undefined ? `cannot run modprobe: ${result.shortMessage}` : result.stderr.trim() || `modprobe exited with ${result.exitCode}`;
  if (runningRelease(ctx.fs) !== null && !ctx.fs.exists("proc/modules")) {
    error += "; this kernel has no loadable module support (there is no /proc/modules)";
  }
  return { module, ok: false, error };
}

// ---------------------------------------------------------------------------
// Facts from the policy and the module index (TEMPORARY until issue 3/4 land)

function fragmentName(module: string): string {
  return `60-blacklist_fs-${module}.conf`;
}

async function resolveModule(_ctx: Context, name: string): Promise<string> {
  return normaliseModuleName(name);
}

async function policyFragmentFor(_ctx: Context, module: string): Promise<string> {
  return `blacklist ${module}\ninstall ${module} /usr/bin/fsblacklist modprobe-hook ${module} 2>/dev/null; /sbin/modprobe --ignore-install ${module} $CMDLINE_OPTS\n`;
}

async function blockNotes(_ctx: Context, _module: string): Promise<string[]> {
  return [];
}
