// Which modprobe.d files kmod reads, and in which order (libkmod-config.c:
// conf_files_list / conf_files_insert_sorted). Pure: it works on directory
// listings that the system layer has read.

import type { Diagnostic } from "./parse-config.ts";
import type { KmodBehaviour } from "./kmod-version.ts";

/** The directories kmod reads, highest precedence first (root-relative); usr/lib only from kmod 32. */
export const MODPROBE_DIRS = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"] as const;

export function modprobeDirs(behaviour: KmodBehaviour): string[] {
  return MODPROBE_DIRS.filter((dir) => behaviour.readsUsrLib || dir !== "usr/lib/modprobe.d");
}

/** What a directory entry is once its links are followed (system/root-fs.ts tells). */
export type EntryKind = "file" | "directory" | "devnull" | "dangling" | "other";

export interface ListedEntry {
  /**
   * The name as text (system/root-fs.ts nameAsText(): a backslash doubled, a
   * byte that is not UTF-8 as `\xNN`), so that equal names are equal strings.
   */
  name: string;
  kind: EntryKind;
  /** The name's bytes when they are not `name` in UTF-8: kmod filters, sorts and opens these. */
  rawName?: Buffer;
}

export interface ListedDir {
  /** Root-relative directory path. */
  dir: string;
  /** Entries in readdir order; null when the path is not a directory (or does not exist). */
  entries: ListedEntry[] | null;
  /**
   * What the path is when it exists but is not a directory ("file", "devnull",
   * "other"): kmod then reads it as one configuration file named by its basename.
   */
  notDirectory?: EntryKind;
}

export interface SelectedFile {
  /** The basename that decides order and precedence (as text, like ListedEntry's). */
  name: string;
  /** Its bytes when they are not `name` in UTF-8 (ListedEntry's). */
  rawName?: Buffer;
  /** Root-relative path of the file that wins the name (as text). */
  path: string;
  dir: string;
  kind: EntryKind;
  /** Files with the same name in lower-precedence directories, which this one masks. */
  masks: string[];
}

function isCandidate(entry: ListedEntry, behaviour: KmodBehaviour): boolean {
  // kmod's tests are on bytes: a latin1 string has one character per byte.
  const name = entry.rawName === undefined ? entry.name : entry.rawName.toString("latin1");
  if (name.startsWith(".")) return false;
  if (name.length < 6) return false;
  if (name.endsWith(".conf")) return true;
  return behaviour.readsAliasFiles && name.endsWith(".alias");
}

/**
 * kmod compares names with strcmp: byte order of the UTF-8 names, not UTF-16
 * order. The two agree when the first code units that differ (or the end of
 * the shorter name) are below the surrogates (encoding two Buffers per
 * comparison cost showconfig on 5,000 files ~25 ms and much garbage).
 */
export function compareNames(a: string, b: string): number {
  const shorter = Math.min(a.length, b.length);
  let i = 0;
  while (i < shorter && a.charCodeAt(i) === b.charCodeAt(i)) i++;
  const ca = i < a.length ? a.charCodeAt(i) : -1;
  const cb = i < b.length ? b.charCodeAt(i) : -1;
  if (ca < 0xd800 && cb < 0xd800) return ca === cb ? 0 : ca < cb ? -1 : 1;
  return Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8"));
}

/** compareNames() for names that may carry their bytes (ListedEntry.rawName). */
export function compareFileNames(a: { name: string; rawName?: Buffer }, b: { name: string; rawName?: Buffer }): number {
  if (a.rawName === undefined && b.rawName === undefined) return compareNames(a.name, b.name);
  return Buffer.compare(a.rawName ?? Buffer.from(a.name, "utf8"), b.rawName ?? Buffer.from(b.name, "utf8"));
}

/**
 * kmod sorts all files of all directories by basename (strcmp) and the first
 * directory that has a name wins it; later ones are ignored. An empty file or a
 * link to /dev/null wins its name and contributes nothing: that is masking.
 */
export function selectConfigFiles(dirs: readonly ListedDir[], behaviour: KmodBehaviour): { files: SelectedFile[]; diagnostics: Diagnostic[] } {
  const byName = new Map<string, SelectedFile>();
  const diagnostics: Diagnostic[] = [];
  // Names as text are one per byte string (ListedEntry.name), so they key the masking.
  const claim = (name: string, rawName: Buffer | undefined, path: string, dir: string, kind: EntryKind): void => {
    const winner = byName.get(name);
    if (winner) winner.masks.push(path);
    else byName.set(name, rawName === undefined ? { name, path, dir, kind, masks: [] } : { name, rawName, path, dir, kind, masks: [] });
  };
  // kmod up to 33 ignores a failed fstatat() and looks at the stat buffer of the
  // entry it stat'ed before (in readdir order, across directories): an entry that
  // cannot be stat'ed (dangling link, link loop) counts as a directory when that
  // one was a directory, and otherwise claims its name.
  let lastStatWasDirectory = false;
  // Messages are binary strings like the configuration text: names go in as their UTF-8 bytes.
  const bytes = (text: string): string => Buffer.from(text, "utf8").toString("latin1");
  for (const { dir, entries, notDirectory } of dirs) {
    if (notDirectory !== undefined) {
      claim(dir.slice(dir.lastIndexOf("/") + 1), undefined, dir, dir, notDirectory);
      continue;
    }
    if (!entries) continue;
    for (const entry of entries) {
      if (!isCandidate(entry, behaviour)) continue;
      const path = `${dir}/${entry.name}`;
      let isDirectory = entry.kind === "directory";
      if (entry.kind === "dangling") {
        if (!behaviour.danglingLinkMasks) {
          diagnostics.push({ file: path, message: `Cannot stat directory entry: ${bytes(path)}` });
          continue;
        }
        isDirectory = lastStatWasDirectory;
      } else lastStatWasDirectory = isDirectory;
      if (isDirectory) {
        diagnostics.push({ file: path, message: `Directories inside directories are not supported: ${bytes(path)}` });
        continue;
      }
      claim(entry.name, entry.rawName, path, dir, entry.kind);
    }
  }
  const files = [...byName.values()].sort(compareFileNames);
  return { files, diagnostics };
}

/** The directory listings with the overlay's files added (as regular files) or taken away. */
export function withFiles(dirs: readonly ListedDir[], overlay: ReadonlyMap<string, string | null>): ListedDir[] {
  if (overlay.size === 0) return [...dirs];
  return dirs.map((listed) => {
    // A path that is not a directory cannot hold a file: writing one would fail.
    if (listed.notDirectory !== undefined) return listed;
    let entries = listed.entries;
    for (const [file, text] of overlay) {
      if (file.slice(0, Math.max(0, file.lastIndexOf("/"))) !== listed.dir) continue;
      const name = file.slice(file.lastIndexOf("/") + 1);
      entries = (entries ?? []).filter((e) => e.name !== name);
      if (text !== null) entries.push({ name, kind: "file" });
    }
    return { ...listed, entries };
  });
}
