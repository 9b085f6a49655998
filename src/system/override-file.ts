// The override files of the admin directory (etc/modprobe.d/<fragment name>):
// what is there and whether it carries fsblacklist's marker. One reader for
// status, the overrides and explain, so all three see a file the same way: an
// entry as its directory lists it (a dangling link is there, a missing file is
// not), read only when it is a regular file.

import * as path from "node:path";
import type { EntryKind } from "../kmod/config-files.ts";
import { parseMarker, type OverrideMarker } from "../policy/marker.ts";
import type { RootFs } from "./root-fs.ts";

export interface OverrideFileRead {
  /** Root-relative path. */
  path: string;
  /** What the entry is once its links are followed; "none" when there is no entry of that name. */
  kind: EntryKind | "none";
  /** The content of a regular file; null for anything else (or a file gone while read). */
  text: string | null;
  /** Our marker in that content, or null (the administrator's own file, or no file). */
  marker: OverrideMarker | null;
}

/** The override files of `dir`, from one listing of it taken on first use (a run that reads many and changes none). */
export function overrideFilesIn(fs: RootFs, dir: string): { read(name: string): OverrideFileRead } {
  let listing: Map<string, EntryKind> | null = null;
  return {
    read(name) {
      listing ??= new Map((fs.listDir(dir) ?? []).map((e) => [e.name, e.kind]));
      const file = path.posix.join(dir, name);
      const kind = listing.get(name) ?? "none";
      const text = kind === "file" ? fs.readText(file) : null;
      return { path: file, kind, text, marker: text === null ? null : parseMarker(text) };
    },
  };
}

/** One override file, as its directory lists it now. */
export function readOverrideFile(fs: RootFs, file: string): OverrideFileRead {
  return overrideFilesIn(fs, path.posix.dirname(file)).read(path.posix.basename(file));
}
