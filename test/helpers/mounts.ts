// Mounts the file-system fault tests need (root only): a directory made
// read-only by a bind mount of itself, undone whatever `work` does.

import { spawnSync } from "node:child_process";

function sh(command: string): void {
  const result = spawnSync("sh", ["-c", command], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command}: exit ${result.status}: ${result.stderr}`);
}

/** Runs `work` with `dir` bind-mounted read-only onto itself; always unmounts. */
export function readOnly<T>(dir: string, work: () => T): T {
  sh(`mount --bind '${dir}' '${dir}' && mount -o remount,bind,ro '${dir}'`);
  try {
    return work();
  } finally {
    sh(`umount '${dir}' || umount -l '${dir}'`);
  }
}

/** readOnly() for work that is asynchronous (a command run in this process). */
export async function readOnlyAsync<T>(dir: string, work: () => Promise<T>): Promise<T> {
  sh(`mount --bind '${dir}' '${dir}' && mount -o remount,bind,ro '${dir}'`);
  try {
    return await work();
  } finally {
    sh(`umount '${dir}' || umount -l '${dir}'`);
  }
}
