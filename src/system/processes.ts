// Other processes on this host: whether one is alive, and when it started (to
// tell a reused pid from the process that wrote it down).

import * as fs from "node:fs";
import { errnoCode } from "../errors.ts";

export function processAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return errnoCode(error) === "EPERM";
  }
}

/**
 * When a process started (field 22 of the host's /proc/<pid>/stat, in clock
 * ticks since boot), or null where that cannot be read. The command name in
 * field 2 may hold spaces and parentheses, so fields are counted after the last ')'.
 */
export function processStartTime(pid: number): string | null {
  try {
    const stat = fs.readFileSync(`/proc/${pid}/stat`, "utf8");
    return stat.slice(stat.lastIndexOf(")") + 2).split(" ")[19] ?? null;
  } catch {
    return null;
  }
}
