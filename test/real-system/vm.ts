// Real Debian kernels under QEMU (TCG: no KVM here) booting a minimal,
// uncompressed initramfs made for the test: busybox for the small tools, dash as
// /bin/sh, and from a Debian 13 root the real kmod, util-linux's mount and blkid,
// and Debian's Node; the built package unpacked into it; the kernel's
// filesystem and virtio modules with depmod run again for them. A test script
// runs as PID 1 and reports on the second serial port, then powers off.
//
// Kernels are Debian's own packages, their names resolved at run time
// (linux-image-amd64's dependency) inside a root of that release, and cached
// under CACHE/kernels.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE, type DebianRoot, must } from "./debian.ts";

export interface Kernel {
  /** The Debian package, e.g. linux-image-6.1.0-57-amd64. */
  package: string;
  release: string;
  /** The package unpacked: boot/vmlinuz-<release>, usr/lib/modules/<release>/. */
  dir: string;
}

/** linux-image-amd64's kernel in the root's release, downloaded and unpacked once (CACHE/kernels). */
export function debianKernel(root: DebianRoot): Kernel {
  root.must(["apt-get", "update", "-qq"], { mounts: ["dev"] });
  const depends = root.must(["apt-cache", "depends", "linux-image-amd64"]).stdout;
  const name = /Depends: (linux-image-[0-9][^\s]*)/.exec(depends)?.[1];
  assert.ok(name, `no kernel package in: ${depends}`);
  const dir = path.join(CACHE, "kernels", name);
  if (!fs.existsSync(dir)) {
    root.must(["sh", "-c", `cd /tmp && apt-get download -qq ${name}`], { mounts: ["dev"] });
    const deb = fs.readdirSync(path.join(root.dir, "tmp")).find((n) => n.startsWith(`${name}_`) && n.endsWith(".deb"));
    assert.ok(deb, `apt-get download ${name} left no .deb`);
    const partial = `${dir}.partial`;
    fs.rmSync(partial, { recursive: true, force: true });
    fs.mkdirSync(path.dirname(dir), { recursive: true });
    must("dpkg-deb", ["-x", path.join(root.dir, "tmp", deb), partial]);
    // Debian 12's kernels put their modules in lib/modules, Debian 13's in
    // usr/lib/modules; depmod (as the package's postinst would) reads lib/.
    if (!fs.existsSync(path.join(partial, "lib"))) fs.symlinkSync("usr/lib", path.join(partial, "lib"));
    must("depmod", ["-b", partial, releaseIn(partial)]);
    fs.renameSync(partial, dir);
  }
  return { package: name, release: releaseIn(dir), dir };
}

function releaseIn(dir: string): string {
  return fs
    .readdirSync(path.join(dir, "boot"))
    .find((n) => n.startsWith("vmlinuz-"))!
    .slice("vmlinuz-".length);
}

/** The modules the scenarios load, with what they need (modules.dep); virtio ones may be built in. */
const MODULES = ["minix", "jfs", "vfat", "nls_cp437", "nls_ascii", "nls_iso8859_1", "nls_utf8", "virtio_blk", "virtio_pci"];
/** Programs copied with their libraries from the Debian root. */
const PROGRAMS = ["/usr/bin/dash", "/usr/bin/kmod", "/usr/bin/node", "/usr/bin/mount", "/usr/bin/umount", "/usr/sbin/blkid"];

/**
 * The base initramfs (uncompressed cpio newc) for a kernel: the scenario's
 * script is appended as a second archive by boot().
 */
export function baseInitramfs(kernel: Kernel, userland: DebianRoot, deb: string): string {
  const stage = path.join(userland.dir, "tmp", `initramfs-${kernel.release}`);
  fs.rmSync(stage, { recursive: true, force: true });
  const mk = (rel: string) => fs.mkdirSync(path.join(stage, rel), { recursive: true });
  for (const dir of ["usr/bin", "usr/sbin", "usr/share", "usr/lib/modprobe.d", "usr/lib64", "etc/modprobe.d", "proc", "sys", "dev", "tmp", "run", "mnt", "data", "root", "var/lib"]) mk(dir);
  for (const [link, target] of [
    ["bin", "usr/bin"],
    ["sbin", "usr/sbin"],
    ["lib", "usr/lib"],
    ["lib64", "usr/lib64"],
  ])
    fs.symlinkSync(target!, path.join(stage, link!));

  // Programs and every library they load, as the root's own ldd lists them.
  const files = new Set<string>(PROGRAMS);
  for (const program of PROGRAMS) {
    for (const match of userland.must(["ldd", program]).stdout.matchAll(/(\/\S+) \(0x/g)) files.add(match[1]!);
  }
  for (const file of files) copyResolved(userland.dir, file, stage);
  // Debian's Node loads some of its own parts (cjs-module-lexer, undici, acorn) from there.
  must("cp", ["-a", path.join(userland.dir, "usr/share/nodejs"), path.join(stage, "usr/share/")]);
  for (const tool of ["modprobe", "rmmod", "insmod", "lsmod", "depmod", "modinfo"]) fs.symlinkSync("../bin/kmod", path.join(stage, "usr/sbin", tool));
  fs.symlinkSync("dash", path.join(stage, "usr/bin/sh"));
  fs.copyFileSync(must("sh", ["-c", "command -v busybox"]).stdout.trim(), path.join(stage, "usr/bin/busybox"));
  fs.chmodSync(path.join(stage, "usr/bin/busybox"), 0o755);
  for (const applet of must("busybox", ["--list"]).stdout.split("\n").filter(Boolean)) {
    const taken = ["usr/bin", "usr/sbin"].some((d) => fs.lstatSync(path.join(stage, d, applet), { throwIfNoEntry: false }) !== undefined);
    if (!taken) fs.symlinkSync("busybox", path.join(stage, "usr/bin", applet));
  }

  // The package as dpkg would unpack it.
  must("dpkg-deb", ["-x", deb, stage]);

  // The kernel's modules for the scenarios, and depmod's indexes for them.
  const modulesDir = path.join(kernel.dir, "lib/modules", kernel.release);
  const dep = new Map(
    fs
      .readFileSync(path.join(modulesDir, "modules.dep"), "utf8")
      .split("\n")
      .filter(Boolean)
      .map((line) => {
        const [file, deps] = line.split(":");
        return [file!, deps!.trim().split(/\s+/).filter(Boolean)] as const;
      }),
  );
  const byName = new Map(
    [...dep.keys()].map((file) => [
      path
        .basename(file)
        .replace(/\.ko(\..*)?$/, "")
        .replace(/-/g, "_"),
      file,
    ]),
  );
  const wanted = new Set<string>();
  const want = (file: string) => {
    if (wanted.has(file)) return;
    wanted.add(file);
    for (const d of dep.get(file) ?? []) want(d);
  };
  for (const name of MODULES) {
    const file = byName.get(name);
    if (file) want(file);
  }
  assert.equal([...wanted].some((f) => f.includes("/minix.")) && [...wanted].some((f) => f.includes("/jfs.")), true, `${kernel.package} has minix and jfs modules`);
  const stageModules = path.join(stage, "usr/lib/modules", kernel.release);
  for (const file of wanted) {
    fs.mkdirSync(path.dirname(path.join(stageModules, file)), { recursive: true });
    fs.copyFileSync(path.join(modulesDir, file), path.join(stageModules, file));
  }
  for (const name of ["modules.order", "modules.builtin", "modules.builtin.modinfo"]) {
    if (fs.existsSync(path.join(modulesDir, name))) fs.copyFileSync(path.join(modulesDir, name), path.join(stageModules, name));
  }
  userland.must(["depmod", "-b", `/tmp/${path.basename(stage)}`, kernel.release]);

  const cpio = path.join(userland.dir, "tmp", `initramfs-${kernel.release}.cpio`);
  must("sh", ["-c", `cd "$1" && find . | LC_ALL=C sort | cpio --quiet -o -H newc -R 0:0 > "$2"`, "sh", stage, cpio]);
  fs.rmSync(stage, { recursive: true, force: true });
  return cpio;
}

/** Copies a file of the root (links followed) to the same path under stage. */
function copyResolved(rootDir: string, file: string, stage: string): void {
  const target = path.join(stage, file);
  fs.mkdirSync(path.dirname(target), { recursive: true });
  if (!fs.existsSync(target)) fs.copyFileSync(fs.realpathSync(path.join(rootDir, resolveInRoot(rootDir, file))), target);
  fs.chmodSync(target, fs.statSync(path.join(rootDir, resolveInRoot(rootDir, file))).mode & 0o777);
}

/** The path inside the root that a path of the root resolves to (absolute links read as the root's). */
function resolveInRoot(rootDir: string, file: string, depth = 0): string {
  assert.ok(depth < 40, `too many links: ${file}`);
  const parts = file.split("/").filter(Boolean);
  let resolved = "";
  for (let i = 0; i < parts.length; i++) {
    const next = `${resolved}/${parts[i]}`;
    const stat = fs.lstatSync(path.join(rootDir, next));
    if (stat.isSymbolicLink()) {
      const link = fs.readlinkSync(path.join(rootDir, next));
      const base = link.startsWith("/") ? link : `${resolved}/${link}`;
      return resolveInRoot(rootDir, path.posix.normalize(`${base}/${parts.slice(i + 1).join("/")}`), depth + 1);
    }
    resolved = next;
  }
  return resolved;
}

/** The scenario's output, step by step: what the script printed between `step NAME` lines, and how long the step took in the VM. */
export interface Steps {
  log: string;
  step(name: string): string;
  seconds(name: string): number;
  bootSeconds: number;
}

/**
 * Boots the kernel with the base initramfs and `script` (run by dash as PID 1's
 * child, `step NAME` marking its parts), the images as virtio disks vda, vdb, ...
 * (copy-on-write: they stay unchanged). Resolves when the VM powers off.
 */
export async function boot(kernel: Kernel, base: string, script: string, disks: readonly string[], work: string): Promise<Steps> {
  const stage = fs.mkdtempSync(path.join(work, "scenario-"));
  const init = [
    "#!/bin/sh",
    "export PATH=/usr/sbin:/usr/bin HOME=/root",
    "mount -t proc proc /proc; mount -t sysfs sys /sys; mount -t devtmpfs dev /dev; mount -t tmpfs tmp /tmp; mount -t tmpfs run /run",
    "exec >/dev/ttyS1 2>&1",
    // No udev: the disks' drivers are loaded here (they may be built in).
    "modprobe -a virtio_pci virtio_blk",
    `for i in $(seq 100); do [ -b /dev/vd${String.fromCharCode(96 + disks.length)} ] && break; sleep 0.1; done`,
    'step() { echo "@@STEP $1 $(cut -d" " -f1 /proc/uptime)"; }',
    "step boot",
    ". /scenario.sh",
    "step end",
    "sync",
    "poweroff -f",
    "",
  ].join("\n");
  fs.writeFileSync(path.join(stage, "init"), init, { mode: 0o755 });
  fs.writeFileSync(path.join(stage, "scenario.sh"), script);
  const initrd = path.join(work, `initrd-${path.basename(stage)}`);
  must("sh", ["-c", `cat "$1" > "$3" && cd "$2" && printf 'init\\nscenario.sh\\n' | cpio --quiet -o -H newc -R 0:0 >> "$3"`, "sh", base, stage, initrd]);
  const results = path.join(stage, "results.log");
  const consoleLog = path.join(stage, "console.log");
  const args = [
    "-accel",
    "tcg",
    "-cpu",
    "max",
    "-smp",
    "2",
    "-m",
    "1024",
    "-nodefaults",
    "-display",
    "none",
    "-no-reboot",
    "-kernel",
    path.join(kernel.dir, "boot", `vmlinuz-${kernel.release}`),
    "-initrd",
    initrd,
    "-append",
    "console=ttyS0 rdinit=/init panic=-1 quiet",
    "-serial",
    `file:${consoleLog}`,
    "-serial",
    `file:${results}`,
    ...disks.flatMap((disk) => ["-drive", `file=${disk},format=raw,if=virtio,snapshot=on`]),
  ];
  const started = Date.now();
  const exit = await new Promise<number | null>((resolve, reject) => {
    const qemu = spawn("qemu-system-x86_64", args, { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    qemu.stderr.on("data", (chunk) => (stderr += chunk));
    const timer = setTimeout(() => qemu.kill("SIGKILL"), 600_000);
    qemu.on("error", reject);
    qemu.on("exit", (code) => {
      clearTimeout(timer);
      if (stderr.trim()) console.log(`# qemu: ${stderr.trim()}`);
      resolve(code);
    });
  });
  const log = fs.existsSync(results) ? fs.readFileSync(results, "utf8").replace(/\r/g, "") : "";
  const console_ = fs.existsSync(consoleLog) ? fs.readFileSync(consoleLog, "utf8") : "";
  fs.rmSync(initrd, { force: true });
  assert.match(
    log,
    /@@STEP end /,
    `the scenario did not finish (qemu exit ${exit}, ${((Date.now() - started) / 1000).toFixed(0)} s); its output:\n${log.slice(-6000)}\nconsole:\n${console_.slice(-4000)}`,
  );
  fs.rmSync(stage, { recursive: true, force: true });
  const marks = [...log.matchAll(/^@@STEP (\S+) ([0-9.]+)$/gm)].map((m) => ({ name: m[1]!, at: Number(m[2]), index: m.index!, length: m[0].length }));
  const find = (name: string) => {
    const i = marks.findIndex((m) => m.name === name);
    assert.ok(i >= 0 && i + 1 < marks.length, `no step ${name} in:\n${log}`);
    return [marks[i]!, marks[i + 1]!] as const;
  };
  return {
    log,
    step: (name) => {
      const [from, to] = find(name);
      return log.slice(from.index + from.length + 1, to.index);
    },
    seconds: (name) => {
      const [from, to] = find(name);
      return to.at - from.at;
    },
    bootSeconds: marks[0]!.at,
  };
}

/** Filesystem images for the disks (no root disk: vda minix, vdb jfs, vdc vfat), made once by the host's mkfs tools. */
export function images(): string[] {
  const dir = path.join(CACHE, "images");
  fs.mkdirSync(dir, { recursive: true });
  const made = [
    ["minix.img", "mkfs.minix"],
    ["jfs.img", "mkfs.jfs -q"],
    ["vfat.img", "mkfs.vfat"],
  ].map(([name, mkfs]) => {
    const image = path.join(dir, name!);
    if (!fs.existsSync(image)) {
      must("sh", ["-c", `truncate -s 32M "$1.new" && ${mkfs} "$1.new" >/dev/null && mv "$1.new" "$1"`, "sh", image]);
    }
    return image;
  });
  return made;
}
