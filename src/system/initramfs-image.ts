// Reads the initramfs images under the root's boot/: which there are, and what
// each holds (the cpio parsing is pure, in initramfs/cpio.ts).
//
// Decompression: gzip with Node's zlib; zstd, xz and lz4 with the zstd, xz and
// lz4 commands. On Node 20 the alternatives are a pure JavaScript zstd decoder
// (several times slower than the C one on a 60 MB image), native bindings for
// xz whose per-platform binaries the bundled release cannot carry, and lz4
// libraries that read the frame format but not the legacy format the kernel's
// initramfs uses (`lz4 -l`). The commands are what built the image: initramfs-
// tools, dracut and mkinitcpio compress by running them, so a system whose
// image is zstd-compressed has zstd. Where one is missing the message says which
// package to install. They run on the host, also under --root: they only
// decompress bytes, and the root may be another architecture's.

import * as fs from "node:fs";
import { createRequire } from "node:module";
import type { Readable, Writable } from "node:stream";
import { CpioFormatError, CpioParser, detectCompression, type Compression } from "../initramfs/cpio.ts";
import { ImageTree, isModprobeConfigPath } from "../initramfs/image-tree.ts";
import { RuntimeFailure, errnoCode } from "../errors.ts";
import type { RootFs } from "./root-fs.ts";

// zlib and child_process are loaded only when an image is really read: status
// lists images on every run, and a pipe or /dev/null must not pay for streams.
const lazyRequire = createRequire(import.meta.url);
const zlib = (): typeof import("node:zlib") => lazyRequire("node:zlib") as typeof import("node:zlib");
const childProcess = (): typeof import("node:child_process") => lazyRequire("node:child_process") as typeof import("node:child_process");

export interface InitramfsFile {
  /** Root-relative path, e.g. boot/initrd.img-6.1.0-50-amd64. */
  path: string;
  /** Kernel release from the file name, or null (Arch's initramfs-linux.img). */
  release: string | null;
  /** When it was written (ISO 8601): a rebuild owed since before then has been done. */
  modified: string | null;
}

export interface InitramfsImage {
  path: string;
  /** Each part in order: "none" for an uncompressed archive (early microcode), then the compression of the rest. */
  parts: ("none" | Compression)[];
  /** cpio archives found, over every part. */
  archives: number;
  tree: ImageTree;
}

/** An image that cannot be read: damaged, truncated, or compressed with something we cannot decompress here. */
export class InitramfsReadError extends RuntimeFailure {}

const IMAGE_NAMES: readonly { pattern: RegExp }[] = [
  { pattern: /^initrd\.img-(.+)$/ }, // Debian, Ubuntu (initramfs-tools, or dracut there)
  { pattern: /^initramfs-(.+)\.img$/ }, // Fedora, RHEL (dracut), Arch (mkinitcpio)
  { pattern: /^initrd-(.+)$/ }, // openSUSE (dracut)
];
// Backups and leftovers of the tools and of package managers: not what boots.
const NOT_AN_IMAGE = /(\.old|\.bak|\.dpkg-[a-z]+|\.orig|~|kdump\.img)$/;
// mkinitcpio names images after the preset, not the release.
const PRESET_SUFFIX = /-fallback$/;

/** The initramfs images under boot/, by name; links (Debian's boot/initrd.img) are skipped. */
export function listInitramfsImages(rootFs: RootFs): InitramfsFile[] {
  const images: InitramfsFile[] = [];
  for (const entry of rootFs.listDir("boot") ?? []) {
    if (entry.kind !== "file" || NOT_AN_IMAGE.test(entry.name) || entry.rawName !== undefined) continue;
    if (rootFs.resolve(`boot/${entry.name}`).hostPath !== rootFs.hostPathUnresolved(`boot/${entry.name}`)) continue;
    for (const { pattern } of IMAGE_NAMES) {
      const match = pattern.exec(entry.name);
      if (match === null) continue;
      const named = match[1]!.replace(PRESET_SUFFIX, "");
      images.push({ path: `boot/${entry.name}`, release: /^\d+\.\d+/.test(named) ? named : null, modified: rootFs.modifiedAt(`boot/${entry.name}`) });
      break;
    }
  }
  return images.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

const CHUNK = 1 << 20;

/** Reads an image through the root: every entry's name, and the data of what kmod's configuration can come from. */
export async function readInitramfsImage(rootFs: RootFs, relPath: string): Promise<InitramfsImage> {
  const resolved = rootFs.resolve(relPath);
  if (resolved.kind !== "file") throw new InitramfsReadError(`${relPath}: no such file`);
  return readInitramfsFile(resolved.hostPath, relPath);
}

/** readInitramfsImage() of a host path; `shownAs` names it in messages. */
export async function readInitramfsFile(hostPath: string, shownAs: string = hostPath): Promise<InitramfsImage> {
  const fail = (message: string, cause?: unknown): never => {
    throw new InitramfsReadError(`${shownAs}: ${message}`, "rebuild the image with the distribution's tool (update-initramfs -u, dracut --force, mkinitcpio -P)", { cause });
  };
  const parts: InitramfsImage["parts"] = [];
  const keep = isModprobeConfigPath;

  let head: Buffer;
  try {
    head = readAt(hostPath, 0, 8);
  } catch (error) {
    return fail(`cannot read: ${errnoCode(error) ?? String(error)}`, error);
  }
  if (head.length === 0) return fail("empty file");

  let compressedFrom = 0;
  const top = new CpioParser({ keep, stopAtOtherData: true });
  if (detectCompression(head) === null) {
    parts.push("none");
    try {
      const stopped = await feedFile(hostPath, top);
      if (stopped === null) {
        top.end();
        return { path: shownAs, parts, archives: top.archives, tree: new ImageTree(top.entries) };
      }
      compressedFrom = stopped;
    } catch (error) {
      if (error instanceof CpioFormatError) return fail(`${error.message} (uncompressed part)`, error);
      return fail(`cannot read: ${errnoCode(error) ?? String(error)}`, error);
    }
  }

  const compression = detectCompression(readAt(hostPath, compressedFrom, 8));
  if (compression === null) return fail(`neither a cpio archive nor a compression known to the kernel at byte ${compressedFrom}`);
  parts.push(compression);
  const inner = new CpioParser({ keep, stopAtOtherData: false });
  try {
    await decompressInto(hostPath, compressedFrom, compression, inner);
    inner.end();
  } catch (error) {
    if (error instanceof CpioFormatError) return fail(`${error.message} of the ${compression}-compressed part (from byte ${compressedFrom})`, error);
    if (error instanceof InitramfsReadError) throw error;
    return fail(error instanceof Error ? error.message : String(error), error);
  }
  return { path: shownAs, parts, archives: top.archives + inner.archives, tree: new ImageTree([...top.entries, ...inner.entries]) };
}

function readAt(hostPath: string, position: number, length: number): Buffer {
  const fd = fs.openSync(hostPath, "r");
  try {
    const buf = Buffer.alloc(length);
    const n = fs.readSync(fd, buf, 0, length, position);
    return buf.subarray(0, n);
  } finally {
    fs.closeSync(fd);
  }
}

/** Feeds the file to the parser until it ends or the parser stops; the offset where it stopped, or null. */
async function feedFile(hostPath: string, parser: CpioParser): Promise<number | null> {
  const stream = fs.createReadStream(hostPath, { highWaterMark: CHUNK });
  try {
    for await (const chunk of stream) {
      const stopped = parser.write(chunk as Buffer);
      if (stopped !== null) return stopped;
    }
    return null;
  } finally {
    stream.destroy();
  }
}

const TOOLS: Record<Exclude<Compression, "gzip">, { command: string; args: string[]; package: string }> = {
  zstd: { command: "zstd", args: ["-d", "-c", "-q"], package: "zstd" },
  xz: { command: "xz", args: ["-d", "-c", "-q"], package: "xz-utils (xz)" },
  lzma: { command: "xz", args: ["--format=lzma", "-d", "-c", "-q"], package: "xz-utils (xz)" },
  lz4: { command: "lz4", args: ["-d", "-c", "-q"], package: "lz4" },
  bzip2: { command: "bzip2", args: ["-d", "-c", "-q"], package: "bzip2" },
  lzo: { command: "lzop", args: ["-d", "-c", "-q"], package: "lzop" },
};

/**
 * Decompresses the file from `start` on and feeds the result to the parser. The
 * file is opened only once the decompressor runs, and a read error ends the
 * read with its errno: no stream is left opening or failing after we return.
 */
async function decompressInto(hostPath: string, start: number, compression: Compression, parser: CpioParser): Promise<void> {
  const open = (): { input: Readable; readError: () => unknown } => {
    let failed: unknown = null;
    const input = fs.createReadStream(hostPath, { start, highWaterMark: CHUNK });
    input.on("error", (error) => {
      failed = error;
    });
    return { input, readError: () => failed };
  };
  const cannotRead = (error: unknown): Error => new Error(`cannot read: ${errnoCode(error) ?? String(error)}`);
  if (compression === "gzip") {
    const { input, readError } = open();
    const gunzip = zlib().createGunzip({ chunkSize: CHUNK });
    input.on("error", (error) => gunzip.destroy(error));
    input.pipe(gunzip);
    try {
      await feedStream(gunzip, parser);
    } catch (error) {
      if (readError() !== null) throw cannotRead(readError());
      if (errnoCode(error) === "Z_BUF_ERROR") throw new Error("truncated: the gzip stream ends early");
      if (error instanceof Error && "errno" in error && !(error instanceof CpioFormatError)) throw new Error(`damaged gzip data (${error.message})`);
      throw error;
    } finally {
      input.destroy();
      gunzip.destroy();
    }
    return;
  }
  const tool = TOOLS[compression];
  const child = childProcess().spawn(tool.command, tool.args, { stdio: ["pipe", "pipe", "pipe"] });
  const stderr: Buffer[] = [];
  child.stderr.on("data", (d: Buffer) => stderr.push(d));
  const spawned = new Promise<void>((resolve, reject) => {
    child.once("spawn", resolve);
    child.once("error", reject);
  });
  const exited = new Promise<number | null>((resolve) => child.once("close", (code) => resolve(code)));
  try {
    await spawned;
  } catch (error) {
    if (errnoCode(error) === "ENOENT") throw new Error(`${compression}-compressed, and there is no ${tool.command} command to decompress it: install ${tool.package}`);
    throw error;
  }
  const { input, readError } = open();
  pipeIgnoringEpipe(input, child.stdin);
  try {
    await feedStream(child.stdout, parser);
  } catch (error) {
    child.kill();
    input.destroy();
    await exited;
    throw error;
  }
  const code = await exited;
  input.destroy();
  if (readError() !== null) throw cannotRead(readError());
  if (code !== 0) {
    const said = Buffer.concat(stderr).toString("utf8").trim().split("\n").slice(-2).join("; ");
    throw new Error(`damaged or truncated ${compression} data (${tool.command} exit ${code ?? "signal"}${said ? `: ${said}` : ""})`);
  }
}

async function feedStream(stream: Readable, parser: CpioParser): Promise<void> {
  for await (const chunk of stream) parser.write(chunk as Buffer);
}

/** The tool may exit before reading all input (damaged data): that is reported by its exit status, not as EPIPE. */
function pipeIgnoringEpipe(from: Readable, to: Writable): void {
  to.on("error", () => {});
  from.on("error", () => to.destroy());
  from.pipe(to);
}
