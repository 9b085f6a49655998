// The initramfs as it is: status and apply read each image under boot/ and
// compare the modprobe.d inside with the root's, before and after a change and
// after a rebuild; a filesystem the image must mount at boot but blocks is an
// error with the rebuild command. Images are made with the real cpio and
// compressors from the root's own files, as the initramfs tools copy them.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { runInProcess } from "../helpers/cli.ts";
import { imageFromRoot } from "../helpers/initramfs-image.ts";
import { apply } from "../apply/helpers.ts";

const RELEASE = "6.1.0-50-amd64";
const IMAGE = `boot/initrd.img-${RELEASE}`;

interface ImageJson {
  path: string;
  release: string | null;
  state: string;
  summary: string;
  bootBlocked: { type: string; target: string; where: string }[];
  parts: string[];
  rebuild: string | null;
}

async function statusImages(root: string): Promise<{ images: ImageJson[]; stderr: string }> {
  const result = await runInProcess(["--root", root, "status", "--json"]);
  assert.equal(result.status, 0, result.stderr);
  return { images: (JSON.parse(result.stdout) as { initramfs: ImageJson[] }).initramfs, stderr: result.stderr };
}

/** A fake update-initramfs under the root, so that the rebuild command can be named. */
function installUpdateInitramfs(root: string): void {
  const file = path.join(root, "usr/sbin/update-initramfs");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, "#!/bin/sh\nexit 0\n", { mode: 0o755 });
}

test("status: current after a rebuild, stale after a change, current again after the next rebuild", async () => {
  const root = createFakeRoot();
  try {
    installUpdateInitramfs(root.dir);
    assert.equal((await apply(root.dir)).status, 0);
    imageFromRoot(root.dir, RELEASE, { compression: "zstd", microcode: true });
    let { images } = await statusImages(root.dir);
    assert.deepEqual(
      images.map((i) => [i.path, i.release, i.state, i.summary, i.parts]),
      [[IMAGE, RELEASE, "current", "current", ["none", "zstd"]]],
    );

    const allowed = await runInProcess(["--root", root.dir, "allow", "hfs"]);
    assert.equal(allowed.status, 0, allowed.stderr);
    ({ images } = await statusImages(root.dir));
    assert.equal(images[0]!.summary, "stale: hfs allowed on the system, blocked in the image");
    assert.equal(images[0]!.rebuild, `chroot ${root.dir} /usr/sbin/update-initramfs -u -k ${RELEASE}`);
    const text = (await runInProcess(["--root", root.dir, "status"])).stdout;
    // Where the lines break after "chroot" depends on the length of the root's path.
    assert.match(text, new RegExp(`^Initramfs:\\n  ${IMAGE}: stale: hfs allowed on the system, blocked in\\n    the image; rebuild: chroot\\s`, "m"));

    imageFromRoot(root.dir, RELEASE, { compression: "gzip" });
    ({ images } = await statusImages(root.dir));
    assert.equal(images[0]!.summary, "current");
  } finally {
    root.cleanup();
  }
});

test("a filesystem fstab mounts at boot that the image blocks: stale, and an error with the rebuild command", async () => {
  const root = createFakeRoot({ loaded: ["jfs"], fstab: "/dev/vda1 / jfs defaults 0 1\n/dev/vdb1 /srv/old minix noauto 0 0\n" });
  const before = createFakeRoot();
  try {
    installUpdateInitramfs(root.dir);
    // The image was built while nothing used jfs: the policy blocks it there.
    assert.equal((await apply(before.dir)).status, 0);
    const image = imageFromRoot(before.dir, RELEASE, { compression: "xz", microcode: true });
    fs.mkdirSync(path.join(root.dir, "boot"), { recursive: true });
    fs.copyFileSync(image, path.join(root.dir, IMAGE));
    assert.equal((await apply(root.dir)).status, 0);

    const { images, stderr } = await statusImages(root.dir);
    assert.equal(images[0]!.summary, "stale: jfs kept on the system, blocked in the image; minix kept on the system, blocked in the image");
    assert.deepEqual(images[0]!.bootBlocked, [{ type: "jfs", target: "/", where: "etc/fstab:1" }], "minix is noauto: not mounted at boot");
    assert.equal(
      stderr,
      `fsblacklist: error: ${IMAGE} blocks jfs, which etc/fstab:1 mounts at boot (/): this kernel may not boot; run: chroot ${root.dir} /usr/sbin/update-initramfs -u -k ${RELEASE}\n`,
    );

    const applied = await runInProcess(["--root", root.dir, "apply", "--json"]);
    assert.equal(applied.status, 0, applied.stderr);
    const json = JSON.parse(applied.stdout) as { changed: boolean; initramfsStale: boolean; initramfsImages: ImageJson[] };
    assert.equal(json.changed, false, "nothing to write");
    assert.equal(json.initramfsStale, true, "the image is measured stale although this run changed nothing");
    assert.match(applied.stderr, /^fsblacklist: error: boot\/initrd\.img-6\.1\.0-50-amd64 blocks jfs, which etc\/fstab:1 mounts at boot/m);

    imageFromRoot(root.dir, RELEASE, { compression: "lz4" });
    const after = JSON.parse((await runInProcess(["--root", root.dir, "apply", "--json"])).stdout) as { initramfsStale: boolean };
    assert.equal(after.initramfsStale, false);
    assert.equal((await statusImages(root.dir)).stderr, "");
  } finally {
    root.cleanup();
    before.cleanup();
  }
});

test("apply --json: initramfsStale is the measurement where an image can be read, the rule where none can", async () => {
  const done = createFakeRoot();
  const fresh = createFakeRoot();
  try {
    assert.equal((await apply(done.dir)).status, 0);
    const image = imageFromRoot(done.dir, RELEASE, { compression: "zstd" });
    // The fresh root's image already carries what apply will install there.
    fs.mkdirSync(path.join(fresh.dir, "boot"), { recursive: true });
    fs.copyFileSync(image, path.join(fresh.dir, IMAGE));
    const dry = JSON.parse((await runInProcess(["--root", fresh.dir, "apply", "--dry-run", "--json"])).stdout) as { blacklistChanged: boolean; initramfsStale: boolean };
    assert.deepEqual([dry.blacklistChanged, dry.initramfsStale], [true, false]);

    // A truncated image cannot be read: the rule (the blacklist changes) decides, and status says why.
    const bytes = fs.readFileSync(path.join(fresh.dir, IMAGE));
    fs.writeFileSync(path.join(fresh.dir, IMAGE), bytes.subarray(0, bytes.length >> 1));
    const ruled = JSON.parse((await runInProcess(["--root", fresh.dir, "apply", "--dry-run", "--json"])).stdout) as { initramfsStale: boolean; initramfsImages: ImageJson[] };
    assert.equal(ruled.initramfsStale, true);
    assert.equal(ruled.initramfsImages[0]!.state, "unreadable");
    assert.match(ruled.initramfsImages[0]!.summary, /^unreadable: damaged or truncated zstd data \(zstd exit 1/);
    const status = await runInProcess(["--root", fresh.dir, "status"]);
    assert.equal(status.status, 0, status.stderr);
    assert.match(status.stdout, new RegExp(`^  ${IMAGE}: unreadable: damaged or truncated zstd`, "m"));
  } finally {
    done.cleanup();
    fresh.cleanup();
  }
});

test("after a profile change, an image that still blocks the old profile's filesystems is stale, in apply and in status", async () => {
  const root = createFakeRoot();
  try {
    assert.equal((await apply(root.dir, ["--profile", "cis-l2"])).status, 0);
    imageFromRoot(root.dir, RELEASE, { compression: "gzip" });
    const applyJson = async (args: string[]) => {
      const result = await runInProcess(["--root", root.dir, "apply", "--json", ...args]);
      assert.equal(result.status, 0, result.stderr);
      return JSON.parse(result.stdout) as { changed: boolean; initramfsStale: boolean; initramfsImages: (ImageJson & { differences: { name: string; image: string }[] })[] };
    };
    assert.equal((await applyJson(["--profile", "cis-l2"])).initramfsStale, false, "the image carries cis-l2's blacklist");

    // Back to the default profile: squashfs, udf and overlay are cis-l2's alone; the image still blocks them.
    const preview = await applyJson(["--dry-run", "--profile", "default"]);
    const changed = await applyJson(["--profile", "default"]);
    for (const run of [preview, changed]) {
      assert.equal(run.initramfsStale, true, "the image still blocks what the root now allows");
      assert.equal(run.initramfsImages[0]!.state, "stale");
      assert.deepEqual(run.initramfsImages[0]!.differences.map((d) => `${d.name} ${d.image}`).sort(), ["overlay blocked", "squashfs blocked", "udf blocked"]);
    }
    assert.equal(changed.changed, true);
    // A later run, which changes nothing, still measures the image stale; so does status.
    const again = await applyJson([]);
    assert.deepEqual([again.changed, again.initramfsStale], [false, true]);
    const { images } = await statusImages(root.dir);
    assert.match(images[0]!.summary, /^stale: .*squashfs allowed on the system, blocked in the image/);

    // Rebuilt from the root: current again.
    imageFromRoot(root.dir, RELEASE, { compression: "gzip" });
    assert.equal((await applyJson([])).initramfsStale, false);
    assert.equal((await statusImages(root.dir)).images[0]!.state, "current");
  } finally {
    root.cleanup();
  }
});
