// Where a filesystem module that is missing for the running kernel usually comes
// from. Distributions split their kernels' modules over several packages, and a
// rarely used filesystem is the first thing left out of the small one:
//
// - Debian: every module Debian builds is in linux-image-<release>, but the
//   "cloud" flavour is built without most filesystems (see the kernel
//   fixtures: 6.1.0-50-cloud-amd64 has no minix, jfs, f2fs, hfs, ufs, reiserfs),
//   so the fix is the generic flavour, linux-image-<arch>. Some filesystems
//   (cramfs) are not built in any Debian flavour: no package ships them.
// - Ubuntu: linux-modules-<release> holds the common modules and
//   linux-modules-extra-<release> the rest, rare filesystems included.
// - Fedora and RHEL-likes: kernel-modules-core / kernel-modules hold the usual
//   modules and kernel-modules-extra the rare ones (the kernel package's
//   mod-extra.list lists e.g. affs, befs, sysv, ufs, ocfs2, gfs2 there).
// - openSUSE and SLE: kernel-<flavour> holds the supported modules,
//   kernel-<flavour>-optional (Leap 15.3 and later, Tumbleweed) the optional
//   ones and kernel-<flavour>-extra the unsupported ones.
// - Arch: all modules are in the kernel package itself.

export type Family = "debian" | "ubuntu" | "fedora" | "rhel" | "suse" | "arch";

export interface OsRelease {
  id: string | null;
  idLike: string[];
  prettyName: string | null;
}

export interface PackageHint {
  family: Family | null;
  /** The package that usually ships the module, null when none does. */
  packageName: string | null;
  /** The command that installs it, ready to paste. */
  command: string | null;
  /** One sentence for the admin. */
  note: string;
}

/** etc/os-release (KEY=value, optionally quoted). */
export function parseOsRelease(text: string): OsRelease {
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^([A-Z_]+)=(.*)$/.exec(line.trim());
    if (!match) continue;
    fields.set(match[1]!, match[2]!.replace(/^(["'])(.*)\1$/, "$2"));
  }
  return {
    id: fields.get("ID") ?? null,
    idLike: (fields.get("ID_LIKE") ?? "").split(/\s+/).filter(Boolean),
    prettyName: fields.get("PRETTY_NAME") ?? null,
  };
}

/** The distribution family, from os-release first and the kernel release's shape second. */
export function familyOf(os: OsRelease | null, release: string | null): Family | null {
  const ids = os === null ? [] : [os.id ?? "", ...os.idLike];
  if (ids.includes("ubuntu")) return "ubuntu";
  if (ids.includes("debian")) return "debian";
  if (ids.includes("fedora") && !ids.some((id) => ["rhel", "centos"].includes(id))) return "fedora";
  if (ids.some((id) => ["rhel", "centos", "rocky", "almalinux"].includes(id))) return "rhel";
  if (ids.some((id) => id === "suse" || id.startsWith("opensuse") || id === "sles")) return "suse";
  if (ids.includes("arch")) return "arch";
  if (release === null) return null;
  if (/-(generic|lowlatency|aws|azure|gcp|kvm|oracle)(-\d+k)?$/.test(release)) return "ubuntu";
  if (/\.fc\d+\./.test(release)) return "fedora";
  if (/\.el\d+/.test(release)) return "rhel";
  if (/-(default|azure|rt|64kb)$/.test(release) && /^\d+\.\d+\.\d+-\d/.test(release)) return "suse";
  if (/-(cloud-)?(amd64|arm64|armmp|i386|686(-pae)?|ppc64el|s390x|riscv64)$/.test(release)) return "debian";
  if (/-arch\d/.test(release)) return "arch";
  return null;
}

/** The package that usually ships `module` for `release` on this system. */
export function packageHint(module: string, release: string, os: OsRelease | null): PackageHint {
  const family = familyOf(os, release);
  switch (family) {
    case "debian": {
      const cloud = /-cloud-([a-z0-9]+)$/.exec(release);
      if (cloud) {
        const packageName = `linux-image-${cloud[1]}`;
        return {
          family,
          packageName,
          command: `apt install ${packageName}`,
          note: `Debian's cloud kernel (${release}) is built without ${module}; the generic kernel ${packageName} has it (reboot into it afterwards)`,
        };
      }
      return {
        family,
        packageName: null,
        command: null,
        note: `Debian's kernel ${release} is built without ${module}, and no Debian kernel package ships it`,
      };
    }
    case "ubuntu": {
      const packageName = `linux-modules-extra-${release}`;
      return { family, packageName, command: `apt install ${packageName}`, note: `Ubuntu ships rarely used filesystem modules such as ${module} in ${packageName}` };
    }
    case "fedora":
    case "rhel": {
      const packageName = `kernel-modules-extra-${release}`;
      return {
        family,
        packageName,
        command: `dnf install ${packageName}`,
        note: `${family === "fedora" ? "Fedora" : "RHEL and its rebuilds"} ship rarely used filesystem modules in kernel-modules-extra`,
      };
    }
    case "suse": {
      const flavour = /-([a-z0-9]+)$/.exec(release)?.[1] ?? "default";
      return {
        family,
        packageName: `kernel-${flavour}-optional`,
        command: `zypper install kernel-${flavour}-optional kernel-${flavour}-extra`,
        note: `openSUSE ships optional modules in kernel-${flavour}-optional and unsupported ones in kernel-${flavour}-extra (reboot if the installed kernel is newer than ${release})`,
      };
    }
    case "arch":
      return {
        family,
        packageName: null,
        command: null,
        note: `Arch ships every module with the kernel package; a module missing for ${release} usually means the kernel was upgraded and the system not rebooted yet`,
      };
    case null:
      return {
        family,
        packageName: null,
        command: null,
        note: `look for your distribution's "extra kernel modules" package for ${release} (Debian: linux-image-<arch>; Ubuntu: linux-modules-extra; Fedora: kernel-modules-extra; openSUSE: kernel-default-optional)`,
      };
  }
}
