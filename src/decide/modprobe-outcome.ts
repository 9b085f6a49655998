// What kmod's resolution of `fs-<type>` means for a mount, as decide/diagnose.ts
// needs it: the outcome with the lines that decide it (file:line and the line as
// kmod read it; the kernel command line's own word), and whether `fsblacklist
// allow` can lift it. Pure: services/explain.ts reads the facts.

import * as path from "node:path";
import type { ConfigLine, ModprobeOutcome } from "./diagnose.ts";
import { cmdlineBlacklistWord } from "../kmod/cmdline.ts";
import type { KmodBehaviour } from "../kmod/kmod-version.ts";
import { firstLineOf, type ConfigEntry, type Source } from "../kmod/parse-config.ts";
import type { Resolution } from "../kmod/resolve.ts";
import { fragmentName } from "../policy/fragment.ts";

/** The type the kernel is asked for: FUSE subtypes ("fuse.sshfs") are served by fuse itself. */
export function requestedType(fstype: string): string {
  const dot = fstype.indexOf(".");
  return dot > 0 && fstype.startsWith("fuse") ? fstype.slice(0, dot) : fstype;
}

/** Turns kmod's resolution of fs-T into what the diagnosis needs, with the deciding lines as text. */
export function outcomeOf(resolution: Resolution, entries: readonly ConfigEntry[], cmdline: string | null, behaviour: KmodBehaviour): ModprobeOutcome {
  if (resolution.modules.length === 0) return { kind: "no-module" };
  const usable = resolution.modules.find((m) => m.result !== "blocked");
  if (usable !== undefined) {
    return usable.result === "in-kernel" ? { kind: "in-kernel", module: usable.module, builtin: usable.builtin } : { kind: "loads", module: usable.module };
  }
  const first = resolution.modules[0]!;
  const block = first.block!;
  switch (block.cause) {
    case "blacklisted":
    case "cmdline-blacklisted": {
      if (block.source === null) return { kind: "kernel-blacklisted", module: first.module, refused: block.module };
      const lines = entries
        .filter((e) => e.kind === "blacklist" && resolution.modules.some((m) => m.module === e.module))
        .map((e) => configLine(e.source, entries, cmdline, behaviour, e.kind === "blacklist" ? e.module : ""));
      return { kind: "blacklisted", module: first.module, lines };
    }
    case "install-blocked":
      return { kind: "install-blocked", module: first.module, line: configLine(block.source!, entries, cmdline, behaviour, block.module) };
    case "dependency-blocked":
      return { kind: "dependency-blocked", module: first.module, dependency: block.module, line: configLine(block.source!, entries, cmdline, behaviour, block.module) };
    case "module-missing":
      return { kind: "module-missing", module: first.module, missing: block.module };
  }
}

/** "file:line" and the line as kmod understood it; for the command line, the token itself. */
function configLine(source: Source, entries: readonly ConfigEntry[], cmdline: string | null, behaviour: KmodBehaviour, module: string): ConfigLine {
  if (source.file === "proc/cmdline") {
    return { where: "proc/cmdline", text: cmdlineBlacklistWord(cmdline ?? "", module, behaviour) ?? `modprobe.blacklist=${module}` };
  }
  const entry = entries.find((e) => e.source.file === source.file && e.source.line === source.line);
  const text = entry === undefined ? "" : entry.kind === "blacklist" ? `blacklist ${entry.module}` : entry.kind === "install" ? `install ${entry.module} ${entry.command}` : "";
  // A directive continued over several lines is found at its first.
  return { where: `${source.file}:${firstLineOf(source)}`, text: Buffer.from(text, "latin1").toString("utf8") };
}

/**
 * Whether `fsblacklist allow` lifts the blacklist lines in files: it writes the
 * fragment's name into the admin directory, which masks every same-named file,
 * unless the admin already has a file of that name (never touched).
 */
export function allowLifts(outcome: ModprobeOutcome, adminDir: string, adminFileIsOurs: boolean): { lifts: true } | { lifts: false; reason: string } {
  if (outcome.kind !== "blacklisted") return { lifts: true };
  for (const line of outcome.lines) {
    if (line.where === "proc/cmdline") continue;
    const file = line.where.replace(/:\d+$/, "");
    if (path.posix.basename(file) !== fragmentName(outcome.module)) {
      return { lifts: false, reason: `${line.where} is not an fsblacklist fragment: fsblacklist allow cannot lift it, so the fix comments that line out` };
    }
    const adminFile = path.posix.join(adminDir, fragmentName(outcome.module));
    if (!adminFileIsOurs) {
      return { lifts: false, reason: `${adminFile} belongs to the administrator: fsblacklist never changes it, so the fix comments the line out` };
    }
  }
  return { lifts: true };
}

/** The install line that blocks is our fragment's, and `fsblacklist allow` can replace it. */
export function installLineIsOurs(outcome: ModprobeOutcome, adminFileIsOurs: boolean): boolean {
  if (outcome.kind !== "install-blocked" && outcome.kind !== "dependency-blocked") return false;
  const owner = outcome.kind === "install-blocked" ? outcome.module : outcome.dependency;
  const file = outcome.line.where.replace(/:\d+$/, "");
  if (path.posix.basename(file) !== fragmentName(owner)) return false;
  return adminFileIsOurs;
}

/**
 * The override file in `adminDir` that `fsblacklist allow` would write for this
 * outcome (the blocked module's, or the dependency's whose install line blocks),
 * or null when the outcome has none to write. allowLifts and installLineIsOurs
 * need to know whether it is absent or ours.
 */
export function adminFileFor(outcome: ModprobeOutcome, adminDir: string): string | null {
  const owner = outcome.kind === "blacklisted" || outcome.kind === "install-blocked" ? outcome.module : outcome.kind === "dependency-blocked" ? outcome.dependency : null;
  return owner === null ? null : path.posix.join(adminDir, fragmentName(owner));
}
