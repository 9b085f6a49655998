// The state of one filesystem, from facts already gathered: what kmod would do
// with a mount-time request for it, and which override file (ours or the
// administrator's) masks the vendor fragment. Pure.
//
//   builtin      compiled into the kernel: nothing can block it
//   unavailable  no module for this kernel (or the kernel cannot load modules)
//   pinned       blocked by `fsblacklist block` (an override with our block marker)
//   blocked      the effective configuration blocks it (the policy or the admin)
//   kept         loadable because `apply` kept it in use (our keep marker)
//   allowed      loadable: `fsblacklist allow`, the admin's own file, or nothing blocks it

import type { FsState } from "../model.ts";
import type { OverrideMarker } from "../policy/marker.ts";
import type { Block } from "../kmod/resolve.ts";
import type { Source } from "../kmod/parse-config.ts";

export interface OverrideFile {
  /** Root-relative path in the admin directory. */
  path: string;
  /** Our marker, or null for the administrator's own file. */
  marker: OverrideMarker | null;
}

export interface VerdictInput {
  builtin: boolean;
  /** A module file exists for the kernel the facts are about. */
  present: boolean;
  /** The kernel can load modules at all. */
  moduleSupport: boolean;
  /** What blocks a mount-time request for the filesystem (every one of its types), or null. */
  block: Block | null;
  /** The admin-directory file with the vendor fragment's name, if any. */
  override: OverrideFile | null;
}

export interface Verdict {
  state: FsState;
  /** "file:line" (root-relative) that decides, or null. */
  decidedBy: string | null;
  /** One phrase for people: why this state. */
  why: string;
}

export function formatSource(source: Source): string {
  return source.file === "proc/cmdline" ? "proc/cmdline" : `${source.file}:${source.line}`;
}

function describeBlock(block: Block): string {
  switch (block.cause) {
    case "blacklisted":
      return "blacklisted: the kernel's mount-time request for it is refused";
    case "cmdline-blacklisted":
      return block.source === null ? `module_blacklist=${block.module} on the kernel command line` : `modprobe.blacklist=${block.module} on the kernel command line`;
    case "install-blocked":
      return `install line runs "${block.command ?? ""}" instead`;
    case "dependency-blocked":
      return `its dependency ${block.module} cannot load (install "${block.command ?? ""}")`;
    case "module-missing":
      return `${block.module} is missing`;
  }
}

export function decideVerdict(input: VerdictInput): Verdict {
  if (input.builtin) return { state: "builtin", decidedBy: null, why: "built into the kernel" };
  if (!input.moduleSupport) return { state: "unavailable", decidedBy: null, why: "the kernel cannot load modules" };
  if (!input.present) return { state: "unavailable", decidedBy: null, why: "no module for this kernel" };

  const override = input.override;
  const overrideAt = override === null ? null : `${override.path}:1`;
  const block = input.block;
  if (block !== null && block.cause !== "module-missing") {
    const decidedBy = block.source === null ? "proc/cmdline" : formatSource(block.source);
    if (override?.marker?.kind === "block" && block.source?.file === override.path) {
      return { state: "pinned", decidedBy, why: `pinned by \`fsblacklist block\` (${override.marker.date})` };
    }
    return { state: "blocked", decidedBy, why: describeBlock(block) };
  }
  if (block !== null) return { state: "unavailable", decidedBy: null, why: describeBlock(block) };

  if (override !== null) {
    switch (override.marker?.kind) {
      case "keep":
        return { state: "kept", decidedBy: overrideAt, why: `kept in use by \`fsblacklist apply\`: ${override.marker.reason}` };
      case "allow":
        return { state: "allowed", decidedBy: overrideAt, why: `allowed by \`fsblacklist allow\` (${override.marker.date})` };
      case "block":
        return { state: "allowed", decidedBy: overrideAt, why: "our block override does not block it (see the file)" };
      case undefined:
        return { state: "allowed", decidedBy: overrideAt, why: "the administrator's own file masks the policy's" };
    }
  }
  return { state: "allowed", decidedBy: null, why: "nothing blocks it" };
}
