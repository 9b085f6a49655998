// The fstab boot: a Debian 13 system (systemd, udev, Debian's kernel and its
// own initramfs-tools image, as an ext4 disk) with `/data` on jfs in fstab (not
// noauto) and the package installed, the image rebuilt (update-initramfs -u) with
// the fragments and the keep in it.
// Rebooted under QEMU, the system comes up with /data mounted: the postinst's
// apply kept jfs loadable because fstab uses it.

import { after, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE, DebianRoot, buildPackage, cachedRoot, must, took } from "./debian.ts";
import { TRIXIE_KERNEL } from "./recipes.ts";
import { images } from "./vm.ts";

const root = new DebianRoot(cachedRoot(TRIXIE_KERNEL));
const work = fs.mkdtempSync(path.join(CACHE, "work", "vm-fstab-"));
after(() => {
  root.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

/** Runs once the local filesystems are mounted: what /data is, on the second serial port, then powers off. */
const CHECK_UNIT = `[Unit]
Description=fsblacklist test: report /data
After=local-fs.target
[Service]
Type=oneshot
StandardOutput=tty
StandardError=tty
TTYPath=/dev/ttyS1
ExecStart=/usr/bin/sh -c 'echo "@@DATA $(findmnt -n -o FSTYPE,SOURCE /data)"; echo "@@JFS $(grep -c "^jfs " /proc/modules)"; echo "@@END"'
ExecStartPost=/usr/bin/systemctl poweroff --no-block
[Install]
WantedBy=multi-user.target
`;

test("fstab has /data on jfs: after apt install and a reboot with Debian's own initramfs, /data is mounted", async () => {
  const started = Date.now();
  const release = fs
    .readdirSync(path.join(root.dir, "boot"))
    .find((n) => n.startsWith("vmlinuz-"))!
    .slice("vmlinuz-".length);
  root.write("etc/fstab", "/dev/vda / ext4 rw,errors=remount-ro 0 1\n/dev/vdb /data jfs defaults 0 2\n");
  fs.mkdirSync(path.join(root.dir, "data"), { recursive: true });
  root.write("etc/hostname", "fsblacklist-test\n");
  // Not a first boot: systemd-firstboot would wait at the console for answers.
  root.write("etc/machine-id", "5a0d1c1e0f5b4e6f8a9b7c6d5e4f3a2b\n");
  root.write("etc/systemd/system/fsb-check.service", CHECK_UNIT);
  fs.mkdirSync(path.join(root.dir, "etc/systemd/system/multi-user.target.wants"), { recursive: true });
  fs.symlinkSync("/etc/systemd/system/fsb-check.service", path.join(root.dir, "etc/systemd/system/multi-user.target.wants/fsb-check.service"));

  // An init and udev for a real boot, and the package; then the image rebuilt with its fragments.
  root.must(["apt-get", "update", "-qq"], { mounts: ["dev"] });
  const installed = root.aptInstall(["systemd-sysv", "udev", buildPackage()]);
  assert.doesNotMatch(installed.stdout + installed.stderr, /warning: 'fsblacklist apply' failed/);
  assert.equal(root.read("etc/modprobe.d/60-blacklist_fs-jfs.conf").includes("fstab"), true, "the postinst's apply kept jfs for fstab");
  root.must(["update-initramfs", "-u"], { mounts: ["dev", "proc"] });
  const listing = root.must(["lsinitramfs", `/boot/initrd.img-${release}`]).stdout;
  assert.match(listing, /usr\/lib\/modprobe\.d\/60-blacklist_fs-minix\.conf/, "the image carries the fragments");
  assert.match(listing, /etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf/, "and the keep");
  const prepared = took(started);

  // The root as an ext4 disk; the kernel and the image from its /boot.
  fs.copyFileSync(path.join(root.dir, `boot/vmlinuz-${release}`), path.join(work, "vmlinuz"));
  fs.copyFileSync(path.join(root.dir, `boot/initrd.img-${release}`), path.join(work, "initrd.img"));
  fs.rmSync(path.join(root.dir, "etc/resolv.conf"), { force: true });
  const disk = path.join(work, "root.img");
  must("mkfs.ext4", ["-q", "-F", "-L", "root", "-d", root.dir, disk, "2G"]);
  const jfs = images()[1]!;

  const consoleLog = path.join(work, "console.log");
  const results = path.join(work, "results.log");
  const args = [
    ...["-accel", "tcg", "-cpu", "max", "-smp", "2", "-m", "1024", "-nodefaults", "-display", "none", "-no-reboot"],
    ...["-kernel", path.join(work, "vmlinuz"), "-initrd", path.join(work, "initrd.img")],
    ...["-append", "root=/dev/vda rw console=ttyS0 panic=-1 systemd.show_status=0"],
    ...["-serial", `file:${consoleLog}`, "-serial", `file:${results}`],
    ...["-drive", `file=${disk},format=raw,if=virtio`, "-drive", `file=${jfs},format=raw,if=virtio,snapshot=on`],
  ];
  const booted = Date.now();
  const exit = await new Promise<number | null>((resolve, reject) => {
    const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "ignore", "inherit"] });
    const timer = setTimeout(() => qemu.kill("SIGKILL"), 900_000);
    qemu.on("error", reject);
    qemu.on("exit", (code) => {
      clearTimeout(timer);
      resolve(code);
    });
  });
  const log = fs.existsSync(results) ? fs.readFileSync(results, "utf8").replace(/\r/g, "") : "";
  const console_ = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, "utf8") : "";
  assert.match(log, /@@END/, `the system did not come up to the check (qemu exit ${exit}, ${took(booted)}):\n${log}\nconsole:\n${console_.slice(-6000)}`);
  assert.match(log, /^@@DATA jfs \/dev\/vdb$/m, log);
  assert.match(log, /^@@JFS 1$/m, "jfs loaded");
  for (const line of log.split("\n").filter((l) => l.startsWith("@@") && l !== "@@END")) console.log(`#   ${line.slice(2)}`);
  console.log(`# vm-fstab: ${took(started)} (root, packages and image ${prepared}; boot to the check and poweroff ${took(booted)})`);
});
