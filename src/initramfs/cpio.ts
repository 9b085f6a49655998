// The initramfs image format, pure: what the kernel's init/initramfs.c unpacks.
// An image is one or more cpio "newc" archives, each ending with a TRAILER!!!
// entry and padded with zero bytes; the uncompressed ones come first (the early
// microcode archive), then a compressed stream whose content is again one or
// more archives. No library reads that: the npm cpio readers are unmaintained
// streams that stop at the first trailer, and the format is a fixed 110-byte
// ASCII header, so the parser is ours. It is fed chunks and keeps the data of
// only the files it is asked for, so a 60 MB image is read in one pass.

export type Compression = "gzip" | "zstd" | "xz" | "lz4" | "bzip2" | "lzma" | "lzo";

/** The compression a stream starts with (its magic bytes), or null. */
export function detectCompression(head: Uint8Array): Compression | null {
  const starts = (...bytes: number[]): boolean => bytes.every((b, i) => head[i] === b);
  if (starts(0x1f, 0x8b)) return "gzip";
  if (starts(0x28, 0xb5, 0x2f, 0xfd)) return "zstd";
  if (starts(0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00)) return "xz";
  // The kernel's lz4 is the legacy format (lz4 -l); the frame format is accepted by the lz4 tool too.
  if (starts(0x02, 0x21, 0x4c, 0x18) || starts(0x04, 0x22, 0x4d, 0x18)) return "lz4";
  if (starts(0x42, 0x5a, 0x68)) return "bzip2";
  if (starts(0x89, 0x4c, 0x5a, 0x4f)) return "lzo";
  if (starts(0x5d, 0x00, 0x00)) return "lzma";
  return null;
}

export type CpioKind = "file" | "directory" | "symlink" | "other";

export interface CpioEntry {
  /** Path inside the image, without a leading `./` or `/`. */
  path: string;
  kind: CpioKind;
  /** The file's bytes, for the files the parser was asked to keep. */
  data?: Buffer;
  /** A symbolic link's target. */
  target?: string;
}

/** The archive is damaged: what was wrong, and at which byte of the (decompressed) stream. */
export class CpioFormatError extends Error {
  constructor(
    message: string,
    readonly offset: number,
  ) {
    super(`${message} at byte ${offset}`);
  }
}

const HEADER_SIZE = 110;
const TRAILER = "TRAILER!!!";
const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;
const S_IFLNK = 0o120000;
// Paths in an initramfs are short; a larger name size means a damaged header.
const MAX_NAME = 4096;
// Symbolic link targets are kept whatever the caller wants: they decide paths.
const MAX_LINK_TARGET = 4096;

const pad4 = (n: number): number => (4 - (n % 4)) % 4;

function kindOf(mode: number): CpioKind {
  switch (mode & S_IFMT) {
    case S_IFREG:
      return "file";
    case S_IFDIR:
      return "directory";
    case S_IFLNK:
      return "symlink";
    default:
      return "other";
  }
}

export function normaliseArchivePath(name: string): string {
  let path = name;
  while (path.startsWith("./")) path = path.slice(2);
  while (path.startsWith("/")) path = path.slice(1);
  return path === "." ? "" : path.replace(/\/+$/, "");
}

interface Header {
  mode: number;
  ino: number;
  nlink: number;
  size: number;
  nameSize: number;
}

type State =
  | { at: "header" }
  | { at: "name"; header: Header; need: number }
  | { at: "data"; entry: CpioEntry; header: Header; left: number; keep: Buffer[] | null; padding: number }
  | { at: "between" }
  | { at: "stopped"; offset: number };

export interface CpioParserOptions {
  /** Keep the data of this regular file (path as in CpioEntry). */
  keep: (path: string) => boolean;
  /**
   * At the top level of an image, bytes after an archive's trailer that are
   * neither padding nor another archive start the compressed part: the parser
   * stops there instead of failing (write() returns their offset).
   */
  stopAtOtherData: boolean;
}

/**
 * A streaming reader of concatenated cpio newc archives. write() chunks in
 * order, then end(). Every entry's metadata is collected; data only for the
 * files `keep` asks for (and hard links to them, whose data newc stores once).
 */
export class CpioParser {
  readonly entries: CpioEntry[] = [];
  archives = 0;
  private state: State = { at: "header" };
  /** Bytes received but not yet consumed (a partial header or name). */
  private pending: Buffer = Buffer.alloc(0);
  /** Stream offset of pending[0]. */
  private offset = 0;
  private inArchive = false;
  /** Hard-link groups (by inode) whose members came before the one with the data. */
  private readonly waitingLinks = new Map<number, CpioEntry[]>();

  constructor(private readonly options: CpioParserOptions) {}

  /** Feeds the next chunk. Returns the stream offset where other data begins once the parser stopped there. */
  write(chunk: Buffer): number | null {
    if (this.state.at === "stopped") return this.state.offset;
    let buf = this.pending.length === 0 ? chunk : Buffer.concat([this.pending, chunk]);
    let pos = 0;
    const consume = (n: number): void => {
      pos += n;
      this.offset += n;
    };
    for (;;) {
      const state: State = this.state;
      if (state.at === "stopped") {
        this.pending = Buffer.alloc(0);
        return state.offset;
      }
      if (state.at === "data") {
        const take = Math.min(state.left, buf.length - pos);
        if (take > 0) {
          state.keep?.push(buf.subarray(pos, pos + take));
          state.left -= take;
          consume(take);
        }
        if (state.left > 0) break;
        if (buf.length - pos < state.padding) {
          // Padding may be split across chunks: count what is here.
          state.padding -= buf.length - pos;
          consume(buf.length - pos);
          break;
        }
        consume(state.padding);
        this.finishEntry(state.entry, state.header, state.keep);
        this.state = { at: "header" };
        continue;
      }
      if (state.at === "between") {
        while (pos < buf.length && buf[pos] === 0) consume(1);
        if (pos === buf.length) break;
        if (buf.length - pos < 6) break;
        if (isNewcMagic(buf, pos)) {
          this.state = { at: "header" };
          continue;
        }
        if (this.options.stopAtOtherData) {
          this.state = { at: "stopped", offset: this.offset };
          continue;
        }
        throw new CpioFormatError(`unexpected data after the archive's trailer (${describeBytes(buf.subarray(pos, pos + 6))})`, this.offset);
      }
      if (state.at === "header") {
        if (buf.length - pos < HEADER_SIZE) break;
        const header = parseHeader(buf.subarray(pos, pos + HEADER_SIZE), this.offset);
        if (!this.inArchive) {
          this.inArchive = true;
          this.archives += 1;
        }
        consume(HEADER_SIZE);
        this.state = { at: "name", header, need: header.nameSize + pad4(HEADER_SIZE + header.nameSize) };
        continue;
      }
      // name
      if (buf.length - pos < state.need) break;
      const header: Header = state.header;
      const nameBytes = buf.subarray(pos, pos + header.nameSize);
      if (nameBytes[nameBytes.length - 1] !== 0) throw new CpioFormatError("entry name is not NUL-terminated", this.offset);
      const name = nameBytes.subarray(0, nameBytes.length - 1).toString("utf8");
      consume(state.need);
      if (name === TRAILER) {
        this.inArchive = false;
        this.state = { at: "between" };
        continue;
      }
      const path = normaliseArchivePath(name);
      const kind = kindOf(header.mode);
      const entry: CpioEntry = { path, kind };
      const keepData = (kind === "file" && (this.options.keep(path) || this.waitingLinks.has(header.ino))) || (kind === "symlink" && header.size <= MAX_LINK_TARGET);
      this.state = { at: "data", entry, header, left: header.size, keep: keepData ? [] : null, padding: pad4(header.size) };
    }
    this.pending = pos >= buf.length ? Buffer.alloc(0) : Buffer.from(buf.subarray(pos));
    buf = Buffer.alloc(0);
    return null;
  }

  /** The stream ended: fails when it ended inside an entry or held no archive at all. */
  end(): void {
    const state = this.state;
    if (state.at === "stopped" || state.at === "between") return;
    if (state.at === "header" && this.pending.length === 0 && !this.inArchive && this.archives > 0) return;
    if (this.archives === 0 && state.at === "header" && this.pending.length < HEADER_SIZE) {
      throw new CpioFormatError("no cpio archive (the data ends before the first header)", this.offset);
    }
    const where = state.at === "data" ? `inside ${state.entry.path || "."}` : "before the archive's trailer";
    throw new CpioFormatError(`truncated: the archive ends ${where}`, this.offset + this.pending.length);
  }

  private finishEntry(entry: CpioEntry, header: Header, keep: Buffer[] | null): void {
    if (keep !== null) {
      const data = Buffer.concat(keep);
      if (entry.kind === "symlink") entry.target = data.toString("utf8");
      else entry.data = data;
    }
    this.entries.push(entry);
    if (entry.kind !== "file" || header.nlink < 2) return;
    // newc stores a hard-linked file's data once, with the last of its names.
    const group = this.waitingLinks.get(header.ino) ?? [];
    if (header.size === 0) {
      group.push(entry);
      this.waitingLinks.set(header.ino, group);
      return;
    }
    for (const earlier of group) if (entry.data !== undefined) earlier.data = entry.data;
    this.waitingLinks.delete(header.ino);
  }
}

function isNewcMagic(buf: Buffer, pos: number): boolean {
  const magic = buf.toString("latin1", pos, pos + 6);
  return magic === "070701" || magic === "070702";
}

function describeBytes(bytes: Buffer): string {
  const printable = /^[\x20-\x7e]+$/.test(bytes.toString("latin1"));
  return printable ? `"${bytes.toString("latin1")}"` : bytes.toString("hex").replace(/(..)/g, "$1 ").trim();
}

function parseHeader(bytes: Buffer, offset: number): Header {
  const magic = bytes.toString("latin1", 0, 6);
  if (magic !== "070701" && magic !== "070702") {
    const hint = magic === "070707" ? " (an old portable-format cpio, which the kernel does not unpack)" : "";
    throw new CpioFormatError(`not a cpio newc header (${describeBytes(bytes.subarray(0, 6))})${hint}`, offset);
  }
  const field = (index: number): number => {
    const text = bytes.toString("latin1", 6 + index * 8, 14 + index * 8);
    if (!/^[0-9a-fA-F]{8}$/.test(text)) throw new CpioFormatError(`damaged cpio header (field ${index + 1} is "${text}")`, offset);
    return Number.parseInt(text, 16);
  };
  const header = { ino: field(0), mode: field(1), nlink: field(4), size: field(6), nameSize: field(11) };
  if (header.nameSize < 1 || header.nameSize > MAX_NAME) throw new CpioFormatError(`damaged cpio header (name size ${header.nameSize})`, offset);
  return header;
}
