// The running kernel's release as seen under the root.

import { release as hostRelease } from "node:os";
import type { RootFs } from "./root-fs.ts";

/**
 * proc/sys/kernel/osrelease under the root; on the real system without /proc
 * mounted, uname. Null under a root that has no running kernel (an image build).
 */
export function runningRelease(fs: RootFs): string | null {
  const text = fs.readText("proc/sys/kernel/osrelease");
  if (text !== null && text.trim() !== "") return text.trim();
  return fs.isHostRoot ? hostRelease() : null;
}
