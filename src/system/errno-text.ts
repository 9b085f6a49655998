// System errors as every command words them: what the error means, then its code
// for searching ("read-only file system (EROFS)").

import { errnoCode } from "../errors.ts";

const ERRNO_TEXT: Record<string, string> = {
  EROFS: "read-only file system",
  ENOSPC: "no space left on device",
  EDQUOT: "disk quota exceeded",
  EACCES: "permission denied",
  EPERM: "operation not permitted",
  EIO: "input/output error",
  EBUSY: "device or resource busy",
  ENOENT: "no such file or directory",
  ENOTDIR: "not a directory",
  EISDIR: "is a directory",
};

/** A system error's meaning and code; any other error's message. */
export function describeErrno(error: unknown): string {
  const code = errnoCode(error);
  if (code === undefined) return error instanceof Error ? error.message : String(error);
  return `${ERRNO_TEXT[code] ?? code} (${code})`;
}
