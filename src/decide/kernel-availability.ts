// What one installed kernel offers for a filesystem, from facts already read:
// its module is there, it is compiled in, the kernel was built without it, or
// the policy entry's kernel range leaves that kernel out (filesystems leave the
// kernel, as reiserfs did in 6.13, or change drivers, as ntfs did). Pure.

export type KernelAvailability = "present" | "builtin" | "not-built" | "outside-range";

export interface KernelFacts {
  /** The policy entry's kernel range covers this kernel (true without an entry or a range). */
  inRange: boolean;
  /** The module (or another module serving one of its types) is compiled into this kernel. */
  builtin: boolean;
  /** A module file for it exists under this kernel's lib/modules. */
  present: boolean;
}

/** The range comes first: outside it the entry says nothing about this kernel. */
export function kernelAvailability(facts: KernelFacts): KernelAvailability {
  if (!facts.inRange) return "outside-range";
  if (facts.builtin) return "builtin";
  return facts.present ? "present" : "not-built";
}

/** True where a mount of the filesystem can work on that kernel (blocking aside). */
export function kernelHasFilesystem(availability: KernelAvailability): boolean {
  return availability === "present" || availability === "builtin";
}
