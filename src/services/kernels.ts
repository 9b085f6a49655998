// Every kernel installed under the root (lib/modules/<release> with a
// modules.dep), and what each offers for a filesystem: `status --all-kernels`,
// `explain`'s "works on another installed kernel".

import type { Context } from "../context.ts";
import { kernelAvailability, type KernelAvailability } from "../decide/kernel-availability.ts";
import { underscores } from "../kmod/parse-config.ts";
import { appliesToKernel, type PolicyEntry } from "../policy/policy.ts";
import { filesystemProviders, type ModuleIndex } from "../kmod/module-index.ts";
import type { KernelFacts } from "../decide/judged-kernel.ts";
import { MODULES_ROOT, listInstalledReleases, readModuleIndex } from "../system/module-index-files.ts";
import type { RootFs } from "../system/root-fs.ts";

/** What decide/judged-kernel.ts needs, read under the root; `kernel` is the running kernel's state when the caller has read it. */
export function kernelFacts(fs: RootFs, kernel: { running: boolean; release: string | null }): KernelFacts {
  return {
    running: kernel.release,
    visible: kernel.running,
    runningHasModules: kernel.release !== null && fs.exists(`${MODULES_ROOT}/${kernel.release}/modules.dep`),
    installed: () => listInstalledReleases(fs),
  };
}

export interface InstalledKernel {
  release: string;
  index: ModuleIndex | null;
}

/** Every installed kernel, oldest first, with its module index (null when it cannot be read). */
export function installedKernels(ctx: Context): InstalledKernel[] {
  return listInstalledReleases(ctx.fs).map((release) => ({ release, index: readModuleIndex(ctx.fs, release) }));
}

/**
 * What `kernel` offers for a filesystem module and its types: its own module
 * or, on a kernel where another driver serves the type (ntfs3 for ntfs), that one.
 */
export function availabilityOn(ctx: Context, kernel: InstalledKernel, module: string, types: readonly string[], entry: PolicyEntry | null): KernelAvailability {
  const inRange = entry === null || appliesToKernel(entry, kernel.release);
  const index = kernel.index;
  if (index === null) return kernelAvailability({ inRange, builtin: false, present: false });
  const candidates = [module, ...types.flatMap((type) => filesystemProviders(index, type))];
  const builtin =
    candidates.some((m) => index.builtin.has(m)) ||
    types.some((type) => {
      const request = underscores(`fs-${type}`);
      return request !== null && index.builtinAliasTargets(request).length > 0;
    });
  const present = candidates.some((m) => {
    const indexed = index.modules.get(m);
    return indexed !== undefined && ctx.fs.exists(`${index.dir}/${indexed.path}`);
  });
  return kernelAvailability({ inRange, builtin, present });
}
