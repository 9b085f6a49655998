// Reads what kmod would read under the root and builds the effective configuration:
// as it is now, or as it will be once planned writes are carried out.

import { modprobeDirs, withFiles, type ListedDir, type ListedEntry } from "../kmod/config-files.ts";
import { buildEffectiveConfig, renderConfigFiles, type ConfigInputs, type EffectiveConfig } from "../kmod/effective-config.ts";
import type { KmodBehaviour } from "../kmod/kmod-version.ts";
import type { Diagnostic } from "../kmod/parse-config.ts";
import { errnoCode } from "../errors.ts";
import { SymlinkLoopError, nameAsText, type RootFs } from "./root-fs.ts";

export interface ReadConfigOptions {
  behaviour: KmodBehaviour;
  /** Kernel release whose modules.softdep takes part; null for none. */
  release: string | null;
  /** Read proc/cmdline under the root (false when there is no running kernel there). */
  cmdline: boolean;
  /**
   * Files as they will be after planned writes: new text, or null for a removed
   * file (root-relative paths). How we know what kmod will do after a change
   * before making it.
   */
  overlay?: ReadonlyMap<string, string | null>;
  /** Directories listed and files read once for several reads of the configuration (see ConfigReads). */
  reads?: ConfigReads;
}

/**
 * The configuration as read from disk, kept for a computation that reads it
 * several times and writes nothing in between (apply's decision reads it for
 * its fragments, its simulation, and before and after its plan): each directory
 * is listed and each file read once. What could not be listed or read is said
 * again each time, as the first time.
 */
export class ConfigReads {
  readonly #listings = new Map<string, { dirs: ListedDir[]; problems: Diagnostic[] }>();
  readonly #files = new Map<string, { text: string | null; problem: Diagnostic | null }>();
  /** The texts read (latin1), by root-relative path: who wrote a file can be told without reading it again. */
  readonly texts = new Map<string, string>();
  /** The files as parsed (ConfigInputs.parsed). */
  readonly parsed: NonNullable<ConfigInputs["parsed"]> = new Map();

  listing(key: string, list: () => { dirs: ListedDir[]; problems: Diagnostic[] }): { dirs: ListedDir[]; problems: Diagnostic[] } {
    let found = this.#listings.get(key);
    if (found === undefined) this.#listings.set(key, (found = list()));
    return found;
  }

  read(file: string, read: () => { text: string | null; problem: Diagnostic | null }): { text: string | null; problem: Diagnostic | null } {
    let found = this.#files.get(file);
    if (found === undefined) {
      this.#files.set(file, (found = read()));
      if (found.text !== null) this.texts.set(file, found.text);
    }
    return found;
  }
}

/**
 * The modprobe.d directories as kmod sees them: entries in readdir order, a path
 * that is a file rather than a directory (kmod reads it as one file), and a
 * directory that cannot be listed (kmod skips it with an error, so do we). Names
 * are nameAsText(): a name with a backslash (rare) is escaped here as listDir()
 * has escaped one that is not UTF-8, so that no two names read alike.
 */
export function listConfigDirs(fs: RootFs, behaviour: KmodBehaviour, diagnostics: Diagnostic[]): ListedDir[] {
  return modprobeDirs(behaviour).map((dir): ListedDir => {
    let resolved: ReturnType<RootFs["resolve"]>;
    try {
      resolved = fs.resolve(dir);
    } catch (error) {
      // stat() fails (a link loop, a parent we may not search): kmod skips the path without a word.
      if (!(error instanceof SymlinkLoopError)) diagnostics.push({ file: dir, message: `cannot list directory: ${errnoCode(error) ?? String(error)}` });
      return { dir, entries: null };
    }
    if (resolved.kind === "dangling") return { dir, entries: null };
    if (resolved.kind !== "directory") return { dir, entries: null, notDirectory: resolved.kind };
    try {
      const entries: ListedEntry[] = [];
      for (const entry of fs.listDir(dir) ?? []) {
        if (entry.rawName !== undefined) entries.push({ name: entry.name, kind: entry.kind, rawName: entry.rawName });
        else if (entry.name.includes("\\")) {
          const rawName = Buffer.from(entry.name, "utf8");
          entries.push({ name: nameAsText(rawName), kind: entry.kind, rawName });
        } else entries.push({ name: entry.name, kind: entry.kind });
      }
      return { dir, entries };
    } catch (error) {
      diagnostics.push({ file: dir, message: `cannot list directory: ${errnoCode(error) ?? String(error)}` });
      return { dir, entries: null };
    }
  });
}

export function readEffectiveConfig(fs: RootFs, options: ReadConfigOptions): EffectiveConfig {
  const { inputs, problems } = configInputs(fs, options);
  const config = buildEffectiveConfig(inputs);
  config.diagnostics.push(...problems.listing, ...problems.reading);
  return config;
}

/** `modprobe -c`'s configuration section (a latin1 string) of the system under the root, without keeping its entries. */
export function readModprobeC(fs: RootFs, options: ReadConfigOptions): { text: string; diagnostics: Diagnostic[] } {
  const { inputs, problems } = configInputs(fs, options);
  const { text, diagnostics } = renderConfigFiles(inputs);
  return { text, diagnostics: [...diagnostics, ...problems.listing, ...problems.reading] };
}

/**
 * What the kmod model reads, through the root; what could not be listed or read
 * is collected as it happens. decide/simulate.ts works on these to tell what
 * kmod reads after a change.
 */
export function configInputs(fs: RootFs, options: ReadConfigOptions): { inputs: ConfigInputs; problems: { listing: Diagnostic[]; reading: Diagnostic[] } } {
  const listing: Diagnostic[] = [];
  const overlay = withAliases(fs, options.behaviour, options.overlay ?? new Map<string, string | null>());
  const list = (): { dirs: ListedDir[]; problems: Diagnostic[] } => {
    const problems: Diagnostic[] = [];
    return { dirs: listConfigDirs(fs, options.behaviour, problems), problems };
  };
  const listed = options.reads === undefined ? list() : options.reads.listing(modprobeDirs(options.behaviour).join("\0"), list);
  listing.push(...listed.problems);
  const dirs = withFiles(listed.dirs, overlay);
  const moduleDirFiles: { name: "modules.softdep" | "modules.weakdep"; path: string }[] = [];
  if (options.release !== null) {
    for (const name of ["modules.softdep", "modules.weakdep"] as const) {
      moduleDirFiles.push({ name, path: `lib/modules/${options.release}/${name}` });
    }
  }
  const reading: Diagnostic[] = [];
  let cmdline: string | null = null;
  if (options.cmdline) {
    try {
      cmdline = fs.readBytes("proc/cmdline")?.toString("latin1") ?? null;
    } catch (error) {
      reading.push({ file: "proc/cmdline", message: `cannot read: ${errnoCode(error) ?? String(error)}` });
    }
  }
  const inputs: ConfigInputs = {
    dirs,
    readFile: (file, raw) => {
      // Planned files are ours, named after checked module names: never a raw name.
      const planned = raw === undefined ? overlay.get(file) : undefined;
      if (planned !== undefined) return planned === null ? null : Buffer.from(planned, "utf8").toString("latin1");
      const read = (): { text: string | null; problem: Diagnostic | null } => {
        try {
          return { text: raw === undefined ? fs.readBinaryString(file) : fs.readBinaryStringIn(raw.dir, raw.name), problem: null };
        } catch (error) {
          // kmod skips a file it cannot open without a word; we skip it too, but say so.
          return { text: null, problem: { file, message: `cannot read: ${errnoCode(error) ?? String(error)}` } };
        }
      };
      const { text, problem } = options.reads === undefined ? read() : options.reads.read(file, read);
      if (problem !== null) reading.push(problem);
      return text;
    },
    moduleDirFiles,
    cmdline,
    behaviour: options.behaviour,
    ...(options.reads === undefined ? {} : { parsed: options.reads.parsed }),
  };
  return { inputs, problems: { listing, reading } };
}

/**
 * The overlay under every name kmod reads each planned file by: a directory kmod
 * reads may be another one's link (run/modprobe.d -> ../usr/lib/modprobe.d,
 * lib -> usr/lib), and a file written or removed there is written or removed
 * under each name. Planned paths come first, so their own text wins.
 */
function withAliases(fs: RootFs, behaviour: KmodBehaviour, overlay: ReadonlyMap<string, string | null>): ReadonlyMap<string, string | null> {
  if (overlay.size === 0) return overlay;
  const hostOf = (dir: string): string | null => {
    try {
      const resolved = fs.resolve(dir);
      return resolved.kind === "directory" ? resolved.hostPath : null;
    } catch {
      return null;
    }
  };
  const readDirs = modprobeDirs(behaviour).map((dir) => ({ dir, host: hostOf(dir) }));
  const out = new Map(overlay);
  for (const [file, text] of overlay) {
    const cut = file.lastIndexOf("/");
    const host = hostOf(file.slice(0, Math.max(0, cut)));
    if (host === null) continue;
    for (const read of readDirs) {
      const alias = `${read.dir}/${file.slice(cut + 1)}`;
      if (read.host === host && !out.has(alias)) out.set(alias, text);
    }
  }
  return out;
}
