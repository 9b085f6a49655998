// Reading initramfs images made with the real cpio and the real compressors:
// every compression the distributions use, with and without an early microcode
// archive, several archives in one stream, the image's own links; damaged and
// truncated images give a clear InitramfsReadError, never another exception.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { CpioParser, detectCompression } from "../../src/initramfs/cpio.ts";
import { isModprobeConfigPath } from "../../src/initramfs/image-tree.ts";
import { buildEffectiveConfig } from "../../src/kmod/effective-config.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { InitramfsReadError, listInitramfsImages, readInitramfsFile } from "../../src/system/initramfs-image.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { compress, cpioArchive, microcodeArchive, writeImage, type ImageCompression, type ImageFiles } from "../helpers/initramfs-image.ts";

const RELEASE = "6.1.0-50-amd64";
const FILES: ImageFiles = {
  "usr/lib/modprobe.d/60-blacklist_fs-jfs.conf": "blacklist jfs\ninstall jfs /usr/bin/fsblacklist modprobe-hook jfs\n",
  "etc/modprobe.d/60-blacklist_fs-minix.conf": "# kept\n",
  "usr/lib/modprobe.d/60-blacklist_fs-minix.conf": "blacklist minix\n",
  lib: { link: "usr/lib" },
  [`usr/lib/modules/${RELEASE}/modules.dep`]: "",
  "usr/bin/busybox": Buffer.alloc(300_000, 7),
};

/** Node's pending file-system requests (opens, reads, closes). */
const fileRequests = (): string[] => process.getActiveResourcesInfo().filter((r) => r.startsWith("FSReq"));

function tmpdir(): { dir: string; cleanup: () => void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fsbl-read-image-"));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** What kmod 34 inside the image reads: file order and blacklisted modules. */
function kmodView(image: Awaited<ReturnType<typeof readInitramfsFile>>): { files: string[]; blacklist: string[] } {
  const config = buildEffectiveConfig(image.tree.configInputs(kmodBehaviour(34), image.tree.releases()[0] ?? null));
  return { files: config.files.map((f) => f.path), blacklist: config.entries.flatMap((e) => (e.kind === "blacklist" ? [e.module] : [])) };
}

for (const compression of ["none", "gzip", "xz", "zstd", "lz4"] as const satisfies readonly ImageCompression[]) {
  for (const microcode of [false, true]) {
    test(`${compression}${microcode ? " after an early microcode archive" : ""}: the image's modprobe.d as kmod in it reads it`, async () => {
      const { dir, cleanup } = tmpdir();
      try {
        const file = path.join(dir, "initrd.img");
        writeImage(file, FILES, { compression, microcode });
        const image = await readInitramfsFile(file);
        const parts = [...(microcode ? ["none"] : []), compression];
        assert.deepEqual(image.parts, compression === "none" && microcode ? ["none"] : parts);
        assert.equal(image.archives, microcode ? 2 : 1);
        assert.deepEqual(image.tree.releases(), [RELEASE]);
        // etc masks usr/lib's minix by name; lib is usr/lib through the image's own link, read once.
        assert.deepEqual(kmodView(image), { files: ["usr/lib/modprobe.d/60-blacklist_fs-jfs.conf", "etc/modprobe.d/60-blacklist_fs-minix.conf"], blacklist: ["jfs"] });
        assert.equal(image.tree.read("usr/bin/busybox"), null, "only configuration is kept in memory");
        assert.equal(image.tree.read("lib/modprobe.d/60-blacklist_fs-jfs.conf")?.toString(), FILES["usr/lib/modprobe.d/60-blacklist_fs-jfs.conf"]);
      } finally {
        cleanup();
      }
    });
  }
}

test("several archives in one compressed stream: a later entry replaces an earlier one, as the kernel unpacks them", async () => {
  const { dir, cleanup } = tmpdir();
  try {
    const first = cpioArchive({ "etc/modprobe.d/a.conf": "blacklist jfs\n", "etc/modprobe.d/b.conf": "blacklist hfs\n" });
    const second = cpioArchive({ "etc/modprobe.d/a.conf": "blacklist minix\n" });
    const file = path.join(dir, "initrd.img");
    fs.writeFileSync(file, Buffer.concat([microcodeArchive(), compress(Buffer.concat([first, second]), "zstd")]));
    const image = await readInitramfsFile(file);
    assert.equal(image.archives, 3);
    assert.deepEqual(kmodView(image).blacklist, ["minix", "hfs"]);
  } finally {
    cleanup();
  }
});

test("a link to /dev/null in the image masks the file of that name, and a hard link's data reaches every name", async () => {
  const { dir, cleanup } = tmpdir();
  try {
    const file = path.join(dir, "initrd.img");
    writeImage(
      file,
      {
        "lib/modprobe.d/x.conf": "blacklist jfs\n",
        "etc/modprobe.d/x.conf": { link: "/dev/null" },
        "etc/modprobe.d/y.conf": "blacklist hfs\n",
        "etc/modprobe.d/z.conf": { hardlink: "etc/modprobe.d/y.conf" },
      },
      { compression: "gzip" },
    );
    const image = await readInitramfsFile(file);
    assert.deepEqual(kmodView(image).blacklist, ["hfs", "hfs"]);
  } finally {
    cleanup();
  }
});

test("the parser gives the same result fed one byte at a time as in one piece", () => {
  const archive = Buffer.concat([microcodeArchive(), Buffer.alloc(512), cpioArchive(FILES)]);
  const whole = new CpioParser({ keep: isModprobeConfigPath, stopAtOtherData: false });
  whole.write(archive);
  whole.end();
  const bytewise = new CpioParser({ keep: isModprobeConfigPath, stopAtOtherData: false });
  for (let i = 0; i < archive.length; i += 1) bytewise.write(archive.subarray(i, i + 1));
  bytewise.end();
  assert.equal(whole.archives, 2);
  assert.deepEqual(bytewise.entries, whole.entries);
  assert.ok(whole.entries.some((e) => e.path === "usr/lib/modprobe.d/60-blacklist_fs-jfs.conf" && e.data?.toString().startsWith("blacklist jfs")));
});

test("compression is told by its magic bytes, as the kernel tells it", () => {
  for (const compression of ["gzip", "xz", "zstd", "lz4"] as const) assert.equal(detectCompression(compress(Buffer.from("x"), compression)), compression);
  assert.equal(detectCompression(Buffer.from("070701")), null);
});

test("truncated images: a clear message naming the file, never a crash", async () => {
  const { dir, cleanup } = tmpdir();
  try {
    for (const compression of ["none", "gzip", "xz", "zstd", "lz4"] as const) {
      const whole = path.join(dir, `whole.${compression}`);
      writeImage(whole, FILES, { compression, microcode: true });
      const bytes = fs.readFileSync(whole);
      for (const fraction of [0.001, 0.01, 0.3, 0.6, 0.97]) {
        const cut = Math.max(1, Math.floor(bytes.length * fraction));
        const file = path.join(dir, `cut-${compression}-${cut}`);
        fs.writeFileSync(file, bytes.subarray(0, cut));
        await assert.rejects(readInitramfsFile(file, `boot/${path.basename(file)}`), (error: unknown) => {
          assert.ok(error instanceof InitramfsReadError, `${compression} cut at ${cut}: ${String(error)}`);
          assert.match(error.message, new RegExp(`^boot/cut-${compression}-${cut}: .*(truncated|ends|damaged)`), error.message);
          return true;
        });
      }
    }
  } finally {
    cleanup();
  }
});

test("damaged images: flipped bytes give InitramfsReadError or a successful read, never another exception", async () => {
  const { dir, cleanup } = tmpdir();
  try {
    for (const compression of ["none", "gzip", "zstd", "xz", "lz4"] as const) {
      const whole = path.join(dir, `whole.${compression}`);
      writeImage(whole, FILES, { compression, microcode: true });
      const bytes = fs.readFileSync(whole);
      let failures = 0;
      for (let i = 0; i < 8; i += 1) {
        const damaged = Buffer.from(bytes);
        // Deterministic spread over the header, the boundary and the compressed data.
        const at = Math.floor((((i * 7919) % 1000) / 1000) * damaged.length);
        damaged[at] = damaged[at]! ^ 0xff;
        const file = path.join(dir, `flip-${compression}-${at}`);
        fs.writeFileSync(file, damaged);
        try {
          await readInitramfsFile(file);
        } catch (error) {
          assert.ok(error instanceof InitramfsReadError, `${compression} flipped at ${at}: ${String(error)}`);
          failures += 1;
        }
      }
      assert.ok(failures > 0, `${compression}: some damage is noticed`);
    }
    const text = path.join(dir, "not-an-image");
    fs.writeFileSync(text, "this is not an initramfs, just text long enough to fill a cpio header................................................\n");
    await assert.rejects(readInitramfsFile(text), /not-an-image: not a cpio newc header \("this i"\)/);
    fs.writeFileSync(text, "");
    await assert.rejects(readInitramfsFile(text), /not-an-image: empty file/);
  } finally {
    cleanup();
  }
});

test("a compression whose command is missing says which package to install", async () => {
  const { dir, cleanup } = tmpdir();
  const savedPath = process.env["PATH"];
  try {
    const file = path.join(dir, "initrd.img");
    writeImage(file, FILES, { compression: "zstd" });
    fs.mkdirSync(path.join(dir, "empty-bin"));
    process.env["PATH"] = path.join(dir, "empty-bin");
    // Earlier tests' streams may still be closing: let them finish first.
    for (let i = 0; i < 200 && fileRequests().length > 0; i++) await new Promise((resolve) => setTimeout(resolve, 5));
    assert.deepEqual(fileRequests(), [], "no file request pending before the read");
    await assert.rejects(readInitramfsFile(file, "boot/initrd.img-x"), /^InitramfsReadError: boot\/initrd.img-x: zstd-compressed, and there is no zstd command to decompress it: install zstd$/m);
    // Nothing is left opening the image once the read has failed: such an open
    // failed after the caller removed the file, as an uncaught exception.
    assert.deepEqual(fileRequests(), [], "no file request outlives the failed read");
  } finally {
    process.env["PATH"] = savedPath;
    cleanup();
  }
});

test("the images under boot/ by the distributions' names; links, backups and kdump images are not what boots", () => {
  const { dir, cleanup } = tmpdir();
  try {
    for (const name of [
      "initrd.img-6.1.0-50-amd64",
      "initrd.img-6.12.100+deb12-amd64",
      "initrd.img-6.1.0-50-amd64.bak",
      "initramfs-6.8.9-300.fc40.x86_64.img",
      "initramfs-6.8.9-300.fc40.x86_64kdump.img",
      "initramfs-linux.img",
      "initramfs-linux-fallback.img",
      "initrd-6.4.0-150600.23-default",
      "vmlinuz-6.1.0-50-amd64",
    ]) {
      fs.mkdirSync(path.join(dir, "boot"), { recursive: true });
      fs.writeFileSync(path.join(dir, "boot", name), "");
    }
    fs.symlinkSync("initrd.img-6.1.0-50-amd64", path.join(dir, "boot/initrd.img"));
    fs.symlinkSync("boot/initrd.img-6.1.0-50-amd64", path.join(dir, "initrd.img"));
    assert.deepEqual(
      listInitramfsImages(new RootFs(dir)).map(({ path, release }) => ({ path, release })),
      [
        { path: "boot/initramfs-6.8.9-300.fc40.x86_64.img", release: "6.8.9-300.fc40.x86_64" },
        { path: "boot/initramfs-linux-fallback.img", release: null },
        { path: "boot/initramfs-linux.img", release: null },
        { path: "boot/initrd-6.4.0-150600.23-default", release: "6.4.0-150600.23-default" },
        { path: "boot/initrd.img-6.1.0-50-amd64", release: "6.1.0-50-amd64" },
        { path: "boot/initrd.img-6.12.100+deb12-amd64", release: "6.12.100+deb12-amd64" },
      ],
    );
  } finally {
    cleanup();
  }
});
