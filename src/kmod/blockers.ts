// Everything in the configuration that stands between a request and its
// module, not only the first thing kmod trips over. resolve.ts answers "what
// does kmod do"; this answers "what would have to change for it to load", which
// is what a fix (or a keep, or an allow) must know before it can be trusted:
// taking away the first `install jfs /bin/false` only helps when no later line
// matches jfs too, and an allow helps nothing while `install cdrom /bin/true`
// stops every filesystem that needs cdrom. Pure.

import type { ConfigEntry, Source } from "./parse-config.ts";
import { fnmatch } from "./fnmatch.ts";
import { installBlocks, installEffect, resolveModprobe, type InstallEffect, type Resolution, type ResolveFacts } from "./resolve.ts";

export interface InstallLine {
  /** The module field of the line (a glob such as `*fs` matches many). */
  pattern: string;
  command: string;
  source: Source;
  effect: InstallEffect;
  /** True when running the line leaves the module unloaded (an unknown command counts: blocked unless known to load). */
  blocks: boolean;
  /** True for the one kmod runs: the first that matches. */
  runs: boolean;
}

/**
 * Every `install` line whose pattern matches the module, in kmod's order (the
 * order `modprobe -c` prints them): kmod runs the first (`runs`), and the next
 * takes over when that one is gone.
 */
export function installLinesFor(module: string, entries: readonly ConfigEntry[]): InstallLine[] {
  const lines: InstallLine[] = [];
  for (const entry of installEntries(entries)) {
    if (!fnmatch(entry.module, module)) continue;
    const effect = installEffect(entry.command, module);
    lines.push({ pattern: entry.module, command: entry.command, source: entry.source, effect, blocks: installBlocks(effect), runs: lines.length === 0 });
  }
  return lines;
}

// status and apply ask installLinesFor for every module against the same entries: their install lines are picked once.
type InstallEntry = ConfigEntry & { kind: "install"; command: string };
const installsOf = new WeakMap<readonly ConfigEntry[], InstallEntry[]>();

/** The `install` entries, in order (of an array of entries nobody changes after it is built, as the model's). */
function installEntries(entries: readonly ConfigEntry[]): InstallEntry[] {
  let found = installsOf.get(entries);
  if (found === undefined) installsOf.set(entries, (found = entries.filter((e): e is InstallEntry => e.kind === "install")));
  return found;
}

/** Every `blacklist` line naming the module (kmod compares names exactly), `modprobe.blacklist=` ones from proc/cmdline included. */
export function blacklistLinesFor(module: string, entries: readonly ConfigEntry[]): Source[] {
  return entries.filter((e) => e.kind === "blacklist" && e.module === module).map((e) => e.source);
}

export type Blocker =
  /** A `blacklist` line (file "proc/cmdline": a `modprobe.blacklist=` word); stops only a module reached through an alias. */
  | { kind: "blacklist"; module: string; source: Source }
  /** `module_blacklist=` on the kernel command line: the kernel refuses the module whatever route led to it. */
  | { kind: "module_blacklist"; module: string }
  /** An `install` line of the module (dependency false) or of a module it needs that does not load it. */
  | { kind: "install"; module: string; dependency: boolean; line: InstallLine }
  /** A config `alias` (`alias fs-jfs off`), `install` or `remove` line for the request itself that leads to no module. */
  | { kind: "request-line"; directive: "alias" | "install" | "remove"; pattern: string; target: string | null; source: Source; command?: string }
  /** The module (or one it needs) has no file for this kernel. */
  | { kind: "missing"; module: string; dependency: boolean };

/** A softdep line that makes kmod set a member's install line aside (it then loads the module file itself). */
export interface InstallSetAside {
  module: string;
  softdep: Source;
  install: Source;
}

export interface CandidateBlockers {
  module: string;
  /** The alias the request reached it through; null for a load by name (blacklist lines do not apply). */
  alias: string | null;
  result: "loads" | "in-kernel" | "blocked";
  /** Everything in the way, in the order kmod meets it: blacklist lines, then the probe list's members in kmod's order. */
  blockers: Blocker[];
  /** Each required member of the probe list (dependencies first, the module last) with every install line that matches it. */
  members: { module: string; dependency: boolean; installLines: InstallLine[]; setAside: InstallSetAside | null }[];
}

export interface RequestBlockers {
  request: string;
  resolution: Resolution;
  /** kmod ends with a module for the request: one candidate loads or is in the kernel already. */
  loads: boolean;
  candidates: CandidateBlockers[];
  /** Lines that take the request itself away from the kernel's modules (config aliases leading nowhere, `install`/`remove` of the request). */
  requestLines: Blocker[];
}

/** Everything that stands between `modprobe REQUEST` (as the kernel runs it for a mount: `fs-TYPE`) and a loaded module. */
export function requestBlockers(request: string, facts: ResolveFacts): RequestBlockers {
  const resolution = resolveModprobe(request, facts);
  const requestLines: Blocker[] = [];
  if (resolution.lookup === "config-alias") {
    for (const entry of facts.entries) {
      if (entry.kind !== "alias" || !fnmatch(entry.pattern, resolution.name)) continue;
      const target = resolution.modules.find((m) => m.module === entry.module);
      if (target === undefined || target.result === "blocked") {
        requestLines.push({ kind: "request-line", directive: "alias", pattern: entry.pattern, target: entry.module, source: entry.source });
      }
    }
  } else if ((resolution.lookup === "install-command" || resolution.lookup === "remove-command") && resolution.source !== null) {
    const top = resolution.modules[0];
    if (top === undefined || top.result === "blocked") {
      const entry = facts.entries.find((e) => e.source === resolution.source);
      const command = entry !== undefined && (entry.kind === "install" || entry.kind === "remove") ? entry.command : undefined;
      requestLines.push({
        kind: "request-line",
        directive: resolution.lookup === "install-command" ? "install" : "remove",
        pattern: resolution.name,
        target: null,
        source: resolution.source,
        ...(command !== undefined ? { command } : {}),
      });
    }
  }

  const candidates = resolution.modules.map((outcome): CandidateBlockers => {
    const blockers: Blocker[] = [];
    const members: CandidateBlockers["members"] = [];
    if (outcome.result !== "in-kernel") {
      if (outcome.alias !== null) {
        for (const source of blacklistLinesFor(outcome.module, facts.entries)) blockers.push({ kind: "blacklist", module: outcome.module, source });
      }
      for (const step of outcome.probeList) {
        if (!step.required) continue;
        const dependency = step.module !== outcome.module;
        const installLines = installLinesFor(step.module, facts.entries);
        const setAside = step.ignoredInstall !== undefined && step.source !== undefined ? { module: step.module, softdep: step.source, install: step.ignoredInstall } : null;
        members.push({ module: step.module, dependency, installLines, setAside });
        if (step.action === "in-kernel") continue;
        if (setAside === null) {
          // Lines that block, up to the first that loads: with those gone that one runs, and the rest never do.
          for (const line of installLines) {
            if (!line.blocks) break;
            blockers.push({ kind: "install", module: step.module, dependency, line });
          }
        }
        // Whichever way it gets there (insmod, or a line that runs modprobe --ignore-install), the file must exist and the kernel must accept it.
        if (facts.index?.modules.get(step.module) === undefined) blockers.push({ kind: "missing", module: step.module, dependency });
        else if (facts.kernelBlacklist.includes(step.module)) blockers.push({ kind: "module_blacklist", module: step.module });
      }
    }
    return { module: outcome.module, alias: outcome.alias, result: outcome.result, blockers, members };
  });

  const loads = resolution.modules.some((m) => m.result === "loads" || m.result === "in-kernel");
  return { request, resolution, loads, candidates, requestLines };
}
