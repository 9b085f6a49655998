// The one sentence about the initramfs after a change of the blacklist, the
// same after `apply` as after `allow`, `block` and `reset`.

import type { InitramfsReport } from "../services/initramfs.ts";

/** Null when there is nothing to say (not stale, not rebuilt). */
export function initramfsLine(initramfs: InitramfsReport, dryRun: boolean): string | null {
  if (initramfs.regenerated) return `The initramfs was rebuilt (${initramfs.command}).`;
  if (!initramfs.stale) return null;
  const which = dryRun ? "current" : "previous";
  return initramfs.command === null
    ? `If this system boots with an initramfs, rebuild it: it still carries the ${which} blacklist.`
    : `The initramfs still carries the ${which} blacklist; run: ${initramfs.command}`;
}
