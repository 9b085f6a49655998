// A Debian 13 root with a kernel and dracut (instead of initramfs-tools),
// configured with `initramfs: regenerate`: installing the package makes the
// postinst's apply run the root's own dracut, and the image it writes carries
// the fragments and the keep, byte for byte (dracut's own lsinitrd). Then, in
// the same root, `status` reads images dracut itself made in every compression
// it offers and the kernel unpacks (gzip, bzip2, lzma, xz, lzo, lz4, zstd,
// none) and behind an early microcode archive: current, stale after `allow` and
// `block` naming the filesystem, current again after the rebuild status names;
// a decompressor the root lacks, and truncated images, are named as such,
// without a crash.
//
// dracut runs with /dev, /proc, /sys and a tmpfs /run mounted, as on a running
// system (without them it takes several times as long). The images of the
// compressions are made without kernel modules (--no-kernel, a few seconds
// each) but for lz4, whose legacy format comes in 8 MB blocks: that one carries
// the filesystem modules, so that it has several.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DebianRoot, buildPackage, cachedRoot, defaultProfileModules, took, type Mount } from "./debian.ts";
import { TRIXIE_DRACUT } from "./recipes.ts";

const root = new DebianRoot(cachedRoot(TRIXIE_DRACUT));
after(() => root.cleanup());

/** What dracut needs of a running system. */
const KERNEL_MOUNTS: Mount[] = ["dev", "proc", "sys", "run"];

const release = (() => {
  const images = fs.readdirSync(path.join(root.dir, "boot")).filter((n) => n.startsWith("initrd.img-"));
  assert.equal(images.length, 1, `one kernel in the root: ${images.join(" ")}`);
  return images[0]!.slice("initrd.img-".length);
})();
const image = `boot/initrd.img-${release}`;
const escaped = (text: string): string => text.replace(/[.+*?()[\]{}|^$\\]/g, "\\$&");

/** `lsinitrd IMAGE`: dracut's own listing. */
const lsinitrd = (file: string): string => root.must(["lsinitrd", file]).stdout;

test("apt install with initramfs: regenerate runs dracut; the image holds every fragment and the keep", () => {
  const started = Date.now();
  const builtAt = fs.statSync(path.join(root.dir, image)).mtimeMs;
  assert.doesNotMatch(lsinitrd(`/${image}`), /60-blacklist_fs-/);
  assert.equal(fs.existsSync(path.join(root.dir, "usr/sbin/update-initramfs")), false, "dracut replaced initramfs-tools");

  root.write("etc/fstab", "LABEL=root / ext4 defaults 0 1\n/dev/vdb /data jfs defaults 0 2\n");
  root.write("etc/fsblacklist/config.yaml", "initramfs: regenerate\n");
  const installed = root.aptInstall([buildPackage()], [], ["proc", "sys", "run"]);
  const output = installed.stdout + installed.stderr;
  // dracut is the tool; it writes Debian's name for the image (its initrdname), for every kernel.
  assert.match(output, /The initramfs was rebuilt \(\/usr\/bin\/dracut --regenerate-all --force\)/);
  assert.doesNotMatch(output, /warning: 'fsblacklist apply' failed/);
  assert.notEqual(fs.statSync(path.join(root.dir, image)).mtimeMs, builtAt, "the image was rebuilt");
  assert.deepEqual(
    fs.readdirSync(path.join(root.dir, "boot")).filter((n) => n.includes("initr")),
    [`initrd.img-${release}`],
    "no image under another name",
  );

  // dracut on Debian builds without host-only mode, which copies no /etc/modprobe.d: the package's
  // dracut configuration adds fsblacklist's overrides (packaging/dracut/50-fsblacklist.conf).
  const listing = lsinitrd(`/${image}`);
  assert.doesNotMatch(listing, /^Arguments:.*(-H|--hostonly)\b/m);
  const ours = (dir: string): string[] =>
    fs
      .readdirSync(path.join(root.dir, dir))
      .filter((n) => n.startsWith("60-blacklist_fs-"))
      .map((n) => `${dir}/${n}`)
      .sort();
  const expected = [...ours("usr/lib/modprobe.d"), ...ours("etc/modprobe.d")];
  assert.deepEqual(
    ours("usr/lib/modprobe.d"),
    defaultProfileModules().map((m) => `usr/lib/modprobe.d/60-blacklist_fs-${m}.conf`),
  );
  assert.deepEqual(ours("etc/modprobe.d"), ["etc/modprobe.d/60-blacklist_fs-jfs.conf"], "jfs kept (fstab: /data)");
  for (const rel of expected) assert.match(listing, new RegExp(` ${escaped(rel)}$`, "m"), `${rel} in the image`);

  // The files inside are the root's, byte for byte.
  root.must(["sh", "-c", `mkdir -p /tmp/unpacked && cd /tmp/unpacked && lsinitrd --unpack /${image} 'etc/modprobe.d/*' 'usr/lib/modprobe.d/*'`]);
  for (const rel of expected) assert.equal(fs.readFileSync(path.join(root.dir, "tmp/unpacked", rel), "utf8"), root.read(rel), rel);
  console.log(`# initramfs-dracut: apt install with dracut --regenerate-all: ${took(started)}`);
});

interface ImageJson {
  path: string;
  release: string | null;
  state: string;
  summary: string;
  differences: { name: string; module: string; system: string; image: string }[];
  parts: string[];
  rebuild: string | null;
}

/** The magic bytes of each compression, as the kernel tells them (lz4: the legacy format dracut writes with lz4 -l). */
const MAGIC: Record<string, Buffer> = {
  gzip: Buffer.from([0x1f, 0x8b]),
  bzip2: Buffer.from("BZh"),
  lzma: Buffer.from([0x5d, 0x00, 0x00]),
  xz: Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00]),
  lzo: Buffer.from([0x89, 0x4c, 0x5a, 0x4f]),
  lz4: Buffer.from([0x02, 0x21, 0x4c, 0x18]),
  zstd: Buffer.from([0x28, 0xb5, 0x2f, 0xfd]),
  none: Buffer.from("070701"),
};

/** Images dracut makes: a name, its options, what comes after an early archive (if any), and the parts status should see. */
const VARIANTS: { name: string; options: string[]; compression: string; early: boolean; parts: string[] }[] = [
  { name: "gzip", options: ["--gzip"], compression: "gzip", early: false, parts: ["gzip"] },
  { name: "bzip2", options: ["--bzip2"], compression: "bzip2", early: false, parts: ["bzip2"] },
  { name: "lzma", options: ["--lzma"], compression: "lzma", early: false, parts: ["lzma"] },
  { name: "xz", options: ["--xz"], compression: "xz", early: false, parts: ["xz"] },
  { name: "lzo", options: ["--lzo"], compression: "lzo", early: false, parts: ["lzo"] },
  { name: "lz4", options: ["--lz4"], compression: "lz4", early: false, parts: ["lz4"] },
  { name: "zstd", options: ["--zstd"], compression: "zstd", early: false, parts: ["zstd"] },
  { name: "none", options: ["--no-compress"], compression: "none", early: false, parts: ["none"] },
  { name: "microcode-zstd", options: ["--early-microcode", "--zstd"], compression: "zstd", early: true, parts: ["none", "zstd"] },
  { name: "microcode-xz", options: ["--early-microcode", "--xz"], compression: "xz", early: true, parts: ["none", "xz"] },
  // Both archives uncompressed: one uncompressed part, as the kernel reads it.
  { name: "microcode-none", options: ["--early-microcode", "--no-compress"], compression: "none", early: true, parts: ["none"] },
];

test("status reads the images dracut makes, in every compression and behind early microcode: current, stale after allow and block naming the filesystem, current after the rebuild it names", () => {
  const started = Date.now();
  root.write("etc/fsblacklist/config.yaml", "initramfs: report\n");

  const statusJson = (): ImageJson[] => (JSON.parse(root.must(["fsblacklist", "status", "--json"]).stdout) as { initramfs: ImageJson[] }).initramfs;
  const theImage = (): ImageJson => {
    const images = statusJson();
    assert.deepEqual(
      images.map((i) => i.path),
      [image],
    );
    return images[0]!;
  };

  // As the postinst's dracut made it: current, Debian's dracut default compression.
  const built = theImage();
  assert.equal(built.state, "current", built.summary);
  assert.equal(built.release, release);
  assert.deepEqual(built.parts, ["zstd"]);
  const rebuild = `/usr/bin/dracut --force /${image} ${release}`;
  assert.equal(built.rebuild, rebuild);
  fs.mkdirSync(path.join(root.dir, "tmp/dracut"), { recursive: true });
  fs.copyFileSync(path.join(root.dir, image), path.join(root.dir, "tmp/dracut/original"));

  // Microcode for both vendors where dracut looks for it (no microcode package in main):
  // without host-only mode it puts each vendor's files into the early archive.
  root.write("usr/lib/firmware/intel-ucode/06-55-04", "\xa5".repeat(4096));
  root.write("usr/lib/firmware/amd-ucode/microcode_amd_fam17h.bin", "\x5a".repeat(2048));
  const timings: string[] = [];
  for (const v of VARIANTS) {
    const began = Date.now();
    const modules = v.name === "lz4" ? ["--filesystems", "ext4 jfs minix"] : ["--no-kernel"];
    const early = v.early ? [] : ["--no-early-microcode"];
    root.must(["dracut", "--force", "--quiet", "--no-hostonly", "--modules", "kernel-modules", ...modules, ...early, ...v.options, `/tmp/dracut/${v.name}`, release], { mounts: KERNEL_MOUNTS });
    timings.push(`${v.name} ${took(began)}`);

    // What dracut wrote, told apart without fsblacklist: the magic bytes after the early archive, and dracut's own listing.
    const bytes = fs.readFileSync(path.join(root.dir, "tmp/dracut", v.name));
    let from = 0;
    const listing = lsinitrd(`/tmp/dracut/${v.name}`);
    if (v.early) {
      assert.match(listing, /^Early CPIO image$/m, v.name);
      assert.match(listing, / kernel\/x86\/microcode\/GenuineIntel\.bin$/m, v.name);
      assert.match(listing, / kernel\/x86\/microcode\/AuthenticAMD\.bin$/m, v.name);
      from = bytes.indexOf("TRAILER!!!\0", 0, "latin1") + "TRAILER!!!\0".length;
      while (bytes[from] === 0) from++;
    } else {
      assert.doesNotMatch(listing, /Early CPIO image/, v.name);
    }
    assert.deepEqual(bytes.subarray(from, from + MAGIC[v.compression]!.length), MAGIC[v.compression], `${v.name}: ${v.compression} from byte ${from}`);
    // lz4's legacy format holds 8 MB of the archive per block: more than 8 MB compressed is several blocks.
    if (v.name === "lz4") assert.ok(bytes.length > 8 << 20, `lz4: ${bytes.length} bytes, several blocks`);
    assert.match(listing, / usr\/lib\/modprobe\.d\/60-blacklist_fs-minix\.conf$/m, v.name);
    assert.match(listing, / etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf$/m, v.name);
  }
  fs.rmSync(path.join(root.dir, "usr/lib/firmware/intel-ucode"), { recursive: true });
  fs.rmSync(path.join(root.dir, "usr/lib/firmware/amd-ucode"), { recursive: true });
  console.log(`#   dracut images: ${timings.join(", ")}`);

  const variant = (name: string): string => path.join(root.dir, "tmp/dracut", name);
  const install = (file: string): void => fs.copyFileSync(file, path.join(root.dir, image));
  const eachVariant = (check: (v: (typeof VARIANTS)[number], found: ImageJson) => void): void => {
    for (const v of VARIANTS) {
      install(variant(v.name));
      const found = theImage();
      assert.deepEqual(found.parts, v.parts, `${v.name}: parts`);
      check(v, found);
    }
    install(variant("original"));
  };
  const read = Date.now();
  eachVariant((v, found) => assert.equal(found.state, "current", `${v.name}: ${found.summary}`));
  console.log(`#   ${VARIANTS.length} images current: ${took(read)}`);

  // allow minix: kmod on the system loads it, kmod in every one of these images still refuses it.
  const allowed = JSON.parse(root.must(["fsblacklist", "allow", "minix", "--json"]).stdout) as { initramfsStale: boolean };
  assert.equal(allowed.initramfsStale, true, "allow --json: the image measured stale");
  eachVariant((v, found) => {
    assert.equal(found.state, "stale", v.name);
    assert.deepEqual(
      found.differences.map((d) => [d.module, d.system, d.image]),
      [["minix", "allowed", "blocked"]],
      v.name,
    );
    assert.equal(found.summary, "stale: minix allowed on the system, blocked in the image", v.name);
  });
  const text = root.must(["fsblacklist", "status"]).stdout.replace(/\n\s+/g, " ");
  assert.match(text, new RegExp(`${escaped(image)}: stale: minix allowed on the system, blocked in the image; rebuild: ${escaped(rebuild)}`));

  // block jfs (kept for fstab's /data): the system refuses it, the image loads it; minix still differs.
  root.must(["fsblacklist", "block", "jfs"]);
  const blocked = theImage();
  assert.equal(blocked.state, "stale");
  assert.deepEqual(blocked.differences.map((d) => [d.module, d.image]).sort(), [
    ["jfs", "loadable"],
    ["minix", "blocked"],
  ]);

  // The rebuild status names, as an administrator runs it.
  const rebuilt = Date.now();
  root.must(rebuild.split(" "), { mounts: KERNEL_MOUNTS });
  const rebuildTime = took(rebuilt);
  const after = theImage();
  assert.equal(after.state, "current", `after ${rebuild}: ${after.summary}`);
  assert.deepEqual(after.parts, ["zstd"]);
  const unpacked = root.must(["sh", "-c", `rm -rf /tmp/unpacked && mkdir /tmp/unpacked && cd /tmp/unpacked && lsinitrd --unpack /${image} 'etc/modprobe.d/*'`]);
  assert.equal(unpacked.status, 0);
  for (const rel of ["etc/modprobe.d/60-blacklist_fs-jfs.conf", "etc/modprobe.d/60-blacklist_fs-minix.conf"]) {
    assert.equal(fs.readFileSync(path.join(root.dir, "tmp/unpacked", rel), "utf8"), root.read(rel), `${rel} after the rebuild`);
  }

  // Unreadable images: named, with the reason, status exits 0 without a stack trace.
  const current = fs.readFileSync(path.join(root.dir, image));
  const unreadable = (name: string, summary: RegExp): void => {
    const result = root.chroot(["fsblacklist", "status", "--json"]);
    assert.equal(result.status, 0, `${name}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /\n\s+at |TypeError|RangeError/, `${name}: no stack trace`);
    const found = (JSON.parse(result.stdout) as { initramfs: ImageJson[] }).initramfs[0]!;
    assert.equal(found.state, "unreadable", `${name}: ${found.summary}`);
    assert.match(found.summary, summary, name);
    console.log(`#   ${name}: ${found.summary}`);
  };
  // A compression whose command the root lacks (dracut needs lzop only for --lzo).
  fs.renameSync(path.join(root.dir, "usr/bin/lzop"), path.join(root.dir, "usr/bin/lzop.away"));
  install(variant("lzo"));
  unreadable("lzo without lzop", /^unreadable: lzo-compressed, and there is no lzop command to decompress it: install lzop$/);
  fs.renameSync(path.join(root.dir, "usr/bin/lzop.away"), path.join(root.dir, "usr/bin/lzop"));

  // Each of dracut's images cut in half.
  for (const v of VARIANTS) {
    const bytes = fs.readFileSync(variant(v.name));
    fs.writeFileSync(path.join(root.dir, image), bytes.subarray(0, Math.floor(bytes.length / 2)));
    const summary =
      v.compression === "none"
        ? /^unreadable: truncated: the archive ends /
        : v.compression === "gzip"
          ? /^unreadable: truncated: the gzip stream ends early/
          : new RegExp(`^unreadable: damaged or truncated ${v.compression} data \\(`);
    unreadable(`${v.name}, cut in half`, summary);
  }
  // Cut inside the early archive, and just before the end of the image the rebuild wrote.
  const early = fs.readFileSync(variant("microcode-zstd"));
  fs.writeFileSync(path.join(root.dir, image), early.subarray(0, early.indexOf("TRAILER!!!", 0, "latin1") - 50));
  unreadable("cut inside the early archive", /^unreadable: truncated: .*\(uncompressed part\)$/);
  fs.writeFileSync(path.join(root.dir, image), current.subarray(0, current.length - 4096));
  unreadable("the rebuilt image without its last 4096 bytes", /^unreadable: damaged or truncated zstd data \(zstd exit /);

  fs.writeFileSync(path.join(root.dir, image), current);
  assert.equal(theImage().state, "current");
  console.log(`# initramfs-dracut images (${VARIANTS.map((v) => v.name).join(", ")}; ${rebuild} ${rebuildTime}): ${took(started)}`);
});
