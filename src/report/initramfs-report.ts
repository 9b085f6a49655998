// The one sentence about the initramfs after a change of the blacklist, the
// same after `apply` as after `allow`, `block` and `reset`.

import type { BootBlock } from "../decide/initramfs-compare.ts";
import type { ImageReport } from "../services/initramfs-images.ts";
import type { InitramfsReport } from "../services/initramfs.ts";

/** Null when there is nothing to say (not stale, not rebuilt). */
export function initramfsLine(initramfs: InitramfsReport, dryRun: boolean): string | null {
  if (initramfs.regenerated) return `The initramfs was rebuilt (${initramfs.command}).`;
  if (!initramfs.stale) return null;
  const which = dryRun ? "current" : "previous";
  const line =
    initramfs.command === null
      ? `If this system boots with an initramfs, rebuild it: it still carries the ${which} blacklist.`
      : `The initramfs still carries the ${which} blacklist; run: ${initramfs.command}`;
  return initramfs.owedSince === null || dryRun ? line : `${line}\n${owedLine(initramfs.owedSince)}`;
}

/** The rebuild the state file records as owed, until a rebuild runs or an image newer than the change is seen. */
export function owedLine(since: string): string {
  return `A rebuild of the initramfs is owed since ${since} (the state file keeps it until one is run or seen).`;
}

/** The error for a filesystem the image must mount at boot but refuses to load. */
export function bootBlockMessage(image: ImageReport, block: BootBlock): string {
  const fix = image.rebuild === null ? "rebuild the initramfs with the distribution's tool" : `run: ${image.rebuild}`;
  return `${image.path} blocks ${block.type}, which ${block.where} mounts at boot (${block.target}): this kernel may not boot; ${fix}`;
}
