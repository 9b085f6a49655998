// Which modprobe.d files kmod reads, and in which order (libkmod-config.c:
// conf_files_list / conf_files_insert_sorted). Pure: it works on directory
// listings that the system layer has read.

import type { EntryKind } from "../system/root-fs.ts";
import type { Diagnostic } from "./parse-config.ts";
import type { KmodBehaviour } from "./kmod-version.ts";

/** The directories kmod reads, highest precedence first (root-relative). */
export const MODPROBE_DIRS = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"] as const;

export interface ListedEntry {
  name: string;
  kind: EntryKind;
}

export interface ListedDir {
  /** Root-relative directory path. */
  dir: string;
  /** Null when the directory does not exist. */
  entries: ListedEntry[] | null;
}

export interface SelectedFile {
  /** The basename that decides order and precedence. */
  name: string;
  /** Root-relative path of the file that wins the name. */
  path: string;
  dir: string;
  kind: EntryKind;
  /** Files with the same name in lower-precedence directories, which this one masks. */
  masks: string[];
}

function isCandidate(name: string, behaviour: KmodBehaviour): boolean {
  if (name.startsWith(".")) return false;
  if (name.length < 6) return false;
  if (name.endsWith(".conf")) return true;
  return behaviour.readsAliasFiles && name.endsWith(".alias");
}

/**
 * kmod sorts all files of all directories by basename (strcmp) and the first
 * directory that has a name wins it; later ones are ignored. An empty file or a
 * link to /dev/null wins its name and contributes nothing: that is masking.
 */
export function selectConfigFiles(
  dirs: readonly ListedDir[],
  behaviour: KmodBehaviour,
): { files: SelectedFile[]; diagnostics: Diagnostic[] } {
  const byName = new Map<string, SelectedFile>();
  const diagnostics: Diagnostic[] = [];
  for (const { dir, entries } of dirs) {
    if (!entries) continue;
    for (const entry of entries) {
      if (!isCandidate(entry.name, behaviour)) continue;
      const path = `${dir}/${entry.name}`;
      if (entry.kind === "directory") {
        diagnostics.push({ file: path, message: `Directories inside directories are not supported: ${path}` });
        continue;
      }
      if (entry.kind === "dangling" && !behaviour.danglingLinkMasks) {
        diagnostics.push({ file: path, message: `Cannot stat directory entry: ${path}` });
        continue;
      }
      const winner = byName.get(entry.name);
      if (winner) {
        winner.masks.push(path);
        continue;
      }
      byName.set(entry.name, { name: entry.name, path, dir, kind: entry.kind, masks: [] });
    }
  }
  const files = [...byName.values()].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  return { files, diagnostics };
}
