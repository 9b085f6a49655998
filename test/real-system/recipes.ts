// The Debian roots the system suite uses (cached by debian.ts; the runner
// builds them all before the first scenario, so that scenario times are theirs).

import type { RootRecipe } from "./debian.ts";

/** Debian 13: kmod 34, the distribution's Node 20; bash-completion to try the completions; mount for the virtual machines' userland. */
export const TRIXIE: RootRecipe = { suite: "trixie", include: ["kmod", "nodejs", "bash-completion", "mount"] };
/** Debian 13 with a kernel and initramfs-tools: update-initramfs really runs (about 650 MB). */
export const TRIXIE_KERNEL: RootRecipe = { suite: "trixie", include: ["kmod", "nodejs", "linux-image-amd64", "initramfs-tools", "zstd"] };
/**
 * Debian 13 with a kernel and dracut instead of initramfs-tools (dracut provides
 * linux-initramfs-tool, so apt takes it for the kernel's initramfs), and every
 * compressor dracut can use: gzip is essential, zstd, xz, lz4, bzip2 and lzop.
 */
export const TRIXIE_DRACUT: RootRecipe = {
  suite: "trixie",
  include: ["kmod", "nodejs", "linux-image-amd64", "dracut", "zstd", "xz-utils", "lz4", "bzip2", "lzop"],
};
/** Debian 12: kmod 30 (its nodejs is 18: the suite brings Node 20 as a local package, as an administrator would). */
export const BOOKWORM: RootRecipe = { suite: "bookworm", include: ["kmod"] };

export const ALL_ROOTS = [TRIXIE, BOOKWORM, TRIXIE_KERNEL, TRIXIE_DRACUT];
