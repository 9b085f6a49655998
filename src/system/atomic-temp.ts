// The temporary files RootFs.writeFileAtomic writes next to their target:
// `.<name>.fsblacklist-<pid>-<ms>.tmp`. Hidden, so kmod never reads one, and
// named after the writer's pid, so that a run holding the lock can tell what a
// killed run left behind.

const ATOMIC_TEMP = /^\..+\.fsblacklist-(\d+)-\d+\.tmp$/;

/** The pid of the run that writes (or wrote) a temporary file of this name; null when it is not one. */
export function atomicTempWriter(name: string): number | null {
  const pid = ATOMIC_TEMP.exec(name)?.[1];
  return pid === undefined ? null : Number(pid);
}
