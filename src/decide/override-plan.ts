// What `allow`, `block` and `reset` do to one override file, decided from facts
// read beforehand: the file there now, the policy's fragment, and the effective
// configuration now and as it would be with the planned file in place.
//
// An override is a file in the admin directory under the vendor fragment's
// basename, so kmod lets it mask the vendor file exactly. It starts with our
// marker; a file there without the marker is the administrator's and is never
// written or removed.

import * as path from "node:path";
import type { EffectiveConfig } from "../kmod/effective-config.ts";
import { normaliseModuleName } from "../kmod/module-name.ts";
import type { ConfigEntry } from "../kmod/parse-config.ts";
import { renderMarker, type OverrideMarker } from "../policy/marker.ts";
import { checkBlocked, loadObstacles, type Obstacle } from "./postconditions.ts";
import { simulate, type SystemNow } from "./simulate.ts";

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

/** Files that were refused make the whole plan refused: nothing of it is written. */
export function refusedChanges(plan: OverridePlan): OverrideChange[] {
  return plan.changes.filter((c) => c.action === "refused");
}

export function pendingChanges(plan: OverridePlan): OverrideChange[] {
  return plan.changes.filter((c) => c.action === "allow" || c.action === "block" || c.action === "remove");
}

/** The entry at the override's path now. */
export interface CurrentOverride {
  /** "none": no entry; "ours": a regular file with our marker; "admin": anything else. */
  owner: "none" | "ours" | "admin";
  text: string | null;
  marker: OverrideMarker | null;
  /** For "admin": what is there ("a regular file", "a link to /dev/null", ...). */
  what: string;
}

export interface OverrideFacts {
  request: OverrideRequest;
  /** The name as the user gave it. */
  name: string;
  module: string;
  /** Root-relative path of the override file. */
  file: string;
  current: CurrentOverride;
  /** The policy's fragment for the module, rendered for the profile; null when the policy does not list it. */
  policyFragment: string | null;
  /** What a block override holds for a module the policy does not list (the profile's directives). */
  blockDirectives: string;
  /** What a marker written now records besides kind and module (reason null: say which command wrote it). */
  stamp: { reason: string | null; date: string; kernel: string | null };
  /** The configuration and the kernel as read now: each planned file is simulated on it before it counts. */
  now: SystemNow;
  /** What blocking the module means for this system (in use, built in); only `block` reports them. */
  blockNotes: string[];
  /** Evidence that this system uses the module ("jfs loaded (proc/modules)"); `reset` warns with it. */
  inUse: string[];
}

/** The text the override file holds after the request (null: no file). */
export function plannedText(facts: OverrideFacts): string | null {
  const { request, module, current, stamp } = facts;
  if (current.owner === "admin") return current.text;
  if (request === "reset") return null;
  const body = request === "allow" ? "" : (facts.policyFragment ?? facts.blockDirectives);
  // The same decision again keeps the file as it is, with its original date.
  if (current.owner === "ours" && current.marker?.kind === request && current.text === renderMarker(current.marker) + body) return current.text;
  const reason = stamp.reason ?? `${request === "allow" ? "allowed" : "blocked"} by the administrator (fsblacklist ${request})`;
  return renderMarker({ kind: request, module, reason, date: stamp.date, kernel: stamp.kernel }) + body;
}

/**
 * The change for one name, checked on the simulation of the next boot with
 * `plannedText(facts)` in place: an allow must leave the module loadable for
 * every filesystem type it serves, a block must leave it out for all of them;
 * otherwise the change is refused and names the lines in the way.
 */
export function decideOverride(facts: OverrideFacts): OverrideChange {
  const before = simulate(facts.now, { nextBoot: true }).config;
  const planned = plannedText(facts);
  const afterSim = simulate(facts.now, { files: new Map([[facts.file, facts.current.owner === "admin" ? null : planned]]), nextBoot: true });
  const after = facts.current.owner === "admin" ? before : afterSim.config;
  const blockedBefore = blacklistEntries(before, facts.module);
  const change = (action: OverrideAction, text: string | null, reason: string, notes: string[], blockedAfter: readonly ConfigEntry[]): OverrideChange => ({
    action,
    name: facts.name,
    module: facts.module,
    path: facts.file,
    before: facts.current.text,
    after: text,
    reason,
    notes,
    affectsBlacklist: action !== "refused" && action !== "unchanged" && blockedAfter.length > 0 !== blockedBefore.length > 0,
  });
  const refuse = (reason: string, advice: string): OverrideChange => change("refused", facts.current.text, reason, [advice], blockedBefore);
  const { request, module, name, file, current } = facts;

  if (current.owner === "admin") {
    // The administrator's own file (a link to /dev/null, say) may already do what was asked.
    if (request === "allow" && loadObstacles(simulate(facts.now, { nextBoot: true }), module).length === 0 && blockedBefore.length === 0) {
      return change("unchanged", current.text, `already allowed: nothing blacklists ${module} (${file} is the administrator's ${current.what.replace(/^an? /, "")})`, [], blockedBefore);
    }
    return refuse(`${file} is ${current.what} without fsblacklist's marker: it belongs to the administrator and fsblacklist never changes it`, adminFileAdvice(request, file, module));
  }
  const blockedAfter = blacklistEntries(after, module);
  if (request === "reset") {
    if (current.owner === "none") return change("unchanged", null, `no override in ${file}; the default applies`, [], blockedBefore);
    const first = blockedAfter[0];
    // Dropping an allow or block of a module in use blocks it until `apply` keeps it again.
    const notes = first !== undefined && facts.inUse.length > 0 ? [`${module} is in use (${facts.inUse.join("; ")}) and blacklisted again: run fsblacklist apply to keep it loadable`] : [];
    return change("remove", null, first === undefined ? `the default applies again: nothing blacklists ${module}` : `the default applies again: blacklisted by ${where(first)}`, notes, blockedAfter);
  }
  const text = planned;
  if (request === "block") {
    const check = checkBlocked(afterSim, module);
    if (check.dependents !== null) {
      const instead = check.dependents.length > 0 ? `block the filesystems that need it instead: fsblacklist block ${check.dependents.join(" ")}` : "no filesystem type asks for it";
      return refuse(`${module} serves no filesystem type itself: the kernel loads it only as a dependency, which a blacklist does not stop`, instead);
    }
    if (check.leaks.length > 0) {
      return refuse(
        `${module} would still load: ${check.leaks.map((l) => `fs-${l.type} loads ${l.module}`).join(", ")}`,
        `block ${[...new Set(check.leaks.map((l) => l.module).filter((m) => m !== module))].join(" ") || module} as well, or find the configuration line that loads it`,
      );
    }
    if (current.text === text) return change("unchanged", text, `already blocked by ${file}`, facts.blockNotes, blockedAfter);
    return change("block", text, `kmod blacklists ${module}, and fsblacklist apply will not lift it even when ${module} is in use`, facts.blockNotes, blockedAfter);
  }

  const obstacles = loadObstacles(afterSim, module);
  if (obstacles.length > 0) {
    return refuse(`${module} would stay unloadable: ${obstacles.map((o) => o.text).join("; ")}; fsblacklist does not manage those lines`, obstacleAdvice(obstacles, name));
  }
  if (current.text === text) return change("unchanged", text, `already allowed by ${file}`, [], blockedAfter);
  if (current.owner === "none" && blockedBefore.length === 0 && facts.policyFragment === null) {
    return change("unchanged", null, `nothing blacklists ${module}; no override needed`, [], blockedAfter);
  }
  const masks = maskedFiles(before, file);
  const reason =
    blockedBefore.length > 0
      ? `kmod no longer blacklists ${module}${masks.length > 0 ? ` (masks ${masks.join(", ")})` : ""}`
      : `${module} stays allowed, even when a later fsblacklist apply installs the policy`;
  return change("allow", text, reason, [], blockedAfter);
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

/** What to do about lines fsblacklist may not change: the boot loader's for the command line, the administrator's own otherwise. */
function obstacleAdvice(obstacles: readonly Obstacle[], name: string): string {
  const onCmdline = obstacles.some((o) => o.source?.file === "proc/cmdline" || o.blocker.kind === "module_blacklist");
  const inFiles = obstacles.some((o) => o.source !== null && o.source.file !== "proc/cmdline");
  const steps = [
    ...(inFiles ? ["comment out those lines or mask their files from etc/modprobe.d yourself (fsblacklist explain --type " + name + " prints the commands)"] : []),
    ...(onCmdline ? ["remove those words from the kernel command line in the boot loader's configuration and reboot"] : []),
  ];
  return `${steps.join(", and ")}, then run fsblacklist allow ${name} again`;
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
