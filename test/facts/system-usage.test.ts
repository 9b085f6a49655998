// Facts read from fake roots: kernel state, fstab, mount units, and the usage
// evidence that status and apply act on.

import { test } from "node:test";
import { symlinkSync } from "node:fs";
import assert from "node:assert/strict";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { readKernelState, parseMountinfo } from "../../src/system/kernel-state.ts";
import { kernelModuleBlacklist } from "../../src/kmod/cmdline.ts";
import { parseFstab } from "../../src/system/fstab.ts";
import { parseMountUnit, readMountUnits } from "../../src/system/mount-units.ts";
import { filesystemTypesOf } from "../../src/kmod/module-index.ts";
import { compareReleases, listInstalledReleases, readModuleIndex } from "../../src/system/module-index-files.ts";
import { readSystemUsage } from "../../src/services/usage.ts";

test("kernel state: loaded, registered, mounts with escapes, module support, auto-loading, command line", () => {
  const root = createFakeRoot({
    loaded: ["isofs", "fat", "vfat"],
    registered: ["iso9660", "vfat"],
    mounts: [
      { source: "/dev/vda1", target: "/", fstype: "ext4" },
      { source: "/dev/sr0", target: "/media/CD ROM\\1", fstype: "iso9660" },
    ],
    cmdline: "root=/dev/vda1 module_blacklist=jfs,minix quiet",
    files: { "sys/module/ext4/parameters/x": "1\n", "sys/module/udf/initstate": "coming\n" },
  });
  try {
    const state = readKernelState(new RootFs(root.dir));
    assert.equal(state.running, true);
    assert.equal(state.release, "6.1.0-50-amd64");
    assert.equal(state.moduleSupport, true);
    assert.equal(state.autoload, true);
    assert.deepEqual([...state.loaded.keys()].sort(), ["fat", "isofs", "udf", "vfat"]);
    assert.equal(state.loaded.get("udf"), "sys/module/udf/initstate");
    assert.ok(state.registered.has("iso9660") && state.registered.has("proc") && !state.registered.has("jfs"));
    const cd = state.mounts.find((m) => m.fstype === "iso9660");
    assert.deepEqual(cd && { target: cd.target, source: cd.source, line: cd.line }, { target: "/media/CD ROM\\1", source: "/dev/sr0", line: 6 });
    assert.deepEqual(state.kernelBlacklist, ["jfs", "minix"]);
  } finally {
    root.cleanup();
  }
  const none = createFakeRoot({ kernel: null, osrelease: "6.18.44-test", moduleSupport: false });
  const off = createFakeRoot({ autoload: false });
  const image = createFakeRoot({ running: false });
  try {
    const noModules = readKernelState(new RootFs(none.dir));
    assert.deepEqual([noModules.moduleSupport, noModules.autoload, noModules.release], [false, false, "6.18.44-test"]);
    assert.equal(readKernelState(new RootFs(off.dir)).autoload, false);
    const built = readKernelState(new RootFs(image.dir));
    assert.deepEqual([built.running, built.release, built.mounts.length], [false, null, 0]);
  } finally {
    none.cleanup();
    off.cleanup();
    image.cleanup();
  }
});

test("mountinfo without optional fields, and module_blacklist= as the kernel reads it", () => {
  const mounts = parseMountinfo("22 27 0:21 / /proc rw,relatime - proc proc rw\n36 35 98:0 /mnt1 /mnt\\0402 rw shared:1 master:2 - ext3 /dev/root rw,errors=continue\n");
  assert.deepEqual(
    mounts.map((m) => [m.target, m.fstype, m.source, m.line]),
    [
      ["/proc", "proc", "proc", 1],
      ["/mnt 2", "ext3", "/dev/root", 2],
    ],
  );
  assert.deepEqual(kernelModuleBlacklist("module_blacklist=a module_blacklist=b,c"), ["b", "c"]);
});

test("fstab: comments, noauto, UUID/LABEL sources, auto types, roles", () => {
  const entries = parseFstab(
    [
      "# <file system> <mount point> <type> <options> <dump> <pass>",
      "UUID=0a1b-2c3d / ext4 errors=remount-ro 0 1",
      "",
      "LABEL=boot /boot/ ext2 defaults 0 2",
      "/dev/sda1\t/boot/efi vfat umask=0077 0 1",
      "/dev/sr0 /media/cdrom0 udf,iso9660 user,noauto 0 0",
      "/dev/sdb1 /srv/old\\040disk auto noauto",
      "server:/export /net nfs defaults",
    ].join("\n"),
    "etc/fstab",
  );
  assert.deepEqual(
    entries.map((e) => [e.source, e.target, e.types, e.noauto, e.role, e.where]),
    [
      ["UUID=0a1b-2c3d", "/", ["ext4"], false, "root", "etc/fstab:2"],
      ["LABEL=boot", "/boot/", ["ext2"], false, "boot", "etc/fstab:4"],
      ["/dev/sda1", "/boot/efi", ["vfat"], false, "efi", "etc/fstab:5"],
      ["/dev/sr0", "/media/cdrom0", ["udf", "iso9660"], true, null, "etc/fstab:6"],
      ["/dev/sdb1", "/srv/old disk", [], true, null, "etc/fstab:7"],
      ["server:/export", "/net", ["nfs"], false, null, "etc/fstab:8"],
    ],
  );
});

test("mount units: etc masks usr/lib, a /dev/null link masks, Type= may be missing", () => {
  const root = createFakeRoot({
    mountUnits: { "srv-data.mount": "[Unit]\nDescription=x\n[Mount]\nWhat=/dev/disk/by-label/data\nWhere=/srv/data\nType=jfs\nOptions=noatime\n" },
    files: {
      "usr/lib/systemd/system/srv-data.mount": "[Mount]\nWhat=/dev/sdz\nWhere=/srv/data\nType=minix\n",
      "usr/lib/systemd/system/media-x.mount": "[Mount]\nWhat=/dev/sdy\nWhere=/media/x\n",
      "usr/lib/systemd/system/tmp.mount": "[Mount]\nWhat=tmpfs\nWhere=/tmp\nType=tmpfs\n",
    },
  });
  try {
    symlinkSync("/dev/null", `${root.dir}/etc/systemd/system/tmp.mount`);
    const units = readMountUnits(new RootFs(root.dir));
    assert.deepEqual(
      units.map((u) => [u.path, u.type, u.what]),
      [
        ["etc/systemd/system/srv-data.mount", "jfs", "/dev/disk/by-label/data"],
        ["usr/lib/systemd/system/media-x.mount", null, "/dev/sdy"],
      ],
    );
    assert.deepEqual(parseMountUnit("[Mount]\nType=jfs\nType=\n"), { what: null, where: null, type: null });
  } finally {
    root.cleanup();
  }
});

test("module index: releases in version order, types of a module, built-ins", () => {
  assert.ok(compareReleases("6.12.1-default", "6.9.3-default") > 0);
  assert.ok(compareReleases("6.1.0-50-amd64", "6.1.0-50-cloud-amd64") < 0);
  const root = createFakeRoot({ files: { "lib/modules/6.9.0-empty/modules.builtin": "" } });
  try {
    const fs = new RootFs(root.dir);
    assert.deepEqual(listInstalledReleases(fs), ["6.1.0-50-amd64"]);
    const index = readModuleIndex(fs, "6.1.0-50-amd64")!;
    assert.deepEqual(filesystemTypesOf(index, "ext4"), ["ext4", "ext2", "ext3"]);
    assert.deepEqual(filesystemTypesOf(index, "fuse"), ["fuse", "fuseblk", "fusectl"]);
    assert.deepEqual(index.modules.get("vfat")?.deps, ["fat"]);
    assert.ok(index.builtin.has("nls_base"));
    assert.equal(readModuleIndex(fs, "6.9.0-empty"), null);
  } finally {
    root.cleanup();
  }
});

test("usage evidence: loaded, registered, mounted, fstab, mount units, and through dependants", () => {
  const root = createFakeRoot({
    loaded: ["fat", "vfat", "isofs"],
    registered: ["vfat", "iso9660"],
    mounts: [
      { source: "/dev/vda2", target: "/", fstype: "ext4" },
      { source: "/dev/vda1", target: "/boot/efi", fstype: "vfat" },
    ],
    fstab: "/dev/vda2 / ext4 defaults 0 1\n/dev/vda1 /boot/efi vfat umask=0077 0 1\n/dev/sr0 /media/cd iso9660 noauto 0 0\n/dev/sdb1 /mnt auto noauto 0 0\n",
    mountUnits: { "srv.mount": "[Mount]\nWhat=/dev/sdc1\nWhere=/srv\nType=jfs\n" },
  });
  try {
    const fs = new RootFs(root.dir);
    const usage = readSystemUsage(fs, readModuleIndex(fs, root.release!));
    const fat = usage.evidenceFor("fat");
    assert.deepEqual(
      fat.map((e) => [e.signal, e.text, e.where]),
      [
        ["loaded", "fat loaded", "proc/modules"],
        ["loaded", "vfat loaded (vfat needs fat)", "proc/modules"],
        ["registered", "vfat registered (vfat needs fat)", "proc/filesystems"],
        ["mounted", "vfat mounted at /boot/efi (vfat needs fat)", "proc/self/mountinfo:6"],
        ["fstab", "vfat /dev/vda1 on /boot/efi (EFI system partition) (vfat needs fat)", "etc/fstab:2"],
      ],
    );
    assert.deepEqual(
      usage.evidenceFor("isofs").map((e) => e.signal),
      ["loaded", "registered", "fstab"],
    );
    assert.deepEqual(
      usage.evidenceFor("jfs").map((e) => [e.signal, e.where]),
      [["mount-units", "etc/systemd/system/srv.mount"]],
    );
    assert.deepEqual(usage.evidenceFor("minix"), []);
    assert.deepEqual(usage.untyped, [{ text: "/dev/sdb1 on /mnt (type auto)", where: "etc/fstab:4" }]);
  } finally {
    root.cleanup();
  }
});
