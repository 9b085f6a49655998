// A Debian 13 root with a kernel and initramfs-tools, configured with
// `initramfs: regenerate`: installing the package makes the postinst's apply run
// the root's own update-initramfs, and the image it writes carries the
// fragments and the keep (lsinitramfs, unmkinitramfs). Then, in the same root,
// `status` reads that image as update-initramfs made it and as every other
// compression the kernel unpacks would carry it (the same cpio recompressed with
// the root's own gzip, xz, lz4, or left uncompressed, and behind an early
// microcode archive): current, stale after `allow` and `block` naming the
// filesystem, current again after `update-initramfs -u`; damaged and truncated
// images are named as such, without a crash.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { DebianRoot, buildPackage, cachedRoot, defaultProfileModules, took } from "./debian.ts";
import { TRIXIE_KERNEL } from "./recipes.ts";

const root = new DebianRoot(cachedRoot(TRIXIE_KERNEL));
after(() => root.cleanup());

test("apt install with initramfs: regenerate runs update-initramfs; the image holds every fragment and the keep", () => {
  const started = Date.now();
  const images = fs.readdirSync(path.join(root.dir, "boot")).filter((n) => n.startsWith("initrd.img-"));
  assert.equal(images.length, 1, `one kernel in the root: ${images.join(" ")}`);
  const image = `/boot/${images[0]}`;
  const builtAt = fs.statSync(path.join(root.dir, image)).mtimeMs;
  assert.doesNotMatch(root.must(["lsinitramfs", image]).stdout, /60-blacklist_fs-/);

  root.write("etc/fstab", "LABEL=root / ext4 defaults 0 1\n/dev/vdb /data jfs defaults 0 2\n");
  root.write("etc/fsblacklist/config.yaml", "initramfs: regenerate\n");
  const installed = root.aptInstall([buildPackage()]);
  const output = installed.stdout + installed.stderr;
  assert.match(output, /The initramfs was rebuilt \(\/usr\/sbin\/update-initramfs -u -k all\)/);
  assert.doesNotMatch(output, /warning: 'fsblacklist apply' failed/);
  assert.notEqual(fs.statSync(path.join(root.dir, image)).mtimeMs, builtAt, "the image was rebuilt");

  const listing = root.must(["lsinitramfs", image]).stdout.split("\n");
  const inImage = (rel: string) => listing.some((line) => line === rel || line.endsWith(`/${rel}`) || line === `./${rel}`);
  for (const module of defaultProfileModules()) assert.equal(inImage(`usr/lib/modprobe.d/60-blacklist_fs-${module}.conf`), true, `${module}'s fragment in ${image}`);
  assert.equal(inImage("etc/modprobe.d/60-blacklist_fs-jfs.conf"), true, "jfs's keep (fstab: /data) in the image");

  // The files inside are the root's, byte for byte.
  root.must(["unmkinitramfs", image, "/tmp/unpacked"]);
  const unpacked = path.join(root.dir, "tmp/unpacked");
  const main = fs.existsSync(path.join(unpacked, "main")) ? path.join(unpacked, "main") : unpacked;
  for (const rel of ["etc/modprobe.d/60-blacklist_fs-jfs.conf", "usr/lib/modprobe.d/60-blacklist_fs-minix.conf"]) {
    assert.equal(fs.readFileSync(path.join(main, rel), "utf8"), root.read(rel), rel);
  }
  console.log(`# initramfs: ${took(started)}`);
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

/** The compressions of one image: a name, how the root's own tools make it from the cpio, and the parts status should see. */
const VARIANTS: { name: string; make: string; parts: string[] }[] = [
  { name: "original", make: "true", parts: ["none", "zstd"] },
  { name: "zstd", make: "cp /tmp/images/main.zst /tmp/images/zstd", parts: ["zstd"] },
  { name: "gzip", make: "gzip -n -c /tmp/images/main.cpio > /tmp/images/gzip", parts: ["gzip"] },
  // What the kernel's xz decoder accepts (initramfs-tools' check; a fast preset, the format is the same).
  { name: "xz", make: "xz --check=crc32 -1 -T0 -c /tmp/images/main.cpio > /tmp/images/xz", parts: ["xz"] },
  // The legacy format the kernel unpacks (initramfs-tools' lz4 -l).
  { name: "lz4", make: "lz4 -l -q -c /tmp/images/main.cpio > /tmp/images/lz4", parts: ["lz4"] },
  { name: "none", make: "cp /tmp/images/main.cpio /tmp/images/none", parts: ["none"] },
  { name: "microcode", make: "cat /tmp/images/early.cpio /tmp/images/main.zst > /tmp/images/microcode", parts: ["none", "zstd"] },
  { name: "microcode-xz", make: "cat /tmp/images/early.cpio /tmp/images/xz > /tmp/images/microcode-xz", parts: ["none", "xz"] },
];

test("status reads the image update-initramfs made, in every compression and behind early microcode: current, stale after allow and block naming the filesystem, current after update-initramfs -u", () => {
  const started = Date.now();
  const release = fs
    .readdirSync(path.join(root.dir, "boot"))
    .find((n) => n.startsWith("initrd.img-"))!
    .slice("initrd.img-".length);
  const image = `boot/initrd.img-${release}`;
  root.write("etc/fsblacklist/config.yaml", "initramfs: report\n");
  // xz and lz4 to make (and read) those images: not in the cached root.
  root.must(["apt-get", "update", "-qq"], { mounts: ["dev"] });
  root.aptInstall(["xz-utils", "lz4"]);
  console.log(`#   apt-get update, xz-utils and lz4: ${took(started)}`);

  const statusJson = (): ImageJson[] => {
    const result = root.must(["fsblacklist", "status", "--json"]);
    return (JSON.parse(result.stdout) as { initramfs: ImageJson[] }).initramfs;
  };
  const theImage = (): ImageJson => {
    const images = statusJson();
    assert.deepEqual(
      images.map((i) => i.path),
      [image],
    );
    return images[0]!;
  };

  // As update-initramfs made it (the first scenario's rebuild): current.
  const built = theImage();
  assert.equal(built.state, "current", built.summary);
  assert.equal(built.release, release);
  // initramfs-tools' own early archive, then its default compression on Debian 13.
  assert.deepEqual(built.parts, ["none", "zstd"]);
  assert.equal(built.rebuild, `/usr/sbin/update-initramfs -u -k ${release}`);

  // The same cpio in every compression, made with the root's tools.
  // The compressed part starts after the early archive's trailer and its zero padding, as the kernel finds it.
  const original = fs.readFileSync(path.join(root.dir, image));
  let compressedFrom = original.indexOf("TRAILER!!!\0", 0, "latin1") + "TRAILER!!!\0".length;
  while (original[compressedFrom] === 0) compressedFrom++;
  fs.mkdirSync(path.join(root.dir, "tmp/images"), { recursive: true });
  fs.writeFileSync(path.join(root.dir, "tmp/images/main.zst"), original.subarray(compressedFrom));
  const early = path.join(root.dir, "tmp/early/kernel/x86/microcode");
  fs.mkdirSync(early, { recursive: true });
  fs.writeFileSync(path.join(early, "GenuineIntel.bin"), Buffer.alloc(4096, 0xa5));
  root.must([
    "sh",
    "-c",
    [
      "set -e",
      `cp /${image} /tmp/images/original`,
      "zstd -d -q -c /tmp/images/main.zst > /tmp/images/main.cpio",
      "cd /tmp/early && find . | LC_ALL=C sort | cpio -o -H newc --quiet > /tmp/images/early.cpio",
      ...VARIANTS.map((v) => v.make),
    ].join("\n"),
  ]);
  const variant = (name: string): string => path.join(root.dir, "tmp/images", name);
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
  const passed = Date.now();
  eachVariant((v, found) => assert.equal(found.state, "current", `${v.name}: ${found.summary}`));
  console.log(`#   ${VARIANTS.length} images current: ${took(passed)}`);

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
  assert.match(
    text,
    new RegExp(`${image.replace(/[.+]/g, "\\$&")}: stale: minix allowed on the system, blocked in the image; rebuild: /usr/sbin/update-initramfs -u -k ${release.replace(/[.+]/g, "\\$&")}`),
  );

  // block jfs (kept for fstab's /data): the system refuses it, the image loads it; minix still differs.
  root.must(["fsblacklist", "block", "jfs"]);
  const blocked = theImage();
  assert.equal(blocked.state, "stale");
  assert.deepEqual(blocked.differences.map((d) => [d.module, d.image]).sort(), [
    ["jfs", "loadable"],
    ["minix", "blocked"],
  ]);
  assert.match(
    blocked.summary,
    /^stale: (jfs (blocked|pinned) on the system, loadable in the image; minix allowed on the system, blocked in the image|minix allowed on the system, blocked in the image; jfs (blocked|pinned) on the system, loadable in the image)$/,
  );

  const rebuilt = Date.now();
  root.must(["update-initramfs", "-u"], { mounts: ["dev", "proc"] });
  const rebuildTime = took(rebuilt);
  const after = theImage();
  assert.equal(after.state, "current", `after update-initramfs -u: ${after.summary}`);

  // Damaged images: named, with the reason, and status still reports the rest.
  const current = fs.readFileSync(path.join(root.dir, image));
  const none = fs.readFileSync(variant("none"));
  const secondHeader = none.indexOf("070701", 110, "latin1");
  const damagedHeader = Buffer.from(none);
  damagedHeader.write("07X701", secondHeader, "latin1");
  const damaged: { name: string; bytes: Buffer; summary: RegExp }[] = [
    { name: "cut inside the zstd part", bytes: original.subarray(0, original.length - 4096), summary: /^unreadable: damaged or truncated zstd data \(zstd exit / },
    { name: "uncompressed, cut in half", bytes: none.subarray(0, Math.floor(none.length / 2)), summary: /^unreadable: truncated: the archive ends / },
    { name: "a damaged cpio header", bytes: damagedHeader, summary: new RegExp(`^unreadable: not a cpio newc header \\("07X701"\\) at byte ${secondHeader}`) },
    { name: "cut inside the early archive", bytes: original.subarray(0, original.indexOf("TRAILER!!!", 0, "latin1") - 50), summary: /^unreadable: truncated: .*\(uncompressed part\)$/ },
    { name: "empty", bytes: Buffer.alloc(0), summary: /^unreadable: empty file$/ },
  ];
  for (const d of damaged) {
    fs.writeFileSync(path.join(root.dir, image), d.bytes);
    const result = root.chroot(["fsblacklist", "status", "--json"]);
    assert.equal(result.status, 0, `${d.name}: ${result.stderr}`);
    assert.doesNotMatch(result.stderr, /\n\s+at |TypeError|RangeError/, `${d.name}: no stack trace`);
    const found = (JSON.parse(result.stdout) as { initramfs: ImageJson[] }).initramfs[0]!;
    assert.equal(found.state, "unreadable", d.name);
    assert.match(found.summary, d.summary, d.name);
    if (d.name === "a damaged cpio header") {
      const shown = root.chroot(["fsblacklist", "status"]);
      assert.equal(shown.status, 0, d.name);
      assert.ok(shown.stdout.replace(/\n\s+/g, " ").includes(`${image}: ${found.summary}`), `${d.name}: ${shown.stdout}`);
    }
    console.log(`#   ${d.name}: ${found.summary}`);
  }
  fs.writeFileSync(path.join(root.dir, image), current);
  console.log(`# initramfs images (${VARIANTS.map((v) => v.name).join(", ")}; update-initramfs -u ${rebuildTime}): ${took(started)}`);
});
