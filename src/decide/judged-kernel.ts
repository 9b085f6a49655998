// Which installed kernel's modules a command judges: one rule, with a named
// variant where a command differs on purpose.
//
// - "this-boot" (status, explain): what the running kernel would load. A running
//   kernel whose modules are not installed can load none, so none is judged; only
//   where no kernel runs (an image build, a chroot) does the newest installed
//   kernel stand in, the one that boots next.
// - "any-boot" (apply): what to keep loadable. The evidence of use (fstab types,
//   mount units) is about the system, not one kernel, and the fragments are for
//   every kernel, so without the running kernel's modules the newest installed
//   kernel maps types to modules.

export type JudgedKernelRule = "this-boot" | "any-boot";

export interface KernelFacts {
  /** The running kernel's release; null when none runs here or it cannot be told. */
  running: string | null;
  /** A running kernel of this root is visible (its own proc/). */
  visible: boolean;
  /** lib/modules/<running>/modules.dep is there. */
  runningHasModules: boolean;
  /** Releases with installed modules, oldest first; asked only when the running kernel's do not settle it. */
  installed(): readonly string[];
}

/** The release whose module index and modules.d files are judged, or null for none. */
export function judgedKernel(facts: KernelFacts, rule: JudgedKernelRule): string | null {
  if (facts.running !== null && facts.runningHasModules) return facts.running;
  if (rule === "this-boot" && facts.visible) return null;
  return facts.installed().at(-1) ?? null;
}

/** Kernels in the order a name is looked up in their indexes (allow, block, reset): the running one first, then the newest. */
export function kernelsByPreference(facts: Pick<KernelFacts, "running" | "installed">): string[] {
  const newestFirst = [...facts.installed()].reverse();
  const running = facts.running;
  return running !== null && newestFirst.includes(running) ? [running, ...newestFirst.filter((r) => r !== running)] : newestFirst;
}
