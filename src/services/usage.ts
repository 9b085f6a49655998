// Reads what shows a filesystem in use and hands it to decide/usage-evidence.ts.

import { judgeUsage, type SystemUsage } from "../decide/usage-evidence.ts";
import type { ModuleIndex } from "../kmod/module-index.ts";
import { readFstab } from "../system/fstab.ts";
import { readKernelState, type KernelState } from "../system/kernel-state.ts";
import { readMountUnits } from "../system/mount-units.ts";
import type { RootFs } from "../system/root-fs.ts";

/**
 * Reads the running kernel's state (unless the caller has read it already),
 * etc/fstab and mount units under the root, and judges them against `index`,
 * the running kernel's module index (null when there is none).
 */
export function readSystemUsage(fs: RootFs, index: ModuleIndex | null, kernel: KernelState = readKernelState(fs)): SystemUsage {
  return judgeUsage({ kernel, fstab: readFstab(fs), mountUnits: readMountUnits(fs) }, index);
}
