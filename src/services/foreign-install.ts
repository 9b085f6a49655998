// Install lines fsblacklist did not write. kmod runs only the first `install`
// line that matches a module, in file-name order across every directory, and
// our fragments' names sort before most of an administrator's (hfs.conf,
// CIS.conf): a line of ours would shadow theirs. Whoever writes a fragment or
// an override asks here first, and leaves the administrator's line in force.

import type { Context } from "../context.ts";
import { installLinesFor, requestBlockers, type InstallLine } from "../kmod/blockers.ts";
import type { ResolveFacts } from "../kmod/resolve.ts";
import type { EffectiveConfig } from "../kmod/effective-config.ts";
import { fnmatch } from "../kmod/fnmatch.ts";
import { firstLineOf } from "../kmod/parse-config.ts";
import { FRAGMENT_MARKER, type ForeignInstall } from "../policy/fragment.ts";
import { parseMarker } from "../policy/marker.ts";

export interface InstallLineReport {
  /** "etc/modprobe.d/hfs.conf:3" */
  where: string;
  /** The directive: "install hfs /bin/false". */
  line: string;
  /** The one kmod runs (the first that matches). */
  runs: boolean;
  /** fsblacklist wrote the file it is in. */
  ours: boolean;
}

/** Every install line matching `module` in kmod's order, each marked ours or not (`texts`: as in moduleInstallLines). */
export function installLinesReport(ctx: Context, config: EffectiveConfig, module: string, texts?: ReadonlyMap<string, string>): InstallLineReport[] {
  const ours = ownership(ctx, texts);
  return installLinesFor(module, config.entries).map((line) => describe(line, ours(line.source.file)));
}

/** What `status FS` and `explain` show about a module's install lines. */
export interface ModuleInstallLines {
  /** Every line matching the module, in kmod's order; `runs` marks the one kmod runs (none when a softdep sets them aside). */
  lines: InstallLineReport[];
  /** "etc/modprobe.d/x.conf:2": a softdep line for the module that makes kmod load the module file itself and run none of them. */
  setAsideBy: string | null;
}

/**
 * Every install line matching `module` and which one `modprobe MODULE` runs at
 * the next boot (the module not loaded yet): the first, unless a softdep makes
 * kmod set them all aside. `texts`: the configuration files' texts as the
 * model read them (latin1, ConfigReads.texts), so as not to read them again.
 */
export function moduleInstallLines(ctx: Context, facts: ResolveFacts, module: string, texts?: ReadonlyMap<string, string>): ModuleInstallLines {
  const ours = ownership(ctx, texts);
  const lines = installLinesFor(module, facts.entries).map((line) => describe(line, ours(line.source.file)));
  // Only a softdep line for the module sets its install lines aside: without one, no resolution is needed.
  if (lines.length === 0 || !facts.entries.some((e) => e.kind === "softdep" && fnmatch(e.module, module))) return { lines, setAsideBy: null };
  const byName = requestBlockers(module, { ...facts, loaded: new Set() });
  const setAside = byName.candidates.flatMap((c) => c.members).find((m) => m.module === module)?.setAside ?? null;
  if (setAside === null) return { lines, setAsideBy: null };
  return { lines: lines.map((l) => ({ ...l, runs: false })), setAsideBy: `${setAside.softdep.file}:${firstLineOf(setAside.softdep)}` };
}

/** The install lines matching `module` that fsblacklist did not write, in kmod's order. */
export function foreignInstallLines(ctx: Context, config: EffectiveConfig, module: string, texts?: ReadonlyMap<string, string>): ForeignInstall[] {
  return installLinesReport(ctx, config, module, texts)
    .filter((l) => !l.ours)
    .map(({ where, line }) => ({ where, line }));
}

function describe(line: InstallLine, ours: boolean): InstallLineReport {
  return { where: `${line.source.file}:${firstLineOf(line.source)}`, line: `install ${line.pattern} ${line.command}`, runs: line.runs, ours };
}

/** Whether a configuration file is one fsblacklist wrote (a fragment or a marked override), read once per file unless its text is in `texts`. */
function ownership(ctx: Context, texts?: ReadonlyMap<string, string>): (file: string) => boolean {
  const cache = new Map<string, boolean>();
  return (file) => {
    let ours = cache.get(file);
    if (ours === undefined) {
      const known = texts?.get(file);
      const text = file === "proc/cmdline" ? null : known !== undefined ? Buffer.from(known, "latin1").toString("utf8") : ctx.fs.readText(file);
      ours = text !== null && (text.startsWith(FRAGMENT_MARKER + "\n") || parseMarker(text) !== null);
      cache.set(file, ours);
    }
    return ours;
  };
}
