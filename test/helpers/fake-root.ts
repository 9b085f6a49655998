// Builds a temporary root directory that looks like an installed system with a
// running kernel, for `--root` runs and for real `modprobe -d ROOT`.
//
// Only the running kernel's state is fake (proc/, sys/); the module metadata is a
// real Debian kernel's (test/fixtures/kernels/<release>/), with an EMPTY
// placeholder file at every path modules.dep lists, so that "module present"
// checks and `modprobe -n` dry runs work.
//
// createFakeRoot(spec) options, all optional:
//   kernel        fixture release copied to lib/modules/<release>/ (default
//                 "6.1.0-50-amd64"); null for a root without lib/modules.
//   osrelease     proc/sys/kernel/osrelease (default: the kernel release, else
//                 "6.1.0-50-amd64").
//   running       default true: write proc/ and sys/ for a running kernel:
//                 proc/sys/kernel/osrelease, proc/modules, proc/filesystems,
//                 proc/self/mountinfo, proc/cmdline, proc/sys/kernel/modprobe and
//                 sys/module/<m>/initstate. false: none of proc/ and sys/ (an
//                 image being built).
//   moduleSupport default true; false: a kernel built without loadable modules
//                 (no proc/modules, no sys/module, no proc/sys/kernel/modprobe).
//   autoload      default true; false: proc/sys/kernel/modprobe is empty.
//   loaded        module names listed in proc/modules and sys/module/<m>/initstate
//                 ("live"). Their filesystem types are NOT added to
//                 proc/filesystems by this: use `registered` for that.
//   registered    filesystem types added to proc/filesystems. The usual virtual
//                 ones (proc, sysfs, tmpfs, ...) and the built-in filesystems of
//                 the kernel fixture (fs-* aliases in modules.builtin.modinfo,
//                 e.g. ext4/ext3/ext2 on the cloud kernel) are always there.
//   mounts        {source, target, fstype, options?} added to proc/self/mountinfo
//                 (real format and escapes) after proc, sys, dev and run. Default:
//                 [{source: "/dev/vda1", target: "/", fstype: "ext4"}].
//   fstab         contents of etc/fstab (no etc/fstab when absent).
//   mountUnits    etc/systemd/system/<name> contents, e.g. {"srv.mount": "..."}.
//   cmdline       proc/cmdline (default "BOOT_IMAGE=/boot/vmlinuz-<osrelease>
//                 root=/dev/vda1 ro quiet").
//   files         any other files: {"etc/modprobe.d/x.conf": "blacklist jfs\n"}.
//   kmodVersion   writes var/lib/dpkg/status with kmod installed at that Debian
//                 version (e.g. "30+20221128-1").
// Returns {dir, release (of lib/modules, or null), cleanup()}.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const FIXTURE_KERNELS_DIR = fileURLToPath(new URL("../fixtures/kernels/", import.meta.url));
export const FIXTURE_RELEASES = ["6.1.0-50-amd64", "6.1.0-50-cloud-amd64", "6.12.100+deb12-amd64"] as const;
export type FixtureRelease = (typeof FIXTURE_RELEASES)[number];
export const DEFAULT_RELEASE: FixtureRelease = "6.1.0-50-amd64";

export interface FakeMount {
  source: string;
  target: string;
  fstype: string;
  options?: string;
}

export interface FakeRootSpec {
  kernel?: FixtureRelease | null;
  osrelease?: string;
  running?: boolean;
  moduleSupport?: boolean;
  autoload?: boolean;
  loaded?: string[];
  registered?: string[];
  mounts?: FakeMount[];
  fstab?: string;
  mountUnits?: Record<string, string>;
  cmdline?: string;
  files?: Record<string, string>;
  kmodVersion?: string;
}

export interface FakeRoot {
  dir: string;
  release: string | null;
  cleanup(): void;
}

const VIRTUAL_FILESYSTEMS = ["sysfs", "tmpfs", "bdev", "proc", "cgroup", "cgroup2", "cpuset", "devtmpfs", "securityfs", "sockfs", "bpf", "pipefs", "ramfs", "hugetlbfs", "devpts", "mqueue", "pstore"];
/** Built-in types that need a block device (the rest of the built-ins are nodev). */
const BLOCK_FILESYSTEMS = new Set(["ext2", "ext3", "ext4", "xfs", "btrfs", "vfat", "msdos", "iso9660", "fuseblk", "squashfs"]);

const BASE_MOUNTS: FakeMount[] = [
  { source: "sysfs", target: "/sys", fstype: "sysfs", options: "rw,nosuid,nodev,noexec,relatime" },
  { source: "proc", target: "/proc", fstype: "proc", options: "rw,nosuid,nodev,noexec,relatime" },
  { source: "udev", target: "/dev", fstype: "devtmpfs", options: "rw,nosuid,relatime,size=4000000k,mode=755" },
  { source: "tmpfs", target: "/run", fstype: "tmpfs", options: "rw,nosuid,nodev,noexec,relatime,size=800000k,mode=755" },
];

export function createFakeRoot(spec: FakeRootSpec = {}): FakeRoot {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-root-"));
  const write = (rel: string, content: string): void => {
    const target = path.join(dir, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.writeFileSync(target, content);
  };
  try {
    const release = spec.kernel === undefined ? DEFAULT_RELEASE : spec.kernel;
    const builtinTypes = release === null ? [] : installKernel(dir, release);
    const osrelease = spec.osrelease ?? release ?? DEFAULT_RELEASE;

    if (spec.running !== false) {
      const moduleSupport = spec.moduleSupport !== false;
      write("proc/sys/kernel/osrelease", `${osrelease}\n`);
      write("proc/cmdline", `${spec.cmdline ?? `BOOT_IMAGE=/boot/vmlinuz-${osrelease} root=/dev/vda1 ro quiet`}\n`);
      write("proc/filesystems", renderFilesystems([...builtinTypes, ...(spec.registered ?? [])]));
      write("proc/self/mountinfo", renderMountinfo([...BASE_MOUNTS, ...(spec.mounts ?? [{ source: "/dev/vda1", target: "/", fstype: "ext4" }])]));
      if (moduleSupport) {
        write("proc/sys/kernel/modprobe", spec.autoload === false ? "\n" : "/sbin/modprobe\n");
        write("proc/modules", (spec.loaded ?? []).map((m) => `${m} 45056 0 - Live 0x0000000000000000\n`).join(""));
        fs.mkdirSync(path.join(dir, "sys/module"), { recursive: true });
        for (const m of spec.loaded ?? []) write(`sys/module/${m}/initstate`, "live\n");
      }
    }
    if (spec.fstab !== undefined) write("etc/fstab", spec.fstab);
    for (const [name, content] of Object.entries(spec.mountUnits ?? {})) write(`etc/systemd/system/${name}`, content);
    if (spec.kmodVersion !== undefined) {
      write(
        "var/lib/dpkg/status",
        `Package: kmod\nStatus: install ok installed\nPriority: important\nArchitecture: amd64\nVersion: ${spec.kmodVersion}\nDescription: tools for managing Linux kernel modules\n\n`,
      );
    }
    for (const [rel, content] of Object.entries(spec.files ?? {})) write(rel, content);
    return { dir, release, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
  } catch (error) {
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/**
 * Installs one more kernel in a fake root: a fixture's metadata under
 * lib/modules/<as> (default its own release; another name stands for a kernel
 * that is not in the fixtures, e.g. a future one).
 */
export function addKernel(rootDir: string, release: FixtureRelease, as: string = release): void {
  installKernel(rootDir, release, as);
}

/** Copies a fixture release with placeholder modules; returns its built-in filesystem types. */
function installKernel(dir: string, release: FixtureRelease, as: string = release): string[] {
  const source = path.join(FIXTURE_KERNELS_DIR, release);
  const target = path.join(dir, "lib/modules", as);
  fs.mkdirSync(target, { recursive: true });
  for (const name of fs.readdirSync(source)) {
    if (name.startsWith("modules.")) fs.copyFileSync(path.join(source, name), path.join(target, name));
  }
  // Each module once (modules.dep names a module again for every module that
  // needs it) and each directory once: the tests make hundreds of roots.
  const modules = new Set<string>();
  for (const line of fs.readFileSync(path.join(source, "modules.dep"), "utf8").split("\n")) {
    for (const word of line.split(/[:\s]+/)) if (word !== "") modules.add(word);
  }
  for (const dir of new Set([...modules].map((m) => path.dirname(m)))) fs.mkdirSync(path.join(target, dir), { recursive: true });
  for (const m of modules) fs.closeSync(fs.openSync(path.join(target, m), "w"));
  const modinfo = fs.readFileSync(path.join(source, "modules.builtin.modinfo"), "latin1");
  return modinfo
    .split("\0")
    .map((field) => /^[^.]+\.alias=fs-(.+)$/.exec(field)?.[1])
    .filter((type): type is string => type !== undefined);
}

function renderFilesystems(extra: readonly string[]): string {
  const seen = new Set<string>();
  let out = "";
  for (const type of [...VIRTUAL_FILESYSTEMS, ...extra]) {
    if (seen.has(type)) continue;
    seen.add(type);
    out += `${BLOCK_FILESYSTEMS.has(type) ? "" : "nodev"}\t${type}\n`;
  }
  return out;
}

/** The kernel's mangling of mountinfo fields: space, tab, newline and backslash as octal. */
function mangleMountField(value: string): string {
  return value.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, "0")}`);
}

function renderMountinfo(mounts: readonly FakeMount[]): string {
  const rootIndex = mounts.findIndex((m) => m.target === "/");
  return mounts
    .map((m, i) => {
      const id = 20 + i;
      const parent = m.target === "/" || rootIndex < 0 ? 1 : 20 + rootIndex;
      const options = m.options ?? "rw,relatime";
      const [mountOpts, superOpts] = [options.split(",").slice(0, 2).join(","), options];
      return `${id} ${parent} 0:${id} / ${mangleMountField(m.target)} ${mountOpts} shared:${id} - ${m.fstype} ${mangleMountField(m.source)} ${superOpts}\n`;
    })
    .join("");
}
