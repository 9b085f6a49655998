// Real initramfs images for tests, made the way the distributions' tools make
// them: `find | cpio -o -H newc` of a directory tree, compressed with the real
// gzip, xz, zstd or lz4 command (lz4 in the kernel's legacy format, as
// initramfs-tools and dracut run it), optionally after an uncompressed early
// microcode archive.

import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";

export type ImageCompression = "none" | "gzip" | "xz" | "zstd" | "lz4";

export const COMPRESSORS: Record<Exclude<ImageCompression, "none">, string[]> = {
  gzip: ["gzip", "-n", "-c"],
  // initramfs-tools' and dracut's xz options: the kernel's decoder wants crc32.
  xz: ["xz", "--check=crc32", "-c"],
  zstd: ["zstd", "-q", "-c"],
  lz4: ["lz4", "-l", "-q", "-c"],
};

export type ImageFiles = Record<string, string | Buffer | { link: string } | { hardlink: string }>;

/** A newc archive of `files` (path -> content, a symbolic link, or a hard link to an earlier path), as `find | sort | cpio` makes it. */
export function cpioArchive(files: ImageFiles): Buffer {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fsbl-initramfs-"));
  try {
    for (const [file, content] of Object.entries(files)) {
      const target = path.join(dir, file);
      fs.mkdirSync(path.dirname(target), { recursive: true });
      if (Buffer.isBuffer(content) || typeof content === "string") fs.writeFileSync(target, content);
      else if ("link" in content) fs.symlinkSync(content.link, target);
      else fs.linkSync(path.join(dir, content.hardlink), target);
    }
    const list = execFileSync("find", [".", "-mindepth", "1"], { cwd: dir, encoding: "utf8" }).split("\n").filter(Boolean).sort().join("\n") + "\n";
    return execFileSync("cpio", ["-o", "-H", "newc", "--quiet", "-R", "0:0"], { cwd: dir, input: list, maxBuffer: 1 << 30 });
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

export function compress(data: Buffer, compression: ImageCompression): Buffer {
  if (compression === "none") return data;
  const [command, ...args] = COMPRESSORS[compression];
  return execFileSync(command!, args, { input: data, maxBuffer: 1 << 30 });
}

/** An early microcode archive as dracut and initramfs-tools prepend it: uncompressed, kernel/x86/microcode/. */
export function microcodeArchive(): Buffer {
  return cpioArchive({ "kernel/x86/microcode/GenuineIntel.bin": Buffer.alloc(4096, 0x5a), "kernel/x86/microcode/.enuineIntel.align.0123456789abc": "" });
}

/** Writes an image: the main archive of `files`, compressed, after a microcode archive when asked. */
export function writeImage(file: string, files: ImageFiles, options: { compression: ImageCompression; microcode?: boolean }): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const main = compress(cpioArchive(files), options.compression);
  fs.writeFileSync(file, options.microcode === true ? Buffer.concat([microcodeArchive(), main]) : main);
}

/**
 * An image of the root's modprobe.d as the initramfs tools copy it (every
 * modprobe.d directory kmod reads, links to /dev/null kept as links), with the
 * kernel's module directory, written to boot/initrd.img-<release> under the root.
 */
export function imageFromRoot(root: string, release: string, options: { compression: ImageCompression; microcode?: boolean; name?: string }): string {
  const files: ImageFiles = { [`usr/lib/modules/${release}/modules.dep`]: "" };
  for (const dir of ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"]) {
    const host = path.join(root, dir);
    if (!fs.existsSync(host) || fs.lstatSync(host).isSymbolicLink()) continue;
    for (const name of fs.readdirSync(host)) {
      const file = path.join(host, name);
      const stat = fs.lstatSync(file);
      if (stat.isSymbolicLink()) files[`${dir}/${name}`] = { link: fs.readlinkSync(file) };
      else if (stat.isFile()) files[`${dir}/${name}`] = fs.readFileSync(file);
    }
  }
  const image = path.join(root, "boot", options.name ?? `initrd.img-${release}`);
  writeImage(image, files, options);
  return image;
}
