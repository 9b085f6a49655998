// The running kernel's release as seen under the root, and whether the proc/
// there belongs to this root at all.

import { statSync } from "node:fs";
import { release as hostRelease } from "node:os";
import * as path from "node:path";
import type { RootFs } from "./root-fs.ts";

/**
 * True when proc/ under the root shows another system: image builders (kiwi,
 * mock, mkosi) run rpm, pacman and apk hooks in a chroot with the host's /proc
 * mounted, and the host's loaded modules say nothing about the image. pid 1's
 * root (a kernel magic link, so it is stat'ed on the host on purpose, never
 * read) is then not our root. When it cannot be stat'ed (not root, hardened
 * proc, a fake root without it) we cannot tell and trust proc/.
 */
export function procIsForeign(fs: RootFs): boolean {
  try {
    const init = statSync(path.join(fs.root, "proc/1/root"));
    const root = statSync(fs.root);
    return init.dev !== root.dev || init.ino !== root.ino;
  } catch {
    return false;
  }
}

/**
 * proc/sys/kernel/osrelease under the root; on the real system without /proc
 * mounted, uname. Null under a root that has no running kernel of its own (an
 * image build, a chroot with the host's /proc).
 */
export function runningRelease(fs: RootFs): string | null {
  if (procIsForeign(fs)) return null;
  const text = fs.readText("proc/sys/kernel/osrelease");
  if (text !== null && text.trim() !== "") return text.trim();
  return fs.isHostRoot ? hostRelease() : null;
}
