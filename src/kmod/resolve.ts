// What `modprobe NAME` would do, exactly as kmod 30-34 decides it (libkmod.c
// lookups, libkmod-module.c kmod_module_probe_insert_module). The kernel asks
// for `modprobe -q -- fs-<type>` when a mount needs a filesystem it does not
// have, so resolveFilesystemType() is what happens at mount time. Pure: the
// facts come in as arguments.
//
// The rules that matter for blocking, from kmod's source:
// - The lookup stops at the first source with a match: config `alias` (every
//   matching pattern), a module of that name, an `install` line for exactly that
//   name, modules.alias, modules.builtin, built-in aliases.
// - A module that is built in or already live is left alone: nothing can block it.
// - `blacklist` (and `modprobe.blacklist=`) stops only a module reached through
//   an alias, never a load by name and never a dependency.
// - The probe list is: for each dependency (modules.dep), its softdep `pre:`
//   modules, the dependency, its `post:` modules; then the same for the module.
//   Each member's first matching `install` line runs instead of insmod, unless
//   a softdep of that member resolved to at least one module (kmod then ignores
//   `install`). A failure of the module or of a dependency fails the load; a
//   failing softdep is ignored.
// - `module_blacklist=` is the kernel's own: it refuses the insmod of that
//   module whatever route led there.

import type { ConfigEntry, Source } from "./parse-config.ts";
import { underscores } from "./parse-config.ts";
import { fnmatch } from "./fnmatch.ts";
import type { ModuleIndex } from "./module-index.ts";

type EntryOf<K extends ConfigEntry["kind"]> = ConfigEntry & { kind: K };
type EntriesByKind = { [K in ConfigEntry["kind"]]: EntryOf<K>[] };
const byKindCache = new WeakMap<readonly ConfigEntry[], EntriesByKind>();

/** The entries of one kind, in order; split once per configuration (an admin's file may hold 100,000 lines). */
function entriesOf<K extends ConfigEntry["kind"]>(entries: readonly ConfigEntry[], kind: K): EntryOf<K>[] {
  let split = byKindCache.get(entries);
  if (split === undefined) {
    split = { blacklist: [], install: [], remove: [], alias: [], options: [], softdep: [], weakdep: [] };
    for (const entry of entries) (split[entry.kind] as ConfigEntry[]).push(entry);
    byKindCache.set(entries, split);
  }
  return split[kind];
}

export interface ResolveFacts {
  entries: readonly ConfigEntry[];
  /** Null when there are no modules for the kernel (lib/modules/<release> missing). */
  index: ModuleIndex | null;
  /** Modules live in the running kernel. */
  loaded: ReadonlySet<string> | ReadonlyMap<string, unknown>;
  /** `module_blacklist=` from the kernel command line. */
  kernelBlacklist: readonly string[];
}

export type LookupKind = "config-alias" | "module" | "install-command" | "remove-command" | "modules.alias" | "builtin" | "builtin-alias";

export type BlockCause = "blacklisted" | "cmdline-blacklisted" | "install-blocked" | "dependency-blocked" | "module-missing";

export interface Block {
  cause: BlockCause;
  /** The module whose blacklist entry, install line or absence blocks the load. */
  module: string;
  /** The deciding line; null for a missing module and for `module_blacklist=`. */
  source: Source | null;
  command?: string;
}

export type InstallEffect = "fails" | "no-load" | "hook" | "loads" | "unknown";

export interface ProbeStep {
  module: string;
  /** The module asked for, or one of its dependencies (a failing softdep does not fail the load). */
  required: boolean;
  action: "insmod" | "install" | "in-kernel" | "missing";
  /** Path under the module directory, for insmod. */
  path?: string;
  command?: string;
  effect?: InstallEffect;
  /** The `install` line, or for an insmod that ignores one, the softdep line that makes kmod ignore it. */
  source?: Source;
  ignoredInstall?: Source;
}

export interface ModuleOutcome {
  module: string;
  /** The alias it was reached through; null for a load by name (then `blacklist` does not apply). */
  alias: string | null;
  builtin: boolean;
  loaded: boolean;
  /** The first blacklist entry naming the module, whether or not it applies to this request. */
  blacklistedBy: Source | null;
  result: "loads" | "in-kernel" | "blocked";
  /** The first required step that keeps the module from loading. */
  block: Block | null;
  /** The whole probe list in kmod's order, as `modprobe -n -v` prints it (empty when blocked by blacklist or in the kernel). */
  steps: ProbeStep[];
  /** The probe list also when a blacklist entry stops the request first: what kmod works through once that entry is gone (empty in the kernel). */
  probeList: ProbeStep[];
}

export interface Resolution {
  request: string;
  /** The request as kmod normalises it (dashes to underscores). */
  name: string;
  /** Where the lookup found the module(s); null when nothing matched. */
  lookup: LookupKind | null;
  /** The config line that resolved it (alias or install line). */
  source: Source | null;
  modules: ModuleOutcome[];
}

/** What happens when the kernel asks for a filesystem type at mount time. */
export function resolveFilesystemType(type: string, facts: ResolveFacts): Resolution {
  return resolveModprobe(`fs-${type}`, facts);
}

interface Candidate {
  name: string;
  alias: string | null;
  builtin: boolean;
  /** Install command found by the lookup itself (an `install` line for the requested name). */
  install: { command: string; source: Source } | null;
}

/** What `modprobe NAME` would do. */
export function resolveModprobe(request: string, facts: ResolveFacts): Resolution {
  const name = underscores(request);
  if (name === null) return { request, name: request, lookup: null, source: null, modules: [] };
  const found = lookup(name, facts);
  return {
    request,
    name,
    lookup: found.kind,
    source: found.source,
    modules: found.candidates.map((candidate) => probe(candidate, facts)),
  };
}

function lookup(name: string, facts: ResolveFacts): { kind: LookupKind | null; source: Source | null; candidates: Candidate[] } {
  const { entries, index } = facts;
  const configAliases = entriesOf(entries, "alias").filter((e) => fnmatch(e.pattern, name));
  if (configAliases.length > 0) {
    return {
      kind: "config-alias",
      source: configAliases[0]!.source,
      candidates: configAliases.map((e) => ({ name: e.module, alias: e.pattern, builtin: false, install: null })),
    };
  }
  if (!name.includes(":") && index?.modules.has(name)) {
    return { kind: "module", source: null, candidates: [{ name, alias: null, builtin: false, install: null }] };
  }
  // (symbol: requests would consult modules.symbols; no filesystem request looks like that.)
  for (const kind of ["install", "remove"] as const) {
    const command = entriesOf(entries, kind).find((e) => e.module === name);
    if (command?.kind === "install") {
      return { kind: "install-command", source: command.source, candidates: [{ name, alias: null, builtin: false, install: { command: command.command, source: command.source } }] };
    }
    if (command?.kind === "remove") {
      return { kind: "remove-command", source: command.source, candidates: [{ name, alias: null, builtin: false, install: null }] };
    }
  }
  if (index !== null) {
    const matches = index.aliasTargets(name);
    if (matches.length > 0) {
      return { kind: "modules.alias", source: null, candidates: matches.map((module) => ({ name: module, alias: name, builtin: false, install: null })) };
    }
    if (index.builtin.has(name)) {
      return { kind: "builtin", source: null, candidates: [{ name, alias: null, builtin: true, install: null }] };
    }
    const builtinMatches = index.builtinAliasTargets(name);
    if (builtinMatches.length > 0) {
      return { kind: "builtin-alias", source: null, candidates: builtinMatches.map((module) => ({ name: module, alias: name, builtin: true, install: null })) };
    }
  }
  return { kind: null, source: null, candidates: [] };
}

function isBuiltin(module: string, facts: ResolveFacts): boolean {
  return facts.index?.builtin.has(module) ?? false;
}

function isLive(module: string, facts: ResolveFacts): boolean {
  return facts.loaded.has(module);
}

/** The first `blacklist` entry naming the module (kmod compares names exactly). */
export function blacklistEntryFor(module: string, entries: readonly ConfigEntry[]): Source | null {
  return entriesOf(entries, "blacklist").find((e) => e.module === module)?.source ?? null;
}

/** The first `install` line whose pattern matches the module, as kmod picks it. */
export function installEntryFor(module: string, entries: readonly ConfigEntry[]): { command: string; source: Source } | null {
  const entry = entriesOf(entries, "install").find((e) => fnmatch(e.module, module));
  return entry === undefined ? null : { command: entry.command, source: entry.source };
}

/**
 * What an install command does to the module when the kernel runs it at mount
 * time (no terminal). We recognise the usual idioms; anything else is "unknown".
 * "hook": our modprobe-hook without a fallback, which loads nothing without a
 * terminal.
 */
export function installEffect(command: string, module: string): InstallEffect {
  const trimmed = command.trim();
  if (/^(?:\/usr)?(?:\/s?bin\/)?false(?:\s|$)/.test(trimmed) || /^exit\s+[1-9]/.test(trimmed)) return "fails";
  if (/^(?:(?:\/usr)?(?:\/s?bin\/)?true|:)(?:\s*$|\s*#)/.test(trimmed) || /^exit(?:\s+0)?\s*$/.test(trimmed)) return "no-load";
  // Our fragments' line runs the hook, then loads the module with --ignore-install.
  if (loadsIgnoringInstall(trimmed, module)) return "loads";
  if (/\bmodprobe-hook\b/.test(trimmed)) return "hook";
  return "unknown";
}

/** In one command (between `;`, `|` and `&`): modprobe, then its first --ignore-install or -i; what follows in that command. */
const IGNORE_INSTALL = /\bmodprobe\b[^;|&]*?(?:--ignore-install|\s-i\b)([^;|&]*)/g;

/**
 * Whether the command runs `modprobe ... --ignore-install ... MODULE` (or -i):
 * the module a word after the flag in the same command, preceded by white space
 * and followed by white space or the end of the line, `_` in its name matching
 * `-` or `_`. Compared character by character, not as a pattern built from the
 * name: one regular expression per module cost status a compilation each.
 */
function loadsIgnoringInstall(command: string, module: string): boolean {
  if (!command.includes("modprobe")) return false;
  for (const match of command.matchAll(IGNORE_INSTALL)) {
    const rest = match[1]!;
    const restAtEnd = match.index + match[0].length === command.length;
    for (let at = 1; at + module.length <= rest.length; at++) {
      if (!/\s/.test(rest[at - 1]!) || !nameAt(rest, at, module)) continue;
      const after = at + module.length;
      if (after < rest.length ? /\s/.test(rest[after]!) : restAtEnd) return true;
    }
  }
  return false;
}

function nameAt(text: string, at: number, module: string): boolean {
  for (let i = 0; i < module.length; i++) {
    const wanted = module[i]!;
    const found = text[at + i]!;
    if (found !== wanted && !(wanted === "_" && found === "-")) return false;
  }
  return true;
}

/**
 * Effects that leave the module unloaded when the kernel asks for it. A command
 * we do not recognise counts: `/bin/false;`, `true && false` or
 * `/bin/echo disabled` load nothing, and nothing shows that it loads the module.
 */
export function installBlocks(effect: InstallEffect): boolean {
  return effect !== "loads";
}

function probe(candidate: Candidate, facts: ResolveFacts): ModuleOutcome {
  const { entries } = facts;
  const builtin = candidate.builtin || isBuiltin(candidate.name, facts);
  const loaded = isLive(candidate.name, facts);
  const blacklistedBy = blacklistEntryFor(candidate.name, entries);
  const outcome = (result: ModuleOutcome["result"], block: Block | null, steps: ProbeStep[], probeList: ProbeStep[] = steps): ModuleOutcome => ({
    module: candidate.name,
    alias: candidate.alias,
    builtin,
    loaded,
    blacklistedBy,
    result,
    block,
    steps,
    probeList,
  });

  if (builtin || loaded) return outcome("in-kernel", null, []);
  const listed = probeList(candidate, facts);
  if (candidate.alias !== null && blacklistedBy !== null) {
    const cause: BlockCause = blacklistedBy.file === "proc/cmdline" ? "cmdline-blacklisted" : "blacklisted";
    return outcome("blocked", { cause, module: candidate.name, source: blacklistedBy }, [], listed.steps);
  }
  if (listed.block !== null) return outcome("blocked", listed.block, listed.steps);
  return outcome("loads", null, listed.steps);
}

/** kmod's probe list for one candidate (dependencies, softdeps, the module) and the first required step that fails. */
function probeList(candidate: Candidate, facts: ResolveFacts): { steps: ProbeStep[]; block: Block | null } {
  const { entries, index } = facts;

  // Module objects are per (name, alias) in kmod's pool, and so is "visited".
  interface Member {
    name: string;
    key: string;
    install: { command: string; source: Source } | null;
    ignoreCmd: boolean;
    softdep: Source | null;
  }
  const members = new Map<string, Member>();
  const member = (name: string, alias: string | null, install: Member["install"] = null): Member => {
    const key = alias === null ? name : `${name}\\${alias}`;
    let m = members.get(key);
    if (m === undefined) {
      m = { name, key, install, ignoreCmd: false, softdep: null };
      members.set(key, m);
    }
    return m;
  };
  const depsOf = (name: string): string[] => [...(index?.modules.get(name)?.deps ?? [])].reverse();
  const required = new Set<string>();
  const visited = new Set<string>();
  const list: Member[] = [];

  const resolveSoftdepNames = (names: readonly string[]): Member[] => {
    const out: Member[] = [];
    for (const dep of names) {
      const normal = underscores(dep);
      if (normal === null) continue;
      for (const c of lookup(normal, facts).candidates) out.push(member(c.name, c.alias, c.install));
    }
    return out;
  };
  const fillSoftdep = (m: Member): void => {
    const softdep = entriesOf(entries, "softdep").find((e) => fnmatch(e.module, m.name));
    const pre = softdep === undefined ? [] : resolveSoftdepNames(softdep.pre);
    const post = softdep === undefined ? [] : resolveSoftdepNames(softdep.post);
    for (const p of pre) visit(p, false);
    list.push(m);
    m.ignoreCmd = pre.length > 0 || post.length > 0;
    m.softdep = m.ignoreCmd && softdep !== undefined ? softdep.source : null;
    for (const p of post) visit(p, false);
  };
  const visit = (m: Member, isRequired: boolean): void => {
    if (visited.has(m.key)) return;
    visited.add(m.key);
    const deps = depsOf(m.name).map((d) => member(d, null));
    if (isRequired) {
      required.add(m.key);
      for (const d of deps) required.add(d.key);
    }
    for (const d of deps) fillSoftdep(d);
    fillSoftdep(m);
  };
  const top = member(candidate.name, candidate.alias, candidate.install);
  visit(top, true);

  const steps: ProbeStep[] = [];
  let block: Block | null = null;
  for (const m of list) {
    const isRequired = required.has(m.key);
    if (isBuiltin(m.name, facts) || isLive(m.name, facts)) {
      steps.push({ module: m.name, required: isRequired, action: "in-kernel" });
      continue;
    }
    const install = m.install ?? installEntryFor(m.name, entries);
    const blockedAs = (cause: BlockCause, source: Source | null, command?: string): void => {
      if (!isRequired || block !== null) return;
      const isTop = m === top;
      const finalCause = cause === "install-blocked" && !isTop ? "dependency-blocked" : cause;
      block = { cause: finalCause, module: m.name, source, ...(command !== undefined ? { command } : {}) };
    };
    if (install !== null && !m.ignoreCmd) {
      const effect = installEffect(install.command, m.name);
      steps.push({ module: m.name, required: isRequired, action: "install", command: install.command, effect, source: install.source });
      if (installBlocks(effect)) blockedAs("install-blocked", install.source, install.command);
      continue;
    }
    const path = index?.modules.get(m.name)?.path;
    if (path === undefined) {
      steps.push({ module: m.name, required: isRequired, action: "missing" });
      blockedAs("module-missing", null);
    } else {
      steps.push({
        module: m.name,
        required: isRequired,
        action: "insmod",
        path,
        ...(install !== null && m.softdep !== null ? { ignoredInstall: install.source, source: m.softdep } : {}),
      });
      if (facts.kernelBlacklist.includes(m.name)) blockedAs("cmdline-blacklisted", null);
    }
  }
  return { steps, block };
}

/**
 * True when the kernel's request for `type` surely loads a module, decided
 * without the whole resolution (status asks this of every filesystem type a
 * kernel has, and most load): no alias or install/remove line of the
 * configuration takes the request, and one module it leads to is in the
 * kernel, or is not blacklisted and neither it nor a module it needs has an
 * install line, a missing file or a module_blacklist= entry. Softdeps are
 * loaded as optional and can only set install lines aside, so they cannot
 * block. False means "resolve to know", not "blocked".
 */
export function filesystemSurelyLoads(type: string, facts: ResolveFacts): boolean {
  const { entries, index } = facts;
  const name = underscores(`fs-${type}`);
  if (index === null || name === null || index.modules.has(name)) return false;
  if (entriesOf(entries, "alias").some((e) => fnmatch(e.pattern, name))) return false;
  if (entriesOf(entries, "install").some((e) => e.module === name) || entriesOf(entries, "remove").some((e) => e.module === name)) return false;
  const inKernel = (module: string): boolean => isBuiltin(module, facts) || isLive(module, facts);
  const loads = (module: string): boolean => index.modules.has(module) && installEntryFor(module, entries) === null && !facts.kernelBlacklist.includes(module);
  return index.aliasTargets(name).some((module) => {
    if (inKernel(module)) return true;
    if (blacklistEntryFor(module, entries) !== null || !loads(module)) return false;
    return index.modules.get(module)!.deps.every((dep) => inKernel(dep) || loads(dep));
  });
}

/** What blocks the request when something matched and none of the matches can load (the first one's block), else null. */
export function requestBlock(resolution: Resolution): Block | null {
  if (resolution.modules.length === 0 || !resolution.modules.every((m) => m.result === "blocked")) return null;
  return resolution.modules[0]!.block;
}
