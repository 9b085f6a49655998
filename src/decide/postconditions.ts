// What a write must achieve, checked on the simulation of the configuration
// after it (decide/simulate.ts) for the next boot: a kept or allowed module
// loads for every filesystem type it serves, dependencies included; a blocked
// one loads for none. When that cannot be had, the lines in the way are named.

import type { Blocker } from "../kmod/blockers.ts";
import { blacklistLinesFor, installLinesFor } from "../kmod/blockers.ts";
import { filesystemModules, filesystemTypesOf } from "../kmod/module-index.ts";
import { firstLineOf, type Source } from "../kmod/parse-config.ts";
import type { Simulation } from "./simulate.ts";

/** A line (or a command-line word) that keeps the module from loading. */
export interface Obstacle {
  /** The file and first line ("proc/cmdline" for the command line); null for module_blacklist=. */
  source: Source | null;
  /** One phrase: what the line does, e.g. `etc/modprobe.d/x.conf:3 runs "/bin/false" instead of loading cdrom, which isofs needs`. */
  text: string;
  blocker: Blocker;
}

/** The filesystem types the module serves on the kernel simulated (its fs-* aliases). */
export function typesServed(sim: Simulation, module: string): string[] {
  return sim.facts.index === null ? [] : filesystemTypesOf(sim.facts.index, module);
}

/**
 * What keeps `module` from loading after the change, for every type it serves
 * (each type's request resolved in full, dependencies' install lines and the
 * command line included). A module this kernel does not have is judged by its
 * own lines: its blacklist lines and the install lines that would run. A
 * missing module file is no line anyone can change and is left out.
 */
export function loadObstacles(sim: Simulation, module: string): Obstacle[] {
  const found: Obstacle[] = [];
  const seen = new Set<Blocker["kind"] | string>();
  const add = (blocker: Blocker, type: string | null): void => {
    const key = keyOf(blocker);
    if (seen.has(key) || blocker.kind === "missing") return;
    seen.add(key);
    found.push({ source: sourceOf(blocker), text: describeBlocker(blocker, type), blocker });
  };
  const types = typesServed(sim, module);
  if (sim.facts.index?.modules.has(module) === true && types.length > 0) {
    for (const type of types) {
      const request = sim.filesystem(type);
      if (request.loads) continue;
      for (const line of request.requestLines) add(line, type);
      for (const candidate of request.candidates) for (const blocker of candidate.blockers) add(blocker, type);
    }
    return found;
  }
  for (const source of blacklistLinesFor(module, sim.facts.entries)) add({ kind: "blacklist", module, source }, null);
  for (const line of installLinesFor(module, sim.facts.entries)) {
    if (!line.blocks) break;
    add({ kind: "install", module, dependency: false, line }, null);
  }
  if (sim.facts.kernelBlacklist.includes(module)) add({ kind: "module_blacklist", module }, null);
  return found;
}

export interface BlockCheck {
  /** Types whose request still loads a module that is not built in (with the module). */
  leaks: { type: string; module: string }[];
  /** The module serves no filesystem type: these filesystem modules load it as a dependency. */
  dependents: string[] | null;
}

/** Does the module stay out for every type it serves after the change? */
export function checkBlocked(sim: Simulation, module: string): BlockCheck {
  const index = sim.facts.index;
  if (index === null || !index.modules.has(module)) return { leaks: [], dependents: null };
  const types = typesServed(sim, module);
  if (types.length === 0) {
    const dependents = [...filesystemModules(index).keys()].filter((m) => m !== module && index.modules.get(m)?.deps.includes(module) === true).sort();
    return { leaks: [], dependents };
  }
  const leaks: BlockCheck["leaks"] = [];
  for (const type of types) {
    for (const outcome of sim.filesystem(type).resolution.modules) {
      if (outcome.builtin) continue;
      if (outcome.result === "loads" || outcome.result === "in-kernel") leaks.push({ type, module: outcome.module });
    }
  }
  return { leaks, dependents: null };
}

function keyOf(blocker: Blocker): string {
  const source = sourceOf(blocker);
  return `${blocker.kind}:${"module" in blocker ? blocker.module : ""}:${source === null ? "" : `${source.file}:${source.line}`}`;
}

function sourceOf(blocker: Blocker): Source | null {
  switch (blocker.kind) {
    case "blacklist":
    case "request-line":
      return blocker.source;
    case "install":
      return blocker.line.source;
    default:
      return null;
  }
}

/** Where a person finds the line: file:first line, or the kernel command line. */
export function whereIs(source: Source): string {
  return source.file === "proc/cmdline" ? "the kernel command line" : `${source.file}:${firstLineOf(source)}`;
}

/** One phrase for a blocker, naming its line. */
export function describeBlocker(blocker: Blocker, type: string | null): string {
  switch (blocker.kind) {
    case "blacklist":
      return blocker.source.file === "proc/cmdline" ? `modprobe.blacklist=${blocker.module} on the kernel command line` : `${whereIs(blocker.source)} blacklists ${blocker.module}`;
    case "module_blacklist":
      return `module_blacklist=${blocker.module} on the kernel command line`;
    case "install": {
      const needs = blocker.dependency && type !== null ? `, which ${type} needs` : "";
      return `${whereIs(blocker.line.source)} runs \`${blocker.line.command}\` instead of loading ${blocker.module}${needs}`;
    }
    case "request-line":
      return blocker.directive === "alias"
        ? `${whereIs(blocker.source)} sends ${blocker.pattern} to ${blocker.target ?? "nothing"} (alias) instead of the kernel's module`
        : `${whereIs(blocker.source)} has \`${blocker.directive} ${blocker.pattern}\`${blocker.command !== undefined ? ` (\`${blocker.command}\`)` : ""}, which takes the request from the kernel's module`;
    case "missing":
      return `no module file for ${blocker.module}`;
  }
}
