// One fsblacklist run at a time changes a root. The lock file holds the owner's
// pid from the moment it exists (written to a private file first, then linked
// into place, which fails if the lock exists); a lock whose owner is gone
// (killed mid-run) is broken. The owner's start time is recorded beside its pid,
// so a pid the kernel has since given to another process does not keep us
// waiting. A lock without a pid can only be left by another tool or a damaged
// file system: it is broken once it is older than a minute.

import * as fs from "node:fs";
import * as path from "node:path";
import { RuntimeFailure, errnoCode } from "../errors.ts";
import { describeErrno } from "./errno-text.ts";
import type { RootFs } from "./root-fs.ts";
import { processAlive, processStartTime } from "./processes.ts";

export const LOCK_PATH = "run/fsblacklist.lock";

/** What a run says, once, when another run holds the lock. */
export function waitingMessage(ownerPid: number): string {
  return `fsblacklist: waiting for lock ${LOCK_PATH} held by pid ${ownerPid}\n`;
}

export interface LockOptions {
  /** Called once when we have to wait for another run. */
  onWait?: (ownerPid: number) => void;
  timeoutMs?: number;
}

const UNREADABLE_LOCK_GRACE_MS = 60_000;

interface LockContent {
  text: string;
  /** NaN when the file holds no pid. */
  pid: number;
  started: string | null;
}

function readLock(lockPath: string): LockContent | null {
  let text: string;
  try {
    text = fs.readFileSync(lockPath, "utf8");
  } catch {
    return null;
  }
  const [pid, started] = text.trim().split(/\s+/);
  return { text, pid: Number.parseInt(pid ?? "", 10), started: started || null };
}

/** The pid in a lock file; NaN when it holds none; null when there is no lock. */
function readOwner(lockPath: string): number | null {
  return readLock(lockPath)?.pid ?? null;
}

function isStale(lockPath: string, lock: LockContent): boolean {
  if (!Number.isNaN(lock.pid)) {
    if (!processAlive(lock.pid)) return true;
    const current = processStartTime(lock.pid);
    return lock.started !== null && current !== null && lock.started !== current;
  }
  try {
    return Date.now() - fs.statSync(lockPath).mtimeMs > UNREADABLE_LOCK_GRACE_MS;
  } catch {
    return false;
  }
}

/** Creates the lock with our pid in it, atomically; false if it exists. */
function tryCreate(lockPath: string): boolean {
  const own = `${lockPath}.${process.pid}`;
  try {
    fs.writeFileSync(own, `${process.pid} ${processStartTime(process.pid) ?? ""}\n`, { mode: 0o644 });
    fs.linkSync(own, lockPath);
    return true;
  } catch (error) {
    if (errnoCode(error) === "EEXIST") return false;
    throw error;
  } finally {
    fs.rmSync(own, { force: true });
  }
}

function lockFailure(error: unknown): RuntimeFailure {
  const code = errnoCode(error);
  const hint = code === "EACCES" || code === "EPERM" ? "changing the system needs root: run it as root" : "is the file system read-only or full?";
  return new RuntimeFailure(`cannot create lock ${LOCK_PATH}: ${describeErrno(error)}`, hint);
}

/** Runs `work` holding the root's lock. */
export async function withLock<T>(rootFs: RootFs, work: () => Promise<T>, options: LockOptions = {}): Promise<T> {
  let dirHost: string;
  try {
    dirHost = rootFs.mkdirp(path.posix.dirname(LOCK_PATH));
  } catch (error) {
    if (error instanceof RuntimeFailure) throw error;
    throw lockFailure(error);
  }
  const lockPath = path.join(dirHost, path.posix.basename(LOCK_PATH));
  const deadline = Date.now() + (options.timeoutMs ?? 120_000);
  let announced = false;
  for (;;) {
    try {
      if (tryCreate(lockPath)) break;
    } catch (error) {
      throw lockFailure(error);
    }
    const lock = readLock(lockPath);
    const owner = lock?.pid ?? null;
    if (lock !== null && isStale(lockPath, lock)) {
      breakStaleLock(lockPath, lock.text);
      continue;
    }
    if (Date.now() > deadline) throw new RuntimeFailure(`timed out waiting for lock ${LOCK_PATH} held by pid ${owner}`);
    if (!announced && owner !== null && !Number.isNaN(owner)) {
      options.onWait?.(owner);
      announced = true;
    }
    await new Promise((resolve) => setTimeout(resolve, 25 + Math.random() * 50));
  }
  try {
    return await work();
  } finally {
    if (readOwner(lockPath) === process.pid) fs.rmSync(lockPath, { force: true });
  }
}

function breakStaleLock(lockPath: string, staleText: string): void {
  // Rename is atomic, so only one breaker takes the file away. If what we took
  // turns out to be a fresh lock of a live run, we put it back.
  const aside = `${lockPath}.stale-${process.pid}`;
  try {
    fs.renameSync(lockPath, aside);
  } catch {
    return;
  }
  if (readLock(aside)?.text !== staleText) {
    try {
      fs.linkSync(aside, lockPath);
    } catch {
      // Someone else holds a new lock already; the one we took belongs to nobody now.
    }
  }
  fs.rmSync(aside, { force: true });
}
