// A view of the file system confined to one root directory (`--root`, `$DPKG_ROOT`).
//
// Every path the tool reads or writes goes through here. Paths are relative to the
// root; symbolic links are resolved the way a chroot would resolve them (an absolute
// target starts again at the root, `..` never climbs above it), so a link inside the
// root can never lead outside it. A link whose target is literally `/dev/null` is
// reported as such, because kmod treats it as a mask. Names are bytes to the
// system: one that is not UTF-8 (or a link target that is not) is followed and
// read in bytes by the same rules, and shown as nameAsText().

// Writes use fs.promises, which Node loads on first use: node:fs/promises (and the
// readline and watcher modules it brings) cost ~1 ms of every read-only run.
import { isUtf8 } from "node:buffer";
import * as fs from "node:fs";
import * as path from "node:path";
import { atomicTempName } from "./atomic-temp.ts";
import type { EntryKind } from "../kmod/config-files.ts";
import { RuntimeFailure, UsageError, errnoCode } from "../errors.ts";

const MAX_SYMLINK_HOPS = 40;
const MAX_MKDIR_STEPS = 256;
const SLASH = 0x2f;
const SLASH_BYTES = Buffer.from("/");
const DEV_NULL = Buffer.from("/dev/null");

export interface DirEntry {
  /** The name; nameAsText() of its bytes when they are not UTF-8. */
  name: string;
  kind: EntryKind;
  /** Host path of the resolved entry (inside the root); bytes when no text spells it. */
  hostPath: string | Buffer;
  /** The name's bytes are not UTF-8: paths built from `name` do not reach the entry, `rawName` does (readBinaryStringIn()). */
  undecodableName?: true;
  rawName?: Buffer;
}

/**
 * A file name as text that keeps every byte: its UTF-8 reading with a backslash
 * doubled and each byte that is not part of a UTF-8 character as `\xNN`. A
 * UTF-8 name without a backslash reads as it is, and no two names read alike.
 */
export function nameAsText(bytes: Buffer): string {
  let text = "";
  let run = 0;
  for (let i = 0; i < bytes.length; ) {
    const byte = bytes[i]!;
    const length = byte === 0x5c ? 0 : utf8CharLength(bytes, i);
    if (length > 0) {
      i += length;
      continue;
    }
    text += bytes.toString("utf8", run, i) + (byte === 0x5c ? "\\\\" : `\\x${byte.toString(16).padStart(2, "0")}`);
    run = ++i;
  }
  return text + bytes.toString("utf8", run);
}

/** The length of the UTF-8 character at `i` (RFC 3629: no overlong form, surrogate or code point above U+10FFFF); 0 when none starts there. */
function utf8CharLength(bytes: Buffer, i: number): number {
  const first = bytes[i]!;
  if (first < 0x80) return 1;
  const follows = (k: number, low = 0x80, high = 0xbf): boolean => {
    const byte = bytes[i + k];
    return byte !== undefined && byte >= low && byte <= high;
  };
  if (first >= 0xc2 && first <= 0xdf) return follows(1) ? 2 : 0;
  if (first >= 0xe0 && first <= 0xef) return follows(1, first === 0xe0 ? 0xa0 : 0x80, first === 0xed ? 0x9f : 0xbf) && follows(2) ? 3 : 0;
  if (first >= 0xf0 && first <= 0xf4) return follows(1, first === 0xf0 ? 0x90 : 0x80, first === 0xf4 ? 0x8f : 0xbf) && follows(2) && follows(3) ? 4 : 0;
  return 0;
}

type Walked<P> = { hostPath: P; kind: EntryKind };

/** A link loop (or a chain too long to follow) in the root: bad input, exit 2 if nothing handles it. */
export class SymlinkLoopError extends UsageError {
  readonly code = "ELOOP";
}

export class RootFs {
  /** Absolute, normalised host path of the root ("/" for the real system). */
  readonly root: string;
  /**
   * Host paths seen to be real directories (not links), so that resolving the
   * next path under one needs no lstat per component: a tree of 5,000 files took
   * 25,000 lstat calls. For reading only: what creates, writes or removes walks
   * every component again (trustSeen). Another run or an administrator may
   * remove one meanwhile (`uninstall --purge`, `rm -rf`): when the system says
   * ENOENT or ENOTDIR under one, what was seen on that path is forgotten, and
   * listing tries once more through the full walk. Reading a missing file
   * answers null either way (telling a missing file from a missing directory
   * would cost a system call on every such read), and resolve() and exists() of
   * a directory seen answer from here.
   */
  private readonly directories = new Set<string>();
  /**
   * False while a write or a removal resolves where it goes: every component is
   * looked at again (lstat), so that a directory someone replaced by a link since
   * it was seen is followed inside the root, not out of it. Writes are few; the
   * window left is that of any path-based write, not the whole run's.
   */
  private trustSeen = true;
  /** Reused by readBinaryString(): a Buffer for each of 5,000 small files was ~6% of showconfig on them. */
  private scratch: Buffer | null = null;

  constructor(root: string) {
    this.root = path.resolve(root);
  }

  get isHostRoot(): boolean {
    return this.root === "/";
  }

  /** Normalises a root-relative path: no leading slash, no `..` above the root. */
  static normalise(relPath: string): string {
    // Most paths are normal already (no empty, "." or ".." component): reading
    // 5,000 files normalised each twice, splitting and joining.
    if (!/(?:^|\/)(?:\.\.?)?(?:\/|$)/.test(relPath)) return relPath;
    const parts: string[] = [];
    for (const part of relPath.split("/")) {
      if (part === "" || part === ".") continue;
      if (part === "..") parts.pop();
      else parts.push(part);
    }
    return parts.join("/");
  }

  /** Host path for a root-relative path, without resolving links. */
  hostPathUnresolved(relPath: string): string {
    return path.join(this.root, RootFs.normalise(relPath));
  }

  /** Root-relative display path for a host path inside the root. */
  relative(hostPath: string): string {
    return path.relative(this.root, hostPath) || ".";
  }

  /**
   * Resolves every symbolic link in `relPath` inside the root. Returns the host
   * path and what it is. A missing final component is "dangling"; a missing
   * directory on the way is also "dangling" (nothing there to read). For a
   * dangling path the host path is that of the first missing component (right
   * under a directory resolved inside the root): what the rest of the path
   * means depends on what gets created there, and `..` after it must not be
   * taken lexically, which could lead out of the root.
   */
  resolve(relPath: string): { hostPath: string; kind: EntryKind } {
    return this.walk(relPath);
  }

  /**
   * resolve(). With `bytes`, for reading, a link target that is not UTF-8 is
   * followed in bytes (walkBytes()); without, it is taken as its lossy UTF-8
   * reading, as the callers of resolve() need text.
   */
  private walk(relPath: string): Walked<string>;
  private walk(relPath: string, bytes: true): Walked<string | Buffer>;
  private walk(relPath: string, bytes = false): Walked<string | Buffer> {
    const normal = RootFs.normalise(relPath);
    const prefix = this.root === "/" ? "" : this.root;
    const direct = this.underRealDirectory(normal);
    if (direct !== null) {
      const kind = this.inspect(direct);
      if (kind !== "link") return { hostPath: direct, kind: kind === "seen" ? "directory" : kind };
    }
    const pending = normal.split("/").filter(Boolean);
    // Host path after each resolved component (a stack, for `..`); names have no "/" in them.
    const resolved: string[] = [];
    let hops = 0;
    // What the last component is, when lstat or the directories seen already said so (it was no link).
    let last: EntryKind | "seen" | null = null;
    while (pending.length > 0) {
      const part = pending.shift()!;
      last = null;
      if (part === ".") continue;
      if (part === "..") {
        resolved.pop();
        continue;
      }
      const candidate = `${resolved.at(-1) ?? prefix}/${part}`;
      const kind = this.inspect(candidate);
      if (kind === "dangling") return { hostPath: candidate, kind };
      if (kind !== "link") {
        last = kind;
        resolved.push(candidate);
        continue;
      }
      if (++hops > MAX_SYMLINK_HOPS) throw new SymlinkLoopError(`too many levels of symbolic links: ${relPath}`);
      const target = fs.readlinkSync(candidate);
      if (bytes && target.includes("\ufffd")) {
        const raw = fs.readlinkSync(candidate, { encoding: "buffer" });
        if (!isUtf8(raw)) {
          const from = raw[0] === SLASH ? prefix : (resolved.at(-1) ?? prefix);
          return this.walkBytes(Buffer.from(from), [...splitBytes(raw), ...pending.map((part) => Buffer.from(part))], hops);
        }
      }
      if (target === "/dev/null" && pending.length === 0) {
        return { hostPath: candidate, kind: "devnull" };
      }
      if (target.startsWith("/")) resolved.length = 0;
      pending.unshift(...target.split("/").filter(Boolean));
    }
    const hostPath = resolved.at(-1) ?? this.root;
    return { hostPath, kind: last === "seen" ? "directory" : (last ?? kindOf(hostPath)) };
  }

  /**
   * walk() in bytes, from a resolved directory's host path (`from`, "" for "/")
   * through `pending` path components, for a name or link target that is not
   * UTF-8 (no text path spells it), by the same rules: an absolute target starts
   * again at the root, `..` never climbs above it, a final link to /dev/null is
   * "devnull", the first missing component "dangling". Such names are few: this
   * neither uses nor fills the directories seen.
   */
  private walkBytes(from: Buffer, pending: Buffer[], hops: number): { hostPath: Buffer; kind: EntryKind } {
    const top = this.root === "/" ? 0 : Buffer.byteLength(this.root);
    let current = from;
    let last: fs.Stats | null = null;
    while (pending.length > 0) {
      const part = pending.shift()!;
      last = null;
      if (part.length === 1 && part[0] === 0x2e) continue;
      if (part.length === 2 && part[0] === 0x2e && part[1] === 0x2e) {
        if (current.length > top) current = current.subarray(0, current.lastIndexOf(SLASH));
        continue;
      }
      const candidate = Buffer.concat([current, SLASH_BYTES, part]);
      let stat: fs.Stats;
      try {
        stat = fs.lstatSync(candidate);
      } catch (error) {
        if (vanished(error)) return { hostPath: candidate, kind: "dangling" };
        throw error;
      }
      if (!stat.isSymbolicLink()) {
        last = stat;
        current = candidate;
        continue;
      }
      if (++hops > MAX_SYMLINK_HOPS) throw new SymlinkLoopError(`too many levels of symbolic links: ${nameAsText(candidate.subarray(top + 1))}`);
      const target = fs.readlinkSync(candidate, { encoding: "buffer" });
      if (target.equals(DEV_NULL) && pending.length === 0) return { hostPath: candidate, kind: "devnull" };
      if (target[0] === SLASH) current = current.subarray(0, top);
      pending.unshift(...splitBytes(target));
    }
    const hostPath = current.length === top ? Buffer.from(this.root) : current;
    if (last === null) return { hostPath, kind: kindOf(hostPath) };
    return { hostPath, kind: last.isDirectory() ? "directory" : last.isFile() ? "file" : "other" };
  }

  /**
   * The host path of a normalised path whose parent is a directory already seen
   * to be real, else null. Such a parent was reached through real directories
   * only, so resolve()'s walk would end on it and only the last component is
   * left to look at (reading 5,000 files spent a third of its time walking
   * parents again).
   */
  private underRealDirectory(normal: string): string | null {
    if (!this.trustSeen) return null;
    const slash = normal.lastIndexOf("/");
    if (slash <= 0) return null;
    const prefix = this.root === "/" ? "" : this.root;
    return this.directories.has(`${prefix}/${normal.slice(0, slash)}`) ? `${prefix}/${normal}` : null;
  }

  /**
   * What a host path under a real directory is, from the directories seen so far
   * ("seen") or its lstat: "link" for a symbolic link, "dangling" when it is missing.
   */
  private inspect(candidate: string): EntryKind | "link" | "seen" {
    if (this.trustSeen && this.directories.has(candidate)) return "seen";
    let stat: fs.Stats;
    try {
      stat = fs.lstatSync(candidate);
    } catch (error) {
      if (errnoCode(error) === "ENOENT" || errnoCode(error) === "ENOTDIR") return "dangling";
      throw error;
    }
    if (stat.isSymbolicLink()) return "link";
    if (stat.isDirectory()) {
      this.directories.add(candidate);
      return "directory";
    }
    return stat.isFile() ? "file" : "other";
  }

  /** `work` with every component of the paths it resolves looked at again (see trustSeen). */
  private lookingAgain<T>(work: () => T): T {
    const was = this.trustSeen;
    this.trustSeen = false;
    try {
      return work();
    } finally {
      this.trustSeen = was;
    }
  }

  /**
   * After ENOENT or ENOTDIR for a host path: forgets the first directory seen on
   * it, and everything under that, since any of them may be gone. Whether
   * anything was forgotten, i.e. whether a full walk could now answer otherwise.
   */
  private forget(hostPath: string): boolean {
    const prefix = this.root === "/" ? "" : this.root;
    for (let end = prefix.length; end !== -1; ) {
      end = hostPath.indexOf("/", end + 1);
      const dir = end === -1 ? hostPath : hostPath.slice(0, end);
      if (this.directories.has(dir)) {
        this.forgetTree(dir);
        return true;
      }
    }
    return false;
  }

  private forgetTree(dir: string): void {
    const under = `${dir}/`;
    for (const seen of this.directories) if (seen === dir || seen.startsWith(under)) this.directories.delete(seen);
  }

  /**
   * Lists a directory (resolved inside the root); null when it does not exist.
   * Entries come in the order the directory yields them (readdir order, unsorted),
   * because that is the order kmod sees them in.
   */
  listDir(relDir: string): DirEntry[] | null {
    let dir = this.resolve(relDir);
    if (dir.kind !== "directory") return null;
    let handle: fs.Dir;
    try {
      // Names as bytes, to tell names that are not UTF-8 (Node supports it; its types do not say so).
      handle = fs.opendirSync(dir.hostPath, { encoding: "buffer" as BufferEncoding });
    } catch (error) {
      if (!vanished(error) || !this.forget(dir.hostPath)) throw error;
      dir = this.resolve(relDir);
      if (dir.kind !== "directory") return null;
      handle = fs.opendirSync(dir.hostPath, { encoding: "buffer" as BufferEncoding });
    }
    const entries: DirEntry[] = [];
    const dirents: fs.Dirent<Buffer>[] = [];
    try {
      for (let dirent = handle.readSync(); dirent !== null; dirent = handle.readSync()) dirents.push(dirent as unknown as fs.Dirent<Buffer>);
    } finally {
      handle.closeSync();
    }
    // Per entry, path.join and re-encoding the name were most of listing 5,000 files:
    // a name is not UTF-8 only when decoding it gave U+FFFD, and names have no '/'.
    const under = dir.hostPath === "/" ? "" : dir.hostPath;
    for (const dirent of dirents) {
      const name = dirent.name.toString("utf8");
      const hostPath = `${under}/${name}`;
      if (name.includes("\ufffd") && !isUtf8(dirent.name)) entries.push(this.entryInBytes(under, dirent.name, dirent));
      else if (dirent.isFile()) entries.push({ name, kind: "file", hostPath });
      else if (dirent.isDirectory()) entries.push({ name, kind: "directory", hostPath });
      else if (dirent.isSymbolicLink()) {
        let resolved: { hostPath: string | Buffer; kind: EntryKind };
        try {
          resolved = this.walk(path.posix.join(this.relative(dir.hostPath), name), true);
        } catch (error) {
          if (error instanceof SymlinkLoopError) resolved = { hostPath, kind: "dangling" };
          else throw error;
        }
        entries.push({ name, kind: resolved.kind, hostPath: resolved.hostPath });
      } else entries.push({ name, kind: "other", hostPath });
    }
    return entries;
  }

  /** listDir()'s entry for a name that is not UTF-8, in the directory whose host path is `under` ("" for "/"). */
  private entryInBytes(under: string, name: Buffer, dirent: fs.Dirent<Buffer>): DirEntry {
    const dir = Buffer.from(under);
    const hostPath = Buffer.concat([dir, SLASH_BYTES, name]);
    const entry = { name: nameAsText(name), undecodableName: true, rawName: name } as const;
    if (dirent.isFile()) return { ...entry, kind: "file", hostPath };
    if (dirent.isDirectory()) return { ...entry, kind: "directory", hostPath };
    if (!dirent.isSymbolicLink()) return { ...entry, kind: "other", hostPath };
    try {
      return { ...entry, ...this.walkBytes(dir, [name], 0) };
    } catch (error) {
      if (error instanceof SymlinkLoopError) return { ...entry, kind: "dangling", hostPath };
      throw error;
    }
  }

  /**
   * Opens a file under a directory already seen to be real without following a
   * link, which tells what resolve()'s lstat would and leaves nothing to swap
   * in between: a descriptor, "missing", or null for a link or a path outside
   * such a directory (the full walk then decides).
   */
  private openUnderRealDirectory(relPath: string): number | "missing" | null {
    const direct = this.underRealDirectory(RootFs.normalise(relPath));
    return direct === null ? null : openNoFollow(direct);
  }

  /** Reads a file as bytes; null when it does not exist (or is a dangling link). */
  readBytes(relPath: string): Buffer | null {
    const fd = this.openUnderRealDirectory(relPath);
    if (fd === "missing") return null;
    if (fd !== null) {
      try {
        return fs.readFileSync(fd);
      } finally {
        fs.closeSync(fd);
      }
    }
    const target = this.walk(relPath, true);
    if (target.kind === "dangling") return null;
    if (target.kind === "devnull") return Buffer.alloc(0);
    try {
      return fs.readFileSync(target.hostPath);
    } catch (error) {
      if (errnoCode(error) === "ENOENT") return null;
      throw error;
    }
  }

  /**
   * Reads a file as a binary string (latin1: one character per byte, as the
   * kmod model keeps configuration text); null when it does not exist.
   */
  readBinaryString(relPath: string): string | null {
    const fd = this.openUnderRealDirectory(relPath);
    if (fd === "missing") return null;
    if (fd === null) return this.readBytes(relPath)?.toString("latin1") ?? null;
    return this.readLatin1(fd);
  }

  /**
   * readBinaryString() of the entry named `name` (bytes, listDir()'s rawName) in
   * a directory: the directory is resolved as any path, the name opened without
   * following a link, and a link followed in bytes by the same rules.
   */
  readBinaryStringIn(relDir: string, name: Buffer): string | null {
    const dir = this.resolve(relDir);
    if (dir.kind !== "directory") return null;
    const under = Buffer.from(dir.hostPath === "/" ? "" : dir.hostPath);
    const fd = openNoFollow(Buffer.concat([under, SLASH_BYTES, name]));
    if (fd === "missing") return null;
    if (fd !== null) return this.readLatin1(fd);
    const target = this.walkBytes(under, [name], 0);
    if (target.kind === "dangling") return null;
    if (target.kind === "devnull") return "";
    try {
      return fs.readFileSync(target.hostPath).toString("latin1");
    } catch (error) {
      if (errnoCode(error) === "ENOENT") return null;
      throw error;
    }
  }

  /** Reads an open file to its end as a latin1 string, through the reused buffer, and closes it. */
  private readLatin1(fd: number): string {
    try {
      let buffer = (this.scratch ??= Buffer.allocUnsafe(1 << 16));
      let length = 0;
      for (;;) {
        if (length === buffer.length) {
          const bigger = Buffer.allocUnsafe(buffer.length * 2);
          buffer.copy(bigger);
          this.scratch = buffer = bigger;
        }
        const read = fs.readSync(fd, buffer, length, buffer.length - length, null);
        if (read === 0) return buffer.toString("latin1", 0, length);
        length += read;
      }
    } finally {
      fs.closeSync(fd);
    }
  }

  /** Reads a text file (UTF-8); null when it does not exist. */
  readText(relPath: string): string | null {
    return this.readBytes(relPath)?.toString("utf8") ?? null;
  }

  exists(relPath: string): boolean {
    return this.resolve(relPath).kind !== "dangling";
  }

  /**
   * What a path is on the system, "device:inode" of where it resolves inside the
   * root (a link to /dev/null: the link itself); null when it does not exist.
   * Names are no identity: on a merged-/usr root `lib/modprobe.d/x.conf` and
   * `usr/lib/modprobe.d/x.conf` are one file, and removing the one removes the other.
   */
  identity(relPath: string): string | null {
    const { hostPath, kind } = this.resolve(relPath);
    if (kind === "dangling") return null;
    try {
      const stat = kind === "devnull" ? fs.lstatSync(hostPath) : fs.statSync(hostPath);
      return `${stat.dev}:${stat.ino}`;
    } catch (error) {
      if (vanished(error)) return null;
      throw error;
    }
  }

  /** When the file a path resolves to inside the root was last modified (ISO 8601); null when it does not exist. */
  modifiedAt(relPath: string): string | null {
    const { hostPath, kind } = this.resolve(relPath);
    if (kind === "dangling") return null;
    try {
      return fs.statSync(hostPath).mtime.toISOString();
    } catch (error) {
      if (vanished(error)) return null;
      throw error;
    }
  }

  /**
   * Creates a directory and its parents inside the root, one missing component
   * at a time, each right under a directory already resolved inside the root, so
   * that a path through links and `..` is created as in a chroot, never outside.
   */
  mkdirp(relDir: string): string {
    return this.lookingAgain(() => this.makeDirectory(relDir));
  }

  /** mkdirp()'s work; callers run it under lookingAgain(), as everything that creates or writes does. */
  private makeDirectory(relDir: string): string {
    for (let step = 0; step < MAX_MKDIR_STEPS; step++) {
      const target = this.walk(relDir);
      if (target.kind === "directory") return target.hostPath;
      if (target.kind !== "dangling") {
        throw new RuntimeFailure(`${RootFs.normalise(relDir)} exists and is not a directory`);
      }
      try {
        fs.mkdirSync(target.hostPath, { mode: 0o755 });
      } catch (error) {
        // Another run created it meanwhile (EEXIST), or removed a parent (ENOENT): walk again.
        if (errnoCode(error) !== "EEXIST" && !vanished(error)) throw error;
      }
    }
    throw new RuntimeFailure(`cannot create ${RootFs.normalise(relDir)}: its links lead to ever new directories`);
  }

  /**
   * Replaces a file atomically: a temporary file in the same directory, fsync,
   * rename over the target, fsync of the directory. After a crash the target is
   * either the old or the new version. A link at the target is replaced, not
   * followed.
   */
  async writeFileAtomic(relPath: string, data: string | Buffer, mode = 0o644): Promise<void> {
    const norm = RootFs.normalise(relPath);
    const dir = path.posix.dirname(norm) || ".";
    const name = path.posix.basename(norm);
    let dirHost = this.lookingAgain(() => this.makeDirectory(dir));
    let temp = path.join(dirHost, atomicTempName(name));
    let handle: fs.promises.FileHandle;
    try {
      handle = await fs.promises.open(temp, "wx", mode);
    } catch (error) {
      // Removed between the walk and the open (another run's uninstall --purge): once more.
      if (!vanished(error)) throw error;
      this.forget(dirHost);
      dirHost = this.lookingAgain(() => this.makeDirectory(dir));
      temp = path.join(dirHost, atomicTempName(name));
      handle = await fs.promises.open(temp, "wx", mode);
    }
    const target = path.join(dirHost, name);
    crashPoint();
    try {
      await handle.writeFile(data);
      await handle.sync();
      crashPoint();
    } catch (error) {
      await handle.close();
      await fs.promises.rm(temp, { force: true });
      throw error;
    }
    await handle.close();
    try {
      await fs.promises.rename(temp, target);
    } catch (error) {
      await fs.promises.rm(temp, { force: true });
      throw error;
    }
    crashPoint();
    await syncDirectory(dirHost);
  }

  /** Removes a file (not following a final link) and syncs its directory. */
  async removeFile(relPath: string): Promise<boolean> {
    const removed = await this.removeEntry(relPath, (target) => fs.promises.unlink(target));
    if (removed === null) return false;
    crashPoint();
    await syncDirectory(removed.dirHost);
    return true;
  }

  /**
   * Removes an empty directory (not following a final link: a link or a file
   * there is left alone) and syncs its parent. False when no directory is
   * there; a directory with anything in it is refused (ENOTEMPTY).
   */
  async removeEmptyDir(relDir: string): Promise<boolean> {
    if (RootFs.normalise(relDir) === "") throw new RuntimeFailure("refusing to remove the root directory");
    const removed = await this.removeEntry(relDir, (target) => fs.promises.rmdir(target));
    if (removed === null) return false;
    this.forgetTree(removed.target);
    await syncDirectory(removed.dirHost);
    return true;
  }

  /**
   * Runs `remove` on a path's host path, its parent resolved inside the root;
   * null when nothing is there to remove (ENOENT, or ENOTDIR: no directory on
   * the way, or the rmdir of something that is not one). A full walk could not
   * find more to remove, so what was seen on the path is only forgotten.
   */
  private async removeEntry(relPath: string, remove: (target: string) => Promise<void>): Promise<{ dirHost: string; target: string } | null> {
    const norm = RootFs.normalise(relPath);
    const dir = this.lookingAgain(() => this.resolve(path.posix.dirname(norm) || "."));
    if (dir.kind !== "directory") return null;
    const target = path.join(dir.hostPath, path.posix.basename(norm));
    try {
      await remove(target);
    } catch (error) {
      if (!vanished(error)) throw error;
      this.forget(dir.hostPath);
      return null;
    }
    return { dirHost: dir.hostPath, target };
  }
}

// Fault injection for test/evidence/crash-safety.test.ts: FSBLACKLIST_TEST_CRASH_AFTER=N
// makes the process SIGKILL itself at the Nth step of a write (temporary file
// created, written, renamed into place; file removed), as a power cut would.
let crashCountdown = Number(process.env["FSBLACKLIST_TEST_CRASH_AFTER"] ?? 0);
function crashPoint(): void {
  if (crashCountdown > 0 && --crashCountdown === 0) process.kill(process.pid, "SIGKILL");
}

/** ENOENT or ENOTDIR: something on the path is gone (or no directory any more). */
function vanished(error: unknown): boolean {
  const code = errnoCode(error);
  return code === "ENOENT" || code === "ENOTDIR";
}

/** Opens a file without following a final link: a descriptor, "missing", or null for a link. */
function openNoFollow(hostPath: string | Buffer): number | "missing" | null {
  try {
    return fs.openSync(hostPath, fs.constants.O_RDONLY | fs.constants.O_NOFOLLOW);
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" || code === "ENOTDIR") return "missing";
    if (code === "ELOOP") return null;
    throw error;
  }
}

/** A path in bytes split at its slashes, without empty components. */
function splitBytes(bytes: Buffer): Buffer[] {
  const parts: Buffer[] = [];
  for (let start = 0; start < bytes.length; ) {
    let end = bytes.indexOf(SLASH, start);
    if (end < 0) end = bytes.length;
    if (end > start) parts.push(bytes.subarray(start, end));
    start = end + 1;
  }
  return parts;
}

function kindOf(hostPath: string | Buffer): EntryKind {
  try {
    const stat = fs.statSync(hostPath);
    if (stat.isDirectory()) return "directory";
    if (stat.isFile()) return "file";
    return "other";
  } catch {
    return "dangling";
  }
}

async function syncDirectory(dirHost: string): Promise<void> {
  const handle = await fs.promises.open(dirHost, "r");
  try {
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** The root the user asked for: `--root`, else `$DPKG_ROOT`, else "/". */
export function chooseRoot(option: string | undefined, env: NodeJS.ProcessEnv): string {
  if (option !== undefined && option !== "") return option;
  const dpkgRoot = env["DPKG_ROOT"];
  if (dpkgRoot !== undefined && dpkgRoot !== "") return dpkgRoot;
  return "/";
}
