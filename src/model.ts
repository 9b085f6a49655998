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
