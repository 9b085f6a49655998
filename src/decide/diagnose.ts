// Why a mount of one filesystem type fails (or would fail) on this system, and
// the one command that fixes it. Pure: the facts are gathered by
// services/explain.ts.
//
// When several causes apply, the one reported is the one that stops the mount
// first, following what happens on `mount -t T`:
//
//   1. unknown-filesystem   no type at all (blkid found no filesystem), or a
//                           name no Linux kernel knows
//   2. not-blocked          T is registered (proc/filesystems) or built in: no
//                           module is needed, so nothing module-related can stop it
//   3. no-module-support    the kernel cannot load modules at all
//   4. removed-from-kernel  no module for T, and the policy says T left the
//                           kernel before this release
//   5. module-missing       no module provides fs-T for this release
//   6. autoload-disabled    the kernel does not run modprobe on demand
//                           (proc/sys/kernel/modprobe is empty)
//   7. cmdline-blacklisted  modprobe.blacklist= on the kernel command line: kmod
//                           refuses the fs-T alias (before any file's blacklist,
//                           because `fsblacklist allow` cannot lift it)
//   8. blacklisted          a modprobe.d `blacklist` line: kmod refuses the alias
//   9. install-blocked      an `install` line for the module runs instead of loading it
//  10. dependency-blocked   an `install` line for a module it depends on fails
//  11. cmdline-blacklisted  module_blacklist= : kmod runs, the kernel refuses to load
//  12. not-blocked          nothing here stops it; the mount error means something else

import coerce from "semver/functions/coerce.js";
import satisfies from "semver/functions/satisfies.js";
import validRange from "semver/ranges/valid.js";
import { failsBeforeDriver, usualMeaning, type MountMessage } from "./mount-message.ts";
import { familyOf, packageHint, type OsRelease } from "./module-packages.ts";
import type { OtherDriver } from "./other-drivers.ts";

export type Cause =
  | "blacklisted"
  | "install-blocked"
  | "dependency-blocked"
  | "cmdline-blacklisted"
  | "module-missing"
  | "no-module-support"
  | "autoload-disabled"
  | "removed-from-kernel"
  | "unknown-filesystem"
  | "not-blocked";

/** A configuration line that takes part: where it is and what it says. */
export interface ConfigLine {
  /** Root-relative "file:line", or "proc/cmdline". */
  where: string;
  text: string;
}

/** What kmod and the kernel do with the kernel's `modprobe -q -- fs-T`. */
export type ModprobeOutcome =
  | { kind: "loads"; module: string }
  /** Built into the kernel or already live: nothing to load, nothing to block. */
  | { kind: "in-kernel"; module: string; builtin: boolean }
  /** Nothing provides fs-T. */
  | { kind: "no-module" }
  /** fs-T resolves to a module whose file (or a dependency's) is not installed. */
  | { kind: "module-missing"; module: string; missing: string }
  /** Every module the alias resolves to is blacklisted. */
  | { kind: "blacklisted"; module: string; lines: ConfigLine[] }
  /** The module's `install` command runs and does not load it. */
  | { kind: "install-blocked"; module: string; line: ConfigLine }
  /** A dependency's `install` command fails, so the module cannot load. */
  | { kind: "dependency-blocked"; module: string; dependency: string; line: ConfigLine }
  /** module_blacklist= : the kernel refuses to load the module or a dependency. */
  | { kind: "kernel-blacklisted"; module: string; refused: string };

/** Why blkid gave no filesystem type. */
export type Unrecognised = { kind: "no-signature"; path: string } | { kind: "partition-table"; path: string; ptType: string };

export interface DiagnoseFacts {
  /** The type mount asks the kernel for; null when it could not be determined. */
  fstype: string | null;
  /** Set when fstype is null because blkid found nothing usable. */
  unrecognised: Unrecognised | null;
  /** blkid's USAGE for the type when it is not "filesystem" (crypto, raid, other). */
  usage: string | null;
  release: string | null;
  /** A running kernel's proc/ is visible. Without it only the configuration is judged. */
  running: boolean;
  moduleSupport: boolean;
  autoload: boolean;
  /** fstype is in proc/filesystems. */
  registered: boolean;
  /** lib/modules/<release>/modules.dep exists. */
  moduleIndex: boolean;
  modprobe: ModprobeOutcome;
  /** module_blacklist= names from the kernel command line. */
  kernelBlacklist: string[];
  /** The shipped policy's entry for the type, if any. */
  policy: { name: string; module: string; kernels: string | null; reason: string } | null;
  /** Some Linux kernel has (or had) a filesystem of this name. */
  knownType: boolean;
  /** What `fsblacklist allow <fs>` would do about the blacklist: lift it, or why it cannot. */
  allow: { lifts: true } | { lifts: false; reason: string };
  /** The file that carries a blocking `install` line is ours (an override `block`). */
  installLineIsOurs: boolean;
  message: MountMessage | null;
  os: OsRelease | null;
  /** Other installed kernels that have the filesystem (a module or built in, inside the policy's range). */
  otherKernels?: readonly { release: string; how: "module" | "built in" }[];
  /** Other drivers for the same volumes (ntfs3 and ntfs-3g for ntfs), checked by the caller (decide/other-drivers.ts). */
  otherDrivers?: readonly OtherDriver[];
}

export interface Diagnosis {
  fstype: string | null;
  module: string | null;
  cause: Cause;
  /** The cause in plain words: the first line a tired admin reads. */
  summary: string;
  evidence: string[];
  /** Commands to paste, in order. Empty when no command fixes it. */
  fix: string[];
  /** A one-time way out for this boot only, when there is one. */
  once: string | null;
  /** What to do, in words, when a command alone does not say it. */
  advice: string | null;
}

/** Known Linux filesystem type names: the fs-* aliases of Debian's 6.1 and 6.12 kernels, and types removed since. */
const KNOWN_TYPES = new Set(
  (
    "adfs affs afs autofs befs bfs binfmt_misc btrfs bcachefs ceph cifs coda configfs cramfs ecryptfs efivarfs efs erofs " +
    "exfat ext2 ext3 ext4 f2fs fuse fuseblk fusectl gfs2 gfs2meta hfs hfsplus hpfs iso9660 jffs2 jfs minix msdos nfs " +
    "nfs4 nfsd nilfs2 ntfs ntfs3 ocfs2 ocfs2_dlmfs omfs overlay qnx4 qnx6 reiserfs romfs smb3 squashfs sysv ubifs udf " +
    "ufs v7 vboxsf vfat virtiofs vxfs xenfs xfs zonefs 9p orangefs pstore tmpfs"
  ).split(" "),
);

export function diagnose(facts: DiagnoseFacts): Diagnosis {
  const diagnosis = decide(facts);
  const fromMessage = messageNote(facts, diagnosis);
  if (fromMessage !== null) diagnosis.evidence.push(fromMessage);
  return diagnosis;
}

function decide(facts: DiagnoseFacts): Diagnosis {
  const { fstype, release, modprobe } = facts;
  const kernel = release ?? "the installed kernel";
  if (fstype === null) return unrecognised(facts);
  if (facts.usage !== null && facts.usage !== "filesystem") return notAFilesystem(fstype, facts.usage);

  const base = { fstype, module: moduleOf(facts) };

  if (facts.running && facts.registered) {
    return notBlocked(facts, base, [`proc/filesystems lists ${fstype}: its driver is in the kernel now, no module has to be loaded`]);
  }
  if (modprobe.kind === "in-kernel") {
    return notBlocked(facts, base, [
      modprobe.builtin
        ? `${fstype} is built into ${kernel} (${modprobe.module} in modules.builtin): a blacklist cannot stop it`
        : `${modprobe.module} is loaded already (proc/modules): nothing has to be loaded`,
    ]);
  }
  if (facts.running && !facts.moduleSupport) {
    return {
      ...base,
      cause: "no-module-support",
      summary: `This kernel (${kernel}) cannot load modules, and ${fstype} is not built into it.`,
      evidence: [`proc/modules does not exist: ${kernel} was built without loadable module support`, `proc/filesystems does not list ${fstype}: the kernel has no driver for it`],
      fix: [],
      once: null,
      advice: `No command on this system can add ${fstype}: boot a kernel that has ${fstype} built in or can load modules (most distribution kernels can).`,
    };
  }
  if (modprobe.kind === "no-module" || modprobe.kind === "module-missing") return missing(facts, fstype, base.module);

  const loading = modprobe.module;
  if (facts.running && !facts.autoload) {
    return {
      ...base,
      cause: "autoload-disabled",
      summary: `The kernel does not load modules on demand here, so mount cannot pull in ${loading}.`,
      evidence: ["proc/sys/kernel/modprobe is empty: the kernel never asks modprobe for a module"],
      fix: [`modprobe ${loading}`],
      once: null,
      advice: `Load it before mounting; to load it at every boot: echo ${loading} > /etc/modules-load.d/${loading}.conf`,
    };
  }

  switch (modprobe.kind) {
    case "blacklisted":
      return blacklisted(facts, base, loading, modprobe.lines);
    case "install-blocked":
      return {
        ...base,
        cause: "install-blocked",
        summary: `An install line makes modprobe run a command instead of loading ${loading}.`,
        evidence: [`${modprobe.line.where}: ${modprobe.line.text}`],
        fix: facts.installLineIsOurs ? [`fsblacklist allow ${fsName(facts, loading)}`] : [commentOut(modprobe.line)],
        once: `modprobe --ignore-install ${loading}`,
        advice: facts.installLineIsOurs ? null : `That line is not fsblacklist's: the command above comments it out.`,
      };
    case "dependency-blocked":
      return {
        ...base,
        cause: "dependency-blocked",
        summary: `${loading} needs ${modprobe.dependency}, and an install line stops ${modprobe.dependency} from loading.`,
        evidence: [`${loading} depends on ${modprobe.dependency} (lib/modules/${release ?? "<release>"}/modules.dep)`, `${modprobe.line.where}: ${modprobe.line.text}`],
        fix: facts.installLineIsOurs ? [`fsblacklist allow ${modprobe.dependency}`] : [commentOut(modprobe.line)],
        once: `modprobe --ignore-install ${loading}`,
        advice: null,
      };
    case "kernel-blacklisted": {
      const token = `module_blacklist=${facts.kernelBlacklist.join(",")}`;
      return {
        ...base,
        cause: "cmdline-blacklisted",
        summary: `The kernel command line forbids loading ${modprobe.refused}, by any route.`,
        evidence: [`proc/cmdline: ${token}`, ...(modprobe.refused === loading ? [] : [`${loading} depends on ${modprobe.refused}`])],
        fix: bootLoaderFix(facts, token, modprobe.refused),
        once: null,
        advice: `Remove ${modprobe.refused} from ${token} in the boot loader's kernel command line and reboot; the kernel refuses it until then.`,
      };
    }
    case "loads":
      return notBlocked(facts, base, [`kmod loads ${loading} for fs-${fstype}: no blacklist or install line stops it`]);
  }
}

function missing(facts: DiagnoseFacts, fstype: string, module: string | null): Diagnosis {
  const diagnosis = missingHere(facts, fstype, module);
  // Another driver on this very kernel (ntfs3 for ntfs) beats rebooting into another kernel.
  const drivers = (facts.otherDrivers ?? []).filter((d) => d.usable);
  if (drivers.length > 0 && diagnosis.cause !== "unknown-filesystem") {
    const how = drivers.map((d) => `${d.kind === "kernel" ? `this kernel's ${d.driver}` : `${d.driver} (FUSE)`}: ${[...d.fix, d.mount].join(", then ")}`);
    return {
      ...diagnosis,
      summary: `${diagnosis.summary} Another driver reads it: ${drivers.map((d) => `mount -t ${d.driver}`).join(" or ")}.`,
      fix: diagnosis.cause === "removed-from-kernel" ? [] : diagnosis.fix,
      advice: `Mount it with another driver: ${how.join("; or ")}.`,
    };
  }
  const others = facts.otherKernels ?? [];
  if (others.length === 0 || diagnosis.cause === "unknown-filesystem") return diagnosis;
  const named = others.map((k) => `${k.release} (${k.how})`).join(", ");
  return {
    ...diagnosis,
    evidence: [...diagnosis.evidence, `${fstype} works on ${others.length === 1 ? "another installed kernel" : "other installed kernels"}: ${named}`],
    advice: `${diagnosis.advice === null ? "" : `${diagnosis.advice} `}${diagnosis.advice !== null || diagnosis.fix.length > 0 ? "Or boot" : "Boot"} ${others.length === 1 ? "the installed kernel" : "one of the installed kernels"} ${others.map((k) => k.release).join(", ")}, where ${fstype} works.`,
  };
}

function missingHere(facts: DiagnoseFacts, fstype: string, module: string | null): Diagnosis {
  const { release, modprobe } = facts;
  const kernel = release ?? "the installed kernel";
  const moduleDir = `lib/modules/${release ?? "<release>"}`;
  const evidence = !facts.moduleIndex
    ? [`${moduleDir}/modules.dep does not exist: no modules are installed for ${kernel}`]
    : modprobe.kind === "module-missing"
      ? [`fs-${fstype} resolves to ${modprobe.module}, but ${moduleDir} has no ${modprobe.missing} module file`]
      : [`no module provides fs-${fstype} in ${moduleDir}/modules.alias, and it is not built in`];
  const base = { fstype, module };
  const removed = removedBefore(facts.policy, release);
  if (removed !== null) {
    return {
      ...base,
      cause: "removed-from-kernel",
      summary: `${fstype} was removed from Linux before ${release}: this kernel has no driver for it.`,
      evidence: [...evidence, `the policy lists ${facts.policy!.module} for kernels ${removed} only (${facts.policy!.reason})`],
      fix: [],
      once: null,
      advice: `Boot a kernel in the range ${removed} to read this filesystem, and copy the data to a filesystem this kernel supports.`,
    };
  }
  if (!facts.knownType && facts.policy === null) {
    return {
      ...base,
      module: null,
      cause: "unknown-filesystem",
      summary: `No Linux kernel knows a filesystem type called "${fstype}".`,
      evidence,
      fix: [],
      once: null,
      advice: `Check the type name (blkid shows what is on the device), or install the userspace driver if it is a FUSE filesystem (mount -t fuse.${fstype}).`,
    };
  }
  if (!facts.moduleIndex) {
    return {
      ...base,
      cause: "module-missing",
      summary: `No kernel modules are installed for the running kernel ${kernel}, so ${fstype} cannot be loaded.`,
      evidence,
      fix: [],
      once: null,
      advice: `This usually means the kernel was updated and the old one is still running: reboot into the new kernel.`,
    };
  }
  const hint = packageHint(module ?? fstype, release ?? "", facts.os);
  return {
    ...base,
    cause: "module-missing",
    summary: `${kernel} has no ${module ?? fstype} module: it is not installed.`,
    evidence: [...evidence, hint.note],
    fix: hint.command === null ? [] : [hint.command],
    once: null,
    advice: hint.command === null ? hint.note : null,
  };
}

function blacklisted(facts: DiagnoseFacts, base: { fstype: string; module: string | null }, module: string, lines: ConfigLine[]): Diagnosis {
  const evidence = lines.map((l) => `${l.where}: ${l.text}`);
  const onCmdline = lines.filter((l) => l.where.startsWith("proc/cmdline"));
  const inFiles = lines.filter((l) => !l.where.startsWith("proc/cmdline"));
  if (onCmdline.length > 0) {
    const token = onCmdline[0]!.text;
    return {
      ...base,
      module,
      cause: "cmdline-blacklisted",
      summary: `${module} is blacklisted on the kernel command line, so the kernel cannot load it when you mount.`,
      evidence,
      fix: [...bootLoaderFix(facts, token, module), ...(inFiles.length > 0 ? fileBlacklistFix(facts, module, inFiles) : [])],
      once: `modprobe ${module}`,
      advice: `Remove ${module} from ${token} in the boot loader's kernel command line; until the next boot, the one-time command loads it.`,
    };
  }
  const fix = fileBlacklistFix(facts, module, inFiles);
  // The reason is worth reading before lifting our own blacklist.
  if (facts.allow.lifts && facts.policy !== null && facts.policy.module === module) evidence.push(`fsblacklist's policy blacklists ${module} because: ${facts.policy.reason}`);
  return {
    ...base,
    module,
    cause: "blacklisted",
    summary: `${module} is blacklisted, so the kernel cannot load it when you mount.`,
    evidence,
    fix,
    once: `modprobe ${module}`,
    advice: facts.allow.lifts ? null : facts.allow.reason,
  };
}

function fileBlacklistFix(facts: DiagnoseFacts, module: string, lines: ConfigLine[]): string[] {
  if (facts.allow.lifts) return [`fsblacklist allow ${fsName(facts, module)}`];
  return lines.map(commentOut);
}

function notBlocked(facts: DiagnoseFacts, base: { fstype: string; module: string | null }, evidence: string[]): Diagnosis {
  const message = facts.message;
  const meaning = message === null ? null : usualMeaning(message);
  const notRegistered = facts.running && !facts.registered && facts.modprobe.kind === "loads";
  return {
    ...base,
    cause: "not-blocked",
    summary:
      message === null
        ? `Nothing on this system stops ${base.fstype}: a mount of it does not fail because of its module.`
        : `Nothing on this system stops ${base.fstype}; the mount failed for another reason.`,
    evidence,
    fix: message?.kind === "unknown-filesystem-type" && notRegistered ? [`modprobe ${base.module}`] : [],
    once: null,
    advice:
      meaning !== null
        ? `mount's "${message!.line}" usually means: ${meaning}.`
        : `If mount fails anyway, its message says why: run fsblacklist explain --message '<what mount printed>', and look at dmesg.`,
  };
}

function unrecognised(facts: DiagnoseFacts): Diagnosis {
  const what = facts.unrecognised;
  const base = { fstype: null, module: null, cause: "unknown-filesystem" as const, fix: [] as string[], once: null };
  if (what?.kind === "partition-table") {
    return {
      ...base,
      summary: `${what.path} is a whole disk with a ${what.ptType} partition table, not a filesystem.`,
      evidence: [`blkid -p ${what.path}: PTTYPE=${what.ptType}, no filesystem signature`],
      advice: `Mount one of its partitions: losetup -P -f --show ${shellQuote(what.path)} lists them as /dev/loopNpM (or lsblk for a disk).`,
    };
  }
  const path = what?.path ?? "the device";
  return {
    ...base,
    summary: `blkid finds no filesystem on ${path}: it is empty, damaged, encrypted without a header, or not a filesystem at all.`,
    evidence: [`blkid -p ${path}: no known signature (exit status 2)`],
    advice: `If you know the type, name it: fsblacklist explain --type TYPE. For a damaged filesystem, the filesystem's own fsck may recover it.`,
  };
}

function notAFilesystem(fstype: string, usage: string): Diagnosis {
  const advice: Record<string, string> = {
    crypto: "Open the encrypted container first (cryptsetup open DEVICE NAME), then mount /dev/mapper/NAME.",
    raid: "It is a member of a RAID or volume group: assemble it (mdadm --assemble, vgchange -ay) and mount the resulting device.",
    other: fstype === "swap" ? "It is a swap area: enable it with swapon, it cannot be mounted." : "It is not a mountable filesystem.",
  };
  return {
    fstype,
    module: null,
    cause: "unknown-filesystem",
    summary: `${fstype} is not a filesystem that can be mounted (blkid: USAGE=${usage}).`,
    evidence: [`blkid: TYPE=${fstype} USAGE=${usage}`],
    fix: [],
    once: null,
    advice: advice[usage] ?? "It is not a mountable filesystem.",
  };
}

/** A mount error that happens before the driver is asked is worth fixing first. */
function messageNote(facts: DiagnoseFacts, diagnosis: Diagnosis): string | null {
  const message = facts.message;
  if (message === null || diagnosis.cause === "not-blocked") return null;
  if (failsBeforeDriver(message.kind)) {
    return `mount stopped earlier than the module: "${message.line}" (${usualMeaning(message)}); fix that first`;
  }
  if (message.kind === "unknown-filesystem-type") return `mount said: "${message.line}"`;
  return null;
}

function moduleOf(facts: DiagnoseFacts): string | null {
  return facts.modprobe.kind === "no-module" ? (facts.policy?.module ?? null) : facts.modprobe.module;
}

/** The name to give `fsblacklist allow`: the type when the policy lists it, else the module. */
function fsName(facts: DiagnoseFacts, module: string): string {
  return facts.policy !== null && facts.policy.module === module ? facts.policy.name : module;
}

/** The policy's kernel range when this release falls outside it, else null. */
function removedBefore(policy: DiagnoseFacts["policy"], release: string | null): string | null {
  if (policy === null || policy.kernels === null || release === null) return null;
  const version = coerce(release);
  if (version === null || !validRange(policy.kernels)) return null;
  return satisfies(version, policy.kernels) ? null : policy.kernels;
}

/** A command that comments out exactly that line (kmod ignores lines starting with '#'). */
function commentOut(line: ConfigLine): string {
  const match = /^(.*):(\d+)$/.exec(line.where);
  if (!match) return `edit ${line.where}`;
  return `sed -i '${match[2]}s/^/# /' ${quoteShownPath("/" + match[1]!)}`;
}

/**
 * A file name as fsblacklist shows it, quoted for bash. A name that is not
 * UTF-8 is shown with `\xNN` for its odd bytes and `\\` for a backslash
 * (system/root-fs.ts nameAsText): exactly bash's escapes in `$'...'`, so the
 * command names the very bytes of the file.
 */
function quoteShownPath(shown: string): string {
  return shown.includes("\\") ? `$'${shown.replaceAll("'", "\\'")}'` : shellQuote(shown);
}

/** Removing a command-line token, with the boot loader tool of the distribution when there is one. */
function bootLoaderFix(facts: DiagnoseFacts, token: string, module: string): string[] {
  const [key, value = ""] = token.split("=", 2);
  const rest = value.split(",").filter((m) => m !== module && m !== "");
  const family = familyOf(facts.os, facts.release);
  if (family === "fedora" || family === "rhel") {
    return [rest.length === 0 ? `grubby --update-kernel=ALL --remove-args=${shellQuote(token)}` : `grubby --update-kernel=ALL --args=${shellQuote(`${key}=${rest.join(",")}`)}`];
  }
  return [];
}

export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=,+-]+$/.test(value) ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

export function isKnownType(fstype: string): boolean {
  return KNOWN_TYPES.has(fstype);
}
