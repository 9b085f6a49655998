// A Debian 13 root with a kernel and initramfs-tools, configured with
// `initramfs: regenerate`: installing the package makes the postinst's apply run
// the root's own update-initramfs, and the image it writes carries the
// fragments and the keep (lsinitramfs, unmkinitramfs).

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
