// What `apply` will do, decided without touching anything: which policy fragments
// to install, update or remove in the vendor directory, and which filesystems the
// running system needs, kept loadable by a marked override of the same name in the
// admin directory (kmod lets the first directory that has a name win it, so the
// override masks the vendor fragment exactly).
//
// Boot safety:
// - A file in the admin directory without our marker is the administrator's, and
//   an `allow` or `block` override is the administrator's decision: both always
//   win, and apply never rewrites or removes them.
// - A keep is lifted only when everything that could show use was looked at and
//   nothing does. Without a running kernel (a chroot, an image build) we cannot see
//   what is loaded or mounted, so keeps stay. An fstab entry, `noauto` included,
//   is use: a filesystem mounted only by hand stays loadable.
// - Changes are ordered so that no intermediate state blocks an in-use filesystem:
//   keeps before the fragments they mask, fragment removals before the keeps that
//   masked them. A run that dies half-way leaves a state the next run completes.

import gt from "semver/functions/gt.js";
import valid from "semver/functions/valid.js";
import * as path from "node:path";
import { parseMarker, renderMarker } from "../policy/marker.ts";
import { falseInstallLine, moduleFromFragmentName, profileRefusesLoading, renderFragment, type ForeignInstall, type PolicyEntry } from "../policy/fragment.ts";
import { normaliseModuleName } from "../kmod/module-name.ts";
import { renderModprobeC, type EffectiveConfig } from "../kmod/effective-config.ts";
import type { KeepSignal } from "../model.ts";
import type { ApplyState, KeptRecord } from "../model.ts";

/** One fragment of the configured profile, rendered. */
export interface PolicyFragment {
  module: string;
  /** Basename, the same in the vendor and the admin directory. */
  fileName: string;
  content: string;
  /** Policy version that first listed it (semver). */
  since: string;
  reason: string;
  /** The policy entry it is rendered from: other renderings tell what changed an installed copy. */
  entry: PolicyEntry;
  /** Install lines of other files that match the module, which the fragment defers to (then it has no install line). */
  foreign: readonly ForeignInstall[];
}

export interface FoundFile {
  /** Root-relative path. */
  path: string;
  /** Text; "" for a link to /dev/null; null when it is not a regular file (directory, dangling link). */
  content: string | null;
}

export interface VendorFile extends FoundFile {
  /** The module named by our policy header in its content, or null when it has none (not ours by content). */
  headerModule: string | null;
  /**
   * What the path is on the system (RootFs.identity()), null when unknown: two
   * names of one file (lib -> usr/lib on a merged /usr) are never told apart by
   * their names, and removing one would remove the other.
   */
  identity?: string | null;
}

/** "always": keep.always; "container-runtime": a container runtime is installed (overlay only). Both count whatever keep.signals says. */
export type UseSignal = KeepSignal | "always" | "container-runtime";

/** One piece of evidence that the system needs a module. */
export interface UseEvidence {
  module: string;
  signal: UseSignal;
  /** "loaded in the running kernel (proc/modules)", "etc/fstab:4: /mnt/old (noauto)", ... */
  detail: string;
}

export interface PlanInput {
  vendorDir: string;
  adminDir: string;
  policyVersion: string;
  /** The profile this run applies. */
  profile: string;
  /** Every module of the policy with the profiles that list it (a fragment of another profile is not "dropped"). */
  profilesOf: ReadonlyMap<string, readonly string[]>;
  /** Every profile the policy defines, in policy.json's order. */
  profiles: readonly string[];
  fragments: readonly PolicyFragment[];
  /** Candidate fragments on disk: the vendor directory's and every path the state lists. */
  vendorFiles: readonly VendorFile[];
  /** Every entry of the admin directory. */
  adminFiles: readonly FoundFile[];
  evidence: readonly UseEvidence[];
  keepSignals: readonly KeepSignal[];
  /** The running kernel's state (proc/) was read; false: fstab and mount units only. */
  sawRunningKernel: boolean;
  /** Release of the running kernel, null without one. */
  kernel: string | null;
  previous: ApplyState | null;
  /** ISO 8601 time of this run. */
  now: string;
}

export type ActionKind = "keep" | "install" | "update" | "remove" | "unkeep" | "skip";

export interface PlannedAction {
  action: ActionKind;
  /** Root-relative path of the file concerned. */
  path: string;
  module: string;
  reason: string;
  /** What to write (keep, install, update); absent for removals and skips. */
  content?: string;
}

export interface NewEntry {
  module: string;
  since: string;
  reason: string;
}

export interface ApplyPlan {
  /** In the order they must be carried out (see the header). */
  actions: PlannedAction[];
  /** Every filesystem kept loadable after this run, new and earlier keeps. */
  kept: KeptRecord[];
  /** Entries whose `since` is newer than the last applied policy version. */
  newEntries: NewEntry[];
  notes: string[];
  /** Fragments we own after this run (sorted). */
  installed: string[];
}

const PHASE: Record<ActionKind, number> = { keep: 0, install: 1, update: 1, remove: 2, unkeep: 3, skip: 4 };

export function planApply(input: PlanInput): ApplyPlan {
  const actions: PlannedAction[] = [];
  const kept: KeptRecord[] = [];
  const notes: string[] = [];
  const installed = new Set<string>();
  const previousInstalled = new Set(input.previous?.installed ?? []);
  const evidence = evidenceByModule(input);
  const adminByName = new Map(input.adminFiles.map((f) => [path.posix.basename(f.path), f]));
  const vendorByPath = new Map(input.vendorFiles.map((f) => [f.path, f]));
  const ours = (file: VendorFile): boolean => file.content !== null && (previousInstalled.has(file.path) || file.headerModule !== null);
  const wanted = new Set<string>();
  const lastProfile = lastProfileOf(input);

  for (const fragment of input.fragments) {
    const target = path.posix.join(input.vendorDir, fragment.fileName);
    wanted.add(target);
    const existing = vendorByPath.get(target);
    if (existing === undefined) {
      actions.push({ action: "install", path: target, module: fragment.module, reason: fragment.reason, content: fragment.content });
      installed.add(target);
    } else if (existing.content === fragment.content) {
      installed.add(target);
    } else if (ours(existing)) {
      actions.push({ action: "update", path: target, module: fragment.module, reason: updateReason(input, lastProfile, fragment, existing.content ?? ""), content: fragment.content });
      installed.add(target);
    } else {
      const what = existing.content === null ? "is not a regular file" : "was not written by fsblacklist";
      actions.push({ action: "skip", path: target, module: fragment.module, reason: `${target} ${what}; left alone, it decides for ${fragment.module}` });
    }

    const override = path.posix.join(input.adminDir, fragment.fileName);
    const adminFile = adminByName.get(fragment.fileName);
    const uses = evidence.get(normaliseModuleName(fragment.module)) ?? [];
    if (adminFile === undefined) {
      if (uses.length === 0) continue;
      const reason = uses.map((u) => u.detail).join("; ");
      const record: KeptRecord = { module: fragment.module, reason, since: input.now, kernel: input.kernel };
      actions.push({ action: "keep", path: override, module: fragment.module, reason, content: renderKeepOverride(record, target) });
      kept.push(record);
      continue;
    }
    const marker = adminFile.content === null ? null : parseMarker(adminFile.content);
    if (marker === null) {
      actions.push({ action: "skip", path: override, module: fragment.module, reason: "the administrator's own file of this name decides" });
    } else if (marker.kind === "allow") {
      actions.push({ action: "skip", path: override, module: fragment.module, reason: `allowed by \`fsblacklist allow\` (${marker.date})` });
    } else if (marker.kind === "block") {
      actions.push({ action: "skip", path: override, module: fragment.module, reason: `blocked by \`fsblacklist block\` (${marker.date})` });
      if (uses.length > 0) {
        notes.push(
          `${fragment.module} is in use (${uses.map((u) => u.detail).join("; ")}) but stays blocked by \`fsblacklist block\`; ` + `\`fsblacklist reset ${fragment.module}\` lets apply keep it`,
        );
      }
    } else if (uses.length > 0 || !input.sawRunningKernel) {
      kept.push({ module: fragment.module, reason: marker.reason, since: marker.date, kernel: marker.kernel });
      if (uses.length === 0) {
        notes.push(`${fragment.module} stays kept (${marker.reason}): without a running kernel, apply cannot tell whether it is still loaded or mounted`);
      }
    } else {
      actions.push({
        action: "unkeep",
        path: override,
        module: fragment.module,
        reason: `no longer in use (kept since ${marker.date}: ${marker.reason}); the policy's blacklist applies again`,
      });
    }
  }

  // A name that is another name of a file we keep or already remove is no file of its own.
  const handled = new Set(input.vendorFiles.filter((f) => wanted.has(f.path)).map((f) => f.identity ?? null));
  handled.delete(null);
  for (const file of input.vendorFiles) {
    if (wanted.has(file.path) || !ours(file)) continue;
    if (file.identity != null) {
      if (handled.has(file.identity)) continue;
      handled.add(file.identity);
    }
    const module = file.headerModule ?? moduleFromFragmentName(path.posix.basename(file.path)) ?? path.posix.basename(file.path);
    const moved = input.fragments.some((f) => f.fileName === path.posix.basename(file.path));
    const reason = moved ? `the policy's fragments now go to ${input.vendorDir}` : removeReason(input, lastProfile, module);
    actions.push({ action: "remove", path: file.path, module, reason });
  }
  const fragmentNames = new Set(input.fragments.map((f) => f.fileName));
  for (const file of input.adminFiles) {
    const name = path.posix.basename(file.path);
    if (fragmentNames.has(name) || file.content === null) continue;
    const marker = parseMarker(file.content);
    if (marker?.kind !== "keep") continue;
    // A file of the same name that we did not write may still be there to mask.
    const masked = vendorByPath.get(path.posix.join(input.vendorDir, name));
    if (masked !== undefined && !ours(masked)) {
      kept.push({ module: marker.module, reason: marker.reason, since: marker.date, kernel: marker.kernel });
      continue;
    }
    const where = (input.profilesOf.get(marker.module) ?? []).length > 0 ? `not in profile ${input.profile}` : "no longer in the policy";
    actions.push({ action: "unkeep", path: file.path, module: marker.module, reason: `its filesystem is ${where}, so there is nothing to keep it from` });
  }

  actions.sort((a, b) => PHASE[a.action] - PHASE[b.action] || compare(a.path, b.path));
  kept.sort((a, b) => compare(a.module, b.module));
  return { actions, kept, newEntries: newEntries(input), notes, installed: [...installed].sort(compare) };
}

/** The state to record after carrying out `plan`. */
export function nextState(input: PlanInput, plan: ApplyPlan, initramfs: Pick<ApplyState, "initramfsPending" | "initramfsOwedSince">): ApplyState {
  return { policyVersion: input.policyVersion, profile: input.profile, appliedAt: input.now, kept: plan.kept, installed: plan.installed, ...initramfs };
}

/** The plan writes or removes files (skips do not). */
export function changesFiles(plan: ApplyPlan): boolean {
  return plan.actions.some((a) => a.action !== "skip");
}

/** The files the actions leave behind: new text, or null for a removed file (skips write nothing). */
export function plannedFiles(actions: readonly PlannedAction[]): Map<string, string | null> {
  const files = new Map<string, string | null>();
  for (const action of actions) if (action.action !== "skip") files.set(action.path, action.content ?? null);
  return files;
}

/** Whether kmod enforces something else: the configuration `modprobe -c` prints differs (comments do not count). */
export function enforcementChanged(before: EffectiveConfig, after: EffectiveConfig): boolean {
  return renderModprobeC(before) !== renderModprobeC(after);
}

export function renderKeepOverride(record: KeptRecord, vendorPath: string): string {
  const marker = renderMarker({ kind: "keep", module: record.module, reason: record.reason, date: record.since, kernel: record.kernel });
  return (
    marker +
    `# This file masks /${vendorPath} (kmod reads only the first file of a name),\n` +
    `# so ${record.module} stays loadable: the system needed it when \`fsblacklist apply\` ran.\n` +
    `# \`fsblacklist block ${record.module}\` blocks it anyway; apply lifts this keep once nothing uses ${record.module}.\n`
  );
}

/**
 * Why an installed fragment of ours differs from the policy's text: the text is
 * rendered again as the last run would have written it (the profile it recorded,
 * or, from a state without one, each profile of the policy; the install lines the
 * file itself says it deferred to), and what differs from this run is named.
 * When no rendering gives the file back, a new policy version changed it, or,
 * with the same version, someone edited it.
 */
function updateReason(input: PlanInput, lastProfile: string | null, fragment: PolicyFragment, existing: string): string {
  const lastVersion = input.previous?.policyVersion ?? null;
  const deferredTo = installsInForce(existing);
  const candidates = lastProfile !== null ? [lastProfile] : [input.profile, ...input.profiles.filter((p) => p !== input.profile)];
  const origins = candidates.filter((profile) => renderFragment(fragment.entry, profile, deferredTo) === existing);
  // Profiles that write this fragment alike cannot be told apart by it.
  const origin = origins.includes(input.profile) ? input.profile : origins.length === 0 ? null : origins.join(" or ");
  const profileChange = (from: string): string => `profile changed from ${from} to ${input.profile}`;
  if (origin === null) {
    const versionChanged = lastVersion !== null && lastVersion !== input.policyVersion;
    const parts: string[] = [];
    if (lastProfile !== null && lastProfile !== input.profile) parts.push(profileChange(lastProfile));
    if (versionChanged) parts.push(`policy ${lastVersion} -> ${input.policyVersion} changed this fragment`);
    else if (lastVersion !== null) parts.push("edited locally: restored the policy's text");
    else parts.push(`not the text of policy ${input.policyVersion} for profile ${input.profile}: restored the policy's text`);
    return parts.join("; ");
  }
  const parts: string[] = [];
  if (origin !== input.profile) parts.push(`${profileChange(origin)}: ${installEffect(fragment, input.profile, origins)}`);
  if (installs(deferredTo) !== installs(fragment.foreign)) {
    const m = fragment.module;
    if (deferredTo.length === 0) parts.push(`${installs(fragment.foreign)} now matches ${m}: the fragment keeps its blacklist line alone, so that line stays the one kmod runs`);
    else if (fragment.foreign.length === 0) parts.push(`${installs(deferredTo)} no longer matches ${m}: the fragment gets its install line back`);
    else parts.push(`the install lines matching ${m} are now ${installs(fragment.foreign)} (were ${installs(deferredTo)}); the fragment keeps its blacklist line alone`);
  }
  return parts.length > 0 ? parts.join("; ") : `not the text of policy ${input.policyVersion} for profile ${input.profile}: restored the policy's text`;
}

/**
 * The profile the last run applied: as the state records it, or, from an older
 * version's state without it, the one profile whose modules are exactly the
 * fragments that run installed; null when that is not one profile.
 */
function lastProfileOf(input: PlanInput): string | null {
  const previous = input.previous;
  if (previous === null) return null;
  if (previous.profile !== undefined) return previous.profile;
  if (previous.installed.length === 0) return null;
  const installed = new Set(previous.installed.map((p) => moduleFromFragmentName(path.posix.basename(p))));
  const matching = input.profiles.filter((profile) => {
    const modules = [...input.profilesOf].filter(([, profiles]) => profiles.includes(profile)).map(([module]) => module);
    return modules.length === installed.size && modules.every((m) => installed.has(m));
  });
  return matching.length === 1 ? matching[0]! : null;
}

/** What loading the module by name does with the fragment this run writes, said for a profile change. */
function installEffect(fragment: PolicyFragment, profile: string, from: readonly string[]): string {
  const m = fragment.module;
  if (fragment.foreign.length > 0) return `the fragment keeps its blacklist line alone (${installs(fragment.foreign)} stays in force)`;
  if (profileRefusesLoading(profile)) return `loading ${m} by name fails (\`${falseInstallLine(m)}\`)`;
  return `loading ${m} by name goes through fsblacklist's hook${from.every(profileRefusesLoading) ? " again" : ""}`;
}

function installs(lines: readonly ForeignInstall[]): string {
  return lines.map((f) => `${f.where} \`${f.line}\``).join(", ");
}

/** The install lines a fragment of ours says it deferred to (its `# install-in-force:` header lines). */
function installsInForce(text: string): ForeignInstall[] {
  const found: ForeignInstall[] = [];
  for (const line of text.split("\n")) {
    const match = /^# install-in-force: (.*?) `(.*)`$/.exec(line);
    if (match) found.push({ where: match[1]!, line: match[2]! });
  }
  return found;
}

/** Why a fragment of ours that this run does not want goes: another profile's, or dropped from the policy. */
function removeReason(input: PlanInput, lastProfile: string | null, module: string): string {
  const listedIn = input.profilesOf.get(module) ?? [];
  if (listedIn.length === 0) return `no longer in policy ${input.policyVersion}`;
  if (lastProfile !== null && lastProfile !== input.profile && listedIn.includes(lastProfile)) {
    return `profile changed from ${lastProfile} to ${input.profile}, which does not list ${module}`;
  }
  const lastVersion = input.previous?.policyVersion ?? null;
  if (lastProfile === input.profile && lastVersion !== null && lastVersion !== input.policyVersion) {
    return `policy ${lastVersion} -> ${input.policyVersion} took ${module} out of profile ${input.profile} (now only in ${listedIn.join(", ")})`;
  }
  return `not in profile ${input.profile} (only in ${listedIn.join(", ")})`;
}

function evidenceByModule(input: PlanInput): Map<string, UseEvidence[]> {
  const signals = new Set<UseSignal>([...input.keepSignals, "always", "container-runtime"]);
  const byModule = new Map<string, UseEvidence[]>();
  for (const item of input.evidence) {
    if (!signals.has(item.signal)) continue;
    const key = normaliseModuleName(item.module);
    const list = byModule.get(key) ?? [];
    if (!list.some((e) => e.detail === item.detail)) list.push(item);
    byModule.set(key, list);
  }
  return byModule;
}

function newEntries(input: PlanInput): NewEntry[] {
  const last = input.previous?.policyVersion ?? null;
  if (last === null || valid(last) === null) return [];
  return input.fragments
    .filter((f) => valid(f.since) !== null && gt(f.since, last))
    .map((f) => ({ module: f.module, since: f.since, reason: f.reason }))
    .sort((a, b) => compare(a.module, b.module));
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
