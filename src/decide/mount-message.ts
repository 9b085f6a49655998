// What a failed `mount` said, read back from its text. util-linux turns the
// kernel's errno into a fixed English sentence (libmount's mount exit-code
// messages), prefixed since 2.30 with "mount: TARGET: "; busybox prints
// "mounting SRC on DIR failed: <strerror>". The texts in
// test/fixtures/mount-messages/ were captured from the real mount(8).

export type MountErrorKind =
  /** ENODEV: no driver for the type is registered, and loading one failed or was not allowed. */
  | "unknown-filesystem-type"
  /** EINVAL: the driver rejected the superblock or an option, or no type matched. */
  | "wrong-fs-type"
  /** EIO while reading the superblock. */
  | "cannot-read-superblock"
  /** More than one signature on the device (libmount refuses to guess). */
  | "ambiguous-type"
  | "no-type"
  /** EPERM as root: a user namespace, an LSM, or a locked-down kernel refused. */
  | "permission-denied"
  | "must-be-superuser"
  | "special-device-missing"
  | "mount-point-missing"
  | "mount-point-not-directory"
  | "loop-setup-failed"
  | "already-mounted"
  | "not-in-fstab"
  | "not-block-device"
  | "no-medium"
  | "read-only"
  | "corrupted"
  | "bad-option"
  /** Another errno, given as text in `detail`. */
  | "syscall-failed"
  /** Not a failure: the source was write-protected and got mounted read-only. */
  | "mounted-read-only"
  | "unrecognised";

export interface MountMessage {
  kind: MountErrorKind;
  /** The mount point as mount printed it, when it did. */
  target: string | null;
  /** The type the message names ("unknown filesystem type 'minix'"). */
  fstype: string | null;
  /** The device or image the message names. */
  source: string | null;
  /** errno text or the kernel's own words, for the kinds that carry them. */
  detail: string | null;
  /** The line the kind was read from (the whole text when unrecognised). */
  line: string;
}

interface Pattern {
  kind: MountErrorKind;
  regex: RegExp;
  fstype?: number;
  source?: number;
  detail?: number;
}

// Most specific first: "wrong fs type ... bad superblock on X" must win over a
// generic "bad option", and every libmount sentence over the busybox fallback.
const PATTERNS: readonly Pattern[] = [
  { kind: "unknown-filesystem-type", regex: /unknown filesystem type '([^']*)'/, fstype: 1 },
  { kind: "unknown-filesystem-type", regex: /unknown filesystem type\b/ },
  { kind: "wrong-fs-type", regex: /wrong fs type, bad option, bad superblock on (.+?), missing codepage/, source: 1 },
  { kind: "cannot-read-superblock", regex: /can't read superblock on (.+?)\.?$/, source: 1 },
  { kind: "ambiguous-type", regex: /more filesystems detected on (.+?); use -t/, source: 1 },
  { kind: "no-type", regex: /failed to determine filesystem type|no valid filesystem type specified/ },
  { kind: "must-be-superuser", regex: /must be superuser to use mount|operation permitted for root only|only root can /i },
  { kind: "permission-denied", regex: /\bpermission denied\b/i },
  { kind: "special-device-missing", regex: /special device (.+?) does not exist/, source: 1 },
  { kind: "mount-point-missing", regex: /mount point does not exist|mount point is a symbolic link to nowhere/ },
  { kind: "mount-point-not-directory", regex: /mount point is not a directory/ },
  { kind: "loop-setup-failed", regex: /failed to setup loop device for (.+?)\.?$/, source: 1 },
  { kind: "loop-setup-failed", regex: /overlapping loop device exists for (.+?)\.?$/, source: 1 },
  { kind: "already-mounted", regex: /(\S+) is already mounted\b/, source: 1 },
  { kind: "already-mounted", regex: /(\S+) already mounted (?:on |or mount point busy)/, source: 1 },
  { kind: "already-mounted", regex: /filesystem already mounted|mount point is busy/ },
  { kind: "not-in-fstab", regex: /can't find (?:mount point |mount source .+ )?in \S*fstab/ },
  { kind: "special-device-missing", regex: /can't find (\S+?)\.?$/, source: 1 },
  { kind: "not-block-device", regex: /(\S+) is not a (?:valid )?block device/, source: 1 },
  { kind: "not-block-device", regex: /the kernel does not recognize (\S+) as a block device/, source: 1 },
  { kind: "no-medium", regex: /no medium found on (.+?)\.?$/, source: 1 },
  { kind: "read-only", regex: /cannot mount (.+?) read-only/, source: 1 },
  { kind: "read-only", regex: /(\S+) is write-protected but explicit read-write mode requested/, source: 1 },
  { kind: "corrupted", regex: /probably corrupted filesystem on (.+?)\.?$/, source: 1 },
  { kind: "bad-option", regex: /failed to parse mount options|bad option; / },
  { kind: "mounted-read-only", regex: /WARNING: source write-protected, mounted read-only/ },
  // util-linux 2.39+ uses the new mount API and passes the kernel's own words on.
  { kind: "syscall-failed", regex: /\b(?:mount\(2\) system call|fsconfig\(\)|fsopen\(\)|fsmount\(\)|move_mount\(\)|fsconfig system call) failed: (.+?)\.?$/, detail: 1 },
  { kind: "syscall-failed", regex: /\bmount failed: (.+?)\.?$/, detail: 1 },
  // busybox: "mount: mounting /dev/sdb1 on /mnt failed: No such device".
  { kind: "syscall-failed", regex: /mounting (\S+) on \S+ failed: (.+?)\.?$/, source: 1, detail: 2 },
];

// busybox reports the bare errno; these two say the same as util-linux's sentences.
const ERRNO_KINDS: Readonly<Record<string, MountErrorKind>> = {
  "No such device": "unknown-filesystem-type",
  "Invalid argument": "wrong-fs-type",
  "Input/output error": "cannot-read-superblock",
};

const DMESG_HINT = /^\s*dmesg\(1\) may have more information after failed mount system call\.?\s*$/;

/** Reads one failure out of whatever text mount (or a log of it) printed. */
export function parseMountMessage(text: string): MountMessage {
  for (const line of logicalLines(text)) {
    for (const pattern of PATTERNS) {
      const match = pattern.regex.exec(line);
      if (!match) continue;
      const group = (index: number | undefined): string | null => (index === undefined ? null : (match[index] ?? null));
      const detail = group(pattern.detail);
      const kind = pattern.kind === "syscall-failed" && detail !== null ? (ERRNO_KINDS[detail] ?? "syscall-failed") : pattern.kind;
      return {
        kind,
        target: targetBefore(line.slice(0, match.index)),
        fstype: group(pattern.fstype),
        source: group(pattern.source),
        detail,
        line: line.trim(),
      };
    }
  }
  return { kind: "unrecognised", target: null, fstype: null, source: null, detail: null, line: text.trim() };
}

/**
 * Lines with mount's continuation lines (indented) joined back on and its
 * "dmesg(1) may have more information" footer dropped.
 */
function logicalLines(text: string): string[] {
  const lines: string[] = [];
  for (const raw of text.replace(/\r\n?/g, "\n").split("\n")) {
    if (raw.trim() === "" || DMESG_HINT.test(raw)) continue;
    if (/^\s/.test(raw) && lines.length > 0) lines[lines.length - 1] += " " + raw.trim();
    else lines.push(raw.trimEnd());
  }
  return lines;
}

/** "mount: /mnt/x: " before the sentence names the mount point. */
function targetBefore(prefix: string): string | null {
  const match = /(?:^|\s)(?:u?mount(?:\.\w+)?): (.+): $/.exec(prefix);
  return match ? match[1]! : null;
}

/**
 * What an error usually means when nothing in the module configuration stops
 * the filesystem: the words behind libmount's fixed sentences.
 */
export function usualMeaning(message: MountMessage): string {
  switch (message.kind) {
    case "unknown-filesystem-type":
      return "the kernel has no driver registered for this type and loading one did not work; run the modprobe command below and read its error";
    case "wrong-fs-type":
      return "the driver is there but refused the device or the options: the wrong type (check with blkid), a corrupt superblock (run the filesystem's fsck), a mount option this filesystem does not know, or a missing /sbin/mount.<type> helper; the kernel log (dmesg) names which";
    case "cannot-read-superblock":
      return "reading the device failed (I/O error): a failing disk, a cable, or a truncated image";
    case "ambiguous-type":
      return "the device carries more than one filesystem signature; name the type with -t, or remove the stale signature with wipefs";
    case "no-type":
      return "mount could not tell the filesystem type; give it with -t";
    case "permission-denied":
      return "the kernel refused the mount although you are root: inside a container or user namespace, or a security module (SELinux, AppArmor) or lockdown forbids it";
    case "must-be-superuser":
      return "only root may mount this: run it with sudo, or add a 'user' entry in /etc/fstab";
    case "special-device-missing":
      return "the device does not exist: check the name (lsblk), or whether the disk is attached";
    case "mount-point-missing":
      return "the mount point does not exist: create it with mkdir -p";
    case "mount-point-not-directory":
      return "the mount point is a file, not a directory";
    case "loop-setup-failed":
      return "no loop device could be attached: the image does not exist or cannot be read, or no loop device is free (losetup -f)";
    case "already-mounted":
      return "it is already mounted (see findmnt), or the mount point is busy";
    case "not-in-fstab":
      return "given only one argument, mount looks it up in /etc/fstab and found nothing; give both the device and the mount point";
    case "not-block-device":
      return "the source is not a block device; for an image file add -o loop";
    case "no-medium":
      return "the drive has no medium inserted";
    case "read-only":
      return "the device is write-protected and a read-write mount was requested; mount it with -o ro";
    case "corrupted":
      return "the filesystem failed its checksums; run its fsck";
    case "bad-option":
      return "a mount option is wrong for this filesystem, or a /sbin/mount.<type> helper is missing";
    case "syscall-failed":
      return `the kernel refused the mount: ${message.detail ?? "see dmesg"}`;
    case "mounted-read-only":
      return "the mount succeeded, read-only, because the source is write-protected";
    case "unrecognised":
      return "this is not a message fsblacklist knows; if it is not in English, run mount again with LC_ALL=C";
  }
}

/** Errors that happen before the filesystem's driver is ever asked for. */
export function failsBeforeDriver(kind: MountErrorKind): boolean {
  return [
    "must-be-superuser",
    "special-device-missing",
    "mount-point-missing",
    "mount-point-not-directory",
    "loop-setup-failed",
    "already-mounted",
    "not-in-fstab",
    "not-block-device",
    "no-medium",
    "ambiguous-type",
    "no-type",
    "mounted-read-only",
  ].includes(kind);
}
