// Other drivers for a filesystem the judged kernel has no driver for under the
// name mount asks for. blkid reports TYPE=ntfs for every NTFS volume, and since
// 6.9 Linux has no `ntfs` module: the kernel's ntfs3 driver (mount -t ntfs3)
// and ntfs-3g (FUSE, a userspace package) read the same volumes. Telling such a
// user to boot another kernel is wrong advice. Pure: whether the kernel's
// driver loads, and the plan that makes it load, are checked by the caller with
// the kmod simulator (decide/fix-plan.ts) and handed in.

import { familyOf, type OsRelease } from "./module-packages.ts";

/** What the judged kernel does with `fs-<type>` of another kernel driver, as simulated. */
export interface KernelDriverCheck {
  /** The kernel has a driver for the type (a module for this release, or built in). */
  present: boolean;
  /** kmod loads it for fs-<type> as things are. */
  loads: boolean;
  /** Commands after which kmod loads it (verified by the simulator), or null when no plan can be verified. */
  plan: string[] | null;
  /** What stands in the way when there is no verified plan. */
  stuck: string[];
}

export interface OtherDriver {
  /** The type to mount with (`mount -t DRIVER`). */
  driver: string;
  kind: "kernel" | "fuse";
  /** The mount command to use instead. */
  mount: string;
  /** For a kernel driver: kmod loads it now, or after `fix`. For FUSE: once the package is installed. */
  usable: boolean;
  /** Commands to run first, in order (verified for a kernel driver; the package install for FUSE). */
  fix: string[];
  /** The package that ships a FUSE driver. */
  package: string | null;
  /** One sentence for the administrator. */
  note: string;
}

interface Rule {
  /** Kernel filesystem types that read the same volumes, best first. */
  kernel: string[];
  /** FUSE drivers: the mount type and the package of the same name on the distributions we know. */
  fuse: { driver: string; package: string }[];
}

const RULES: Readonly<Record<string, Rule>> = {
  ntfs: { kernel: ["ntfs3"], fuse: [{ driver: "ntfs-3g", package: "ntfs-3g" }] },
  ntfs3: { kernel: [], fuse: [{ driver: "ntfs-3g", package: "ntfs-3g" }] },
};

/** The kernel types whose drivers the caller must check for `type` (empty: no rule). */
export function otherKernelTypes(type: string): string[] {
  return RULES[type]?.kernel ?? [];
}

/** Every other driver for `type`, the kernel's first; checks holds the caller's simulation of each kernel type. */
export function otherDrivers(type: string, checks: ReadonlyMap<string, KernelDriverCheck>, os: OsRelease | null, release: string | null): OtherDriver[] {
  const rule = RULES[type];
  if (rule === undefined) return [];
  const drivers: OtherDriver[] = [];
  for (const driver of rule.kernel) {
    const check = checks.get(driver);
    if (check === undefined || !check.present) continue;
    const mount = `mount -t ${driver} DEVICE DIR`;
    if (check.loads) {
      drivers.push({ driver, kind: "kernel", mount, usable: true, fix: [], package: null, note: `reads ${type} volumes, and kmod loads it as things are` });
    } else if (check.plan !== null) {
      drivers.push({
        driver,
        kind: "kernel",
        mount,
        usable: true,
        fix: check.plan,
        package: null,
        note: `reads ${type} volumes; blocked here, and kmod loads it after ${check.plan.join(" && ")} (simulated)`,
      });
    } else {
      drivers.push({
        driver,
        kind: "kernel",
        mount,
        usable: false,
        fix: [],
        package: null,
        note: `reads ${type} volumes, but no change fsblacklist can stand behind makes kmod load it (${check.stuck.join("; ") || "blocked"})`,
      });
    }
  }
  for (const fuse of rule.fuse) {
    const install = installCommand(fuse.package, os, release);
    drivers.push({
      driver: fuse.driver,
      kind: "fuse",
      mount: `mount -t ${fuse.driver} DEVICE DIR`,
      usable: true,
      fix: install === null ? [] : [install],
      package: fuse.package,
      note: `reads ${type} volumes in userspace, whatever blacklists the kernel's drivers`,
    });
  }
  return drivers;
}

function installCommand(pkg: string, os: OsRelease | null, release: string | null): string | null {
  switch (familyOf(os, release)) {
    case "debian":
    case "ubuntu":
      return `apt install ${pkg}`;
    case "fedora":
    case "rhel":
      return `dnf install ${pkg}`;
    case "suse":
      return `zypper install ${pkg}`;
    case "arch":
      return `pacman -S ${pkg}`;
    default:
      return null;
  }
}
