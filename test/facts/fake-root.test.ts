// The fake-root builder other tests stand on: what it writes must look like the
// real thing to the real modprobe.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createFakeRoot, FIXTURE_RELEASES } from "../helpers/fake-root.ts";

test("every fixture release gets placeholder modules that the real modprobe resolves and would insert", () => {
  for (const release of FIXTURE_RELEASES) {
    const root = createFakeRoot({ kernel: release });
    try {
      const vfat = spawnSync("modprobe", ["-n", "-v", "-d", root.dir, "-S", release, "--", "fs-vfat"], { encoding: "utf8" });
      assert.equal(vfat.status, 0, vfat.stderr);
      assert.equal(vfat.stderr, "");
      assert.match(vfat.stdout, /insmod \S+\/kernel\/fs\/fat\/fat\.ko(\.xz)? \ninsmod \S+\/kernel\/fs\/fat\/vfat\.ko(\.xz)? \n/);
      const isofs = join(root.dir, "lib/modules", release, "kernel/fs/isofs", release.startsWith("6.12") ? "isofs.ko.xz" : "isofs.ko");
      assert.equal(statSync(isofs).size, 0);
    } finally {
      root.cleanup();
    }
    assert.equal(existsSync(root.dir), false);
  }
});

test("running-kernel files follow the spec", () => {
  const root = createFakeRoot({
    kernel: "6.1.0-50-cloud-amd64",
    loaded: ["isofs"],
    registered: ["iso9660"],
    mounts: [
      { source: "/dev/vda1", target: "/", fstype: "ext4" },
      { source: "/dev/sr0", target: "/media/my cd", fstype: "iso9660", options: "ro,nosuid" },
    ],
    cmdline: "root=/dev/vda1 modprobe.blacklist=jfs",
    kmodVersion: "30+20221128-1",
  });
  try {
    const read = (rel: string): string => readFileSync(join(root.dir, rel), "utf8");
    assert.equal(read("proc/sys/kernel/osrelease"), "6.1.0-50-cloud-amd64\n");
    assert.equal(read("proc/modules"), "isofs 45056 0 - Live 0x0000000000000000\n");
    assert.equal(read("sys/module/isofs/initstate"), "live\n");
    assert.match(read("proc/filesystems"), /^\text4\n\text3\n\text2\n/m);
    assert.match(read("proc/filesystems"), /^\tiso9660\n/m);
    assert.match(read("proc/self/mountinfo"), / \/media\/my\\040cd ro,nosuid .* - iso9660 \/dev\/sr0 ro,nosuid\n/);
    assert.equal(read("proc/cmdline"), "root=/dev/vda1 modprobe.blacklist=jfs\n");
    assert.equal(read("proc/sys/kernel/modprobe"), "/sbin/modprobe\n");
    assert.match(read("var/lib/dpkg/status"), /^Package: kmod\nStatus: install ok installed\n(.+\n)*Version: 30\+20221128-1\n/);
  } finally {
    root.cleanup();
  }
});

test("a kernel without module support or auto-loading, and a root without a running kernel", () => {
  const noModules = createFakeRoot({ kernel: null, osrelease: "6.18.44-test", moduleSupport: false });
  const noAutoload = createFakeRoot({ autoload: false });
  const image = createFakeRoot({ running: false, fstab: "/dev/vda1 / ext4 defaults 0 1\n" });
  try {
    assert.equal(existsSync(join(noModules.dir, "proc/modules")), false);
    assert.equal(existsSync(join(noModules.dir, "sys/module")), false);
    assert.equal(existsSync(join(noModules.dir, "lib/modules")), false);
    assert.equal(noModules.release, null);
    assert.equal(readFileSync(join(noModules.dir, "proc/sys/kernel/osrelease"), "utf8"), "6.18.44-test\n");
    assert.equal(readFileSync(join(noAutoload.dir, "proc/sys/kernel/modprobe"), "utf8"), "\n");
    assert.equal(existsSync(join(image.dir, "proc")), false);
    assert.equal(readFileSync(join(image.dir, "etc/fstab"), "utf8"), "/dev/vda1 / ext4 defaults 0 1\n");
    assert.equal(image.release, "6.1.0-50-amd64");
  } finally {
    noModules.cleanup();
    noAutoload.cleanup();
    image.cleanup();
  }
});
