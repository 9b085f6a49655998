// The temporary files RootFs.writeFileAtomic writes next to their target:
// `.<name>.fsblacklist-<pid>-<ms>.tmp`. Hidden and not ending in .conf, so kmod
// never reads one, and named after the writer's pid, so that a run holding the
// lock can tell what a killed run left behind.

import * as path from "node:path";
import { processAlive } from "./processes.ts";

const ATOMIC_TEMP = /^\..+\.fsblacklist-(\d+)-\d+\.tmp$/;

/** The temporary name for writing `name` (a basename) in this process. */
export function atomicTempName(name: string): string {
  return `.${name}.fsblacklist-${process.pid}-${Date.now()}.tmp`;
}

/** The pid of the run that writes (or wrote) a temporary file of this name; null when it is not one. */
export function atomicTempWriter(name: string): number | null {
  const pid = ATOMIC_TEMP.exec(name)?.[1];
  return pid === undefined ? null : Number(pid);
}

/** What removeLeftTemporaries needs of a RootFs (root-fs.ts names its temporaries with atomicTempName). */
interface TemporariesDir {
  listDir(relDir: string): readonly { name: string }[] | null;
  removeFile(relPath: string): Promise<boolean>;
}

/** Removes temporary files whose writer is gone from the given root-relative directories; how many. Call it holding the lock. */
export async function removeLeftTemporaries(fs: TemporariesDir, dirs: Iterable<string>): Promise<number> {
  let removed = 0;
  for (const dir of new Set(dirs)) {
    for (const entry of fs.listDir(dir) ?? []) {
      const pid = atomicTempWriter(entry.name);
      if (pid === null || processAlive(pid)) continue;
      try {
        if (await fs.removeFile(path.posix.join(dir, entry.name))) removed++;
      } catch {
        // Litter that kmod ignores (a hidden name): not worth failing a run for.
      }
    }
  }
  return removed;
}
