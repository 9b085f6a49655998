// Shapes shared between deciding, acting and reporting. JSON output follows
// these (PRODUCT.md "JSON contract").

export type FsState = "blocked" | "allowed" | "kept" | "pinned" | "builtin" | "unavailable";

export interface FilesystemStatus {
  /** Filesystem type or policy name (e.g. "jfs", "iso9660"). */
  name: string;
  /** Kernel module that implements it, null when none is known for this kernel. */
  module: string | null;
  state: FsState;
  /** "etc/modprobe.d/<file>:<line>" that decides the state, or null. */
  decidedBy: string | null;
  loaded: boolean;
  mounted: boolean;
  inFstab: boolean;
  /** The module exists for the running kernel (lib/modules/<release>). */
  present: boolean;
  /** The policy's reason, or null for a filesystem outside the policy. */
  reason: string | null;
  references: string[];
  /** Semver range of kernels the policy entry applies to, or null for all. */
  kernels: string | null;
  inPolicy: boolean;
  /** Evidence of use: "mounted at /srv (proc/self/mountinfo)", "etc/fstab:3", ... */
  usedBy: string[];
}

export interface StatusReport {
  kernel: string | null;
  /** Human notes: no module support, no running kernel under --root, ... */
  notes: string[];
  filesystems: FilesystemStatus[];
}

// fsblacklist's configuration (system/config.ts reads and validates it).

export type InitramfsMode = "report" | "regenerate";
export type KeepSignal = "loaded" | "registered" | "mounted" | "fstab" | "mount-units";
export const KEEP_SIGNALS: readonly KeepSignal[] = ["loaded", "registered", "mounted", "fstab", "mount-units"];

export interface Config {
  /** Root-relative directory where `apply` installs the policy's fragments. */
  vendorDir: string;
  /** Root-relative directory for overrides (masks the vendor files by name). */
  adminDir: string;
  /** Root-relative path of the state file. */
  stateFile: string;
  /** Policy profile: "default" or "cis". */
  profile: string;
  /**
   * Host directory of the policy fragments (the tool's, not the root's, like the
   * shipped one it defaults to); a relative one in a file is made absolute from
   * that file's directory when it is loaded.
   */
  policyDir: string | null;
  keep: {
    /** Which signals make `apply` keep a filesystem usable. */
    signals: KeepSignal[];
    /** Filesystems kept usable even when nothing uses them now. */
    always: string[];
  };
  initramfs: {
    mode: InitramfsMode;
    /** Allow regeneration under --root (off: it would run the host's tool). */
    underRoot: boolean;
  };
  /** kmod version whose rules to follow; null = detect on the target, else the newest known. */
  kmodVersion: number | null;
  /** Where the config came from (root-relative or host path), or null for built-in defaults. */
  loadedFrom: string | null;
}

// apply's state between runs (system/state-file.ts reads and writes it).

export interface KeptRecord {
  module: string;
  /** Why the running system needs it ("loaded in the running kernel (proc/modules)"). */
  reason: string;
  /** When it was first kept (ISO 8601). */
  since: string;
  /** Kernel release at that time; null when decided without a running kernel. */
  kernel: string | null;
}

export interface ApplyState {
  /** The policy version apply applied last; null until apply has run. */
  policyVersion: string | null;
  /** The profile apply applied last; absent until apply has run, and in the state files of older versions. */
  profile?: string;
  /** When apply wrote the state last; null until apply has run. */
  appliedAt: string | null;
  kept: KeptRecord[];
  /** Root-relative paths of the fragments apply installed. */
  installed: string[];
  /** The effective blacklist changed and the initramfs was not rebuilt yet (regenerate mode retries). */
  initramfsPending: boolean;
  /**
   * When what kmod enforces last changed without a rebuild of the initramfs
   * following (ISO 8601), in either initramfs mode; null when none is owed. A
   * successful rebuild clears it, and so do images under boot/ that are newer
   * than this time or that carry the configuration the system has.
   */
  initramfsOwedSince: string | null;
}
