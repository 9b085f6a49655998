// The file tree an initramfs unpacks to, from its cpio entries, and the
// modprobe.d configuration that kmod inside it reads. Pure. Later entries
// replace earlier ones of the same path, as the kernel's unpacking does; paths
// are resolved through the image's own symbolic links (a merged-/usr image has
// `lib -> usr/lib`), never leaving the image.

import { modprobeDirs, type ListedDir, type ListedEntry } from "../kmod/config-files.ts";
import type { ConfigInputs } from "../kmod/effective-config.ts";
import type { KmodBehaviour } from "../kmod/kmod-version.ts";
import type { CpioEntry } from "./cpio.ts";

const MAX_LINK_HOPS = 40;

type Resolved = { path: string; entry: CpioEntry | null } | { path: string; devnull: true } | null;

export class ImageTree {
  private readonly byPath = new Map<string, CpioEntry>();
  private readonly children = new Map<string, Set<string>>();

  constructor(entries: readonly CpioEntry[]) {
    for (const entry of entries) {
      this.byPath.set(entry.path, entry);
      if (entry.path === "") continue;
      const slash = entry.path.lastIndexOf("/");
      const parent = slash < 0 ? "" : entry.path.slice(0, slash);
      let names = this.children.get(parent);
      if (names === undefined) this.children.set(parent, (names = new Set()));
      names.add(entry.path.slice(slash + 1));
    }
  }

  /** The kernel releases whose module directories the image holds (lib/modules/<release>). */
  releases(): string[] {
    const found = new Set<string>();
    for (const dir of ["lib/modules", "usr/lib/modules"]) {
      const resolved = this.resolve(dir);
      if (resolved === null || !("entry" in resolved)) continue;
      for (const name of this.children.get(resolved.path) ?? []) {
        if (this.kindAt(`${resolved.path}/${name}`) === "directory") found.add(name);
      }
    }
    return [...found].sort();
  }

  /** A path's entry after following the image's links in every component; null when it does not exist. */
  resolve(path: string): Resolved {
    let todo = path.split("/").filter((part) => part !== "" && part !== ".");
    const done: string[] = [];
    let hops = 0;
    while (todo.length > 0) {
      const part = todo.shift()!;
      if (part === "..") {
        done.pop();
        continue;
      }
      const candidate = [...done, part].join("/");
      const entry = this.byPath.get(candidate);
      if (entry === undefined) return null;
      if (entry.kind === "symlink" && entry.target !== undefined) {
        if (++hops > MAX_LINK_HOPS) return null;
        if (entry.target === "/dev/null" && todo.length === 0) return { path: candidate, devnull: true };
        const target = entry.target.split("/").filter((p) => p !== "" && p !== ".");
        if (entry.target.startsWith("/")) done.length = 0;
        todo = [...target, ...todo];
        continue;
      }
      done.push(part);
    }
    const resolvedPath = done.join("/");
    return { path: resolvedPath, entry: this.byPath.get(resolvedPath) ?? null };
  }

  private kindAt(path: string): ListedEntry["kind"] {
    const resolved = this.resolve(path);
    if (resolved === null) return "dangling";
    if ("devnull" in resolved) return "devnull";
    const kind = resolved.entry?.kind ?? (resolved.path === "" ? "directory" : "dangling");
    return kind === "symlink" ? "dangling" : kind;
  }

  /** A regular file's bytes (through links), or null. */
  read(path: string): Buffer | null {
    const resolved = this.resolve(path);
    if (resolved === null || !("entry" in resolved) || resolved.entry?.kind !== "file") return null;
    return resolved.entry.data ?? null;
  }

  /** The modprobe.d directories as kmod in the image lists them. */
  listModprobeDirs(behaviour: KmodBehaviour): ListedDir[] {
    return modprobeDirs(behaviour).map((dir): ListedDir => {
      const kind = this.kindAt(dir);
      if (kind === "dangling") return { dir, entries: null };
      if (kind !== "directory") return { dir, entries: null, notDirectory: kind };
      const resolved = this.resolve(dir) as { path: string };
      const names = [...(this.children.get(resolved.path) ?? [])];
      return { dir, entries: names.map((name) => ({ name, kind: this.kindAt(`${resolved.path}/${name}`) })) };
    });
  }

  /**
   * What buildEffectiveConfig needs to model kmod inside the image. No kernel
   * command line: it is the same for the image and the system it boots.
   */
  configInputs(behaviour: KmodBehaviour, release: string | null): ConfigInputs {
    const moduleDirFiles: ConfigInputs["moduleDirFiles"][number][] = [];
    if (release !== null) {
      for (const name of ["modules.softdep", "modules.weakdep"] as const) {
        const path = `lib/modules/${release}/${name}`;
        if (this.read(path) !== null) moduleDirFiles.push({ name, path });
      }
    }
    return {
      dirs: this.listModprobeDirs(behaviour),
      readFile: (path) => this.read(path)?.toString("latin1") ?? null,
      moduleDirFiles,
      cmdline: null,
      behaviour,
    };
  }
}

/** The files kmod's configuration can come from: what the image reader keeps the data of. */
export function isModprobeConfigPath(path: string): boolean {
  return /(^|\/)modprobe\.d(\/[^/]+)?$/.test(path) || /(^|\/)modules\/[^/]+\/modules\.(softdep|weakdep)$/.test(path);
}
