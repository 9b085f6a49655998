// Standard output and error as plain file descriptors. process.stdout and
// process.stderr are streams that Node builds on first use, loading its stream,
// net and tty modules: ~3 ms of every run (docs/performance.md), for output
// that a command writes synchronously anyway (as Node does for files and pipes
// on Linux). The stream is still the way out when a write cannot complete now.

import { fstatSync, writeSync } from "node:fs";
import { createRequire } from "node:module";

/** Where a command writes: standard output or error, or a test's capture. */
export interface Output {
  write(text: string | Uint8Array): void;
  isTTY: boolean;
}

/** Output to `fd` (1 or 2), written synchronously; `isTTY` is asked of the system on first use. */
export function fdOutput(fd: 1 | 2): Output {
  let tty: boolean | undefined;
  let stream: NodeJS.WriteStream | null = null;
  let closed = false;
  return {
    write(text) {
      if (closed) return;
      if (stream !== null) {
        stream.write(text);
        return;
      }
      const bytes = typeof text === "string" ? Buffer.from(text, "utf8") : text;
      let done = 0;
      while (done < bytes.length) {
        try {
          done += writeSync(fd, bytes, done, bytes.length - done);
        } catch (error) {
          const code = (error as NodeJS.ErrnoException).code;
          // The reader went away (`fsblacklist status | head -1`): what it did not read is not wanted.
          if (code === "EPIPE") {
            closed = true;
            return;
          }
          // A non-blocking pipe that is full: Node's stream waits for it; from now on every write goes there, in order.
          if (code === "EAGAIN") {
            stream = fd === 1 ? process.stdout : process.stderr;
            stream.write(bytes.subarray(done));
            return;
          }
          throw error;
        }
      }
    },
    get isTTY() {
      // Only a character device can be a terminal: for pipes and files Node's stream is never built.
      tty ??= isCharacterDevice(fd) && (fd === 1 ? process.stdout : process.stderr).isTTY === true;
      return tty;
    },
  };
}

/** Where a command reads: whether standard input is a terminal is all commands ask of it (the review's Ink reads the stream itself). */
export interface Input {
  readonly isTTY: boolean;
}

/** Standard input (fd 0); whether it is a terminal is asked of the system on first use. */
export function fdInput(): Input {
  let tty: boolean | undefined;
  return {
    get isTTY() {
      tty ??= isTerminal(0);
      return tty;
    },
  };
}

/** Whether `fd` is a terminal, loading Node's tty module (and the stream modules it needs) only for a character device. */
export function isTerminal(fd: number): boolean {
  return isCharacterDevice(fd) && (createRequire(import.meta.url)("node:tty") as typeof import("node:tty")).isatty(fd);
}

/** Memory devices (/dev/null, /dev/zero, ...): character devices that are never a terminal. */
const MEMORY_DEVICES_MAJOR = 1;

/** A character device other than /dev/null and its kind, which is where services and scripts point stdin. */
function isCharacterDevice(fd: number): boolean {
  try {
    const stat = fstatSync(fd);
    // glibc's major(): bits 8-19 and 32-43 of the device number.
    const major = ((stat.rdev >>> 8) & 0xfff) | (Math.floor(stat.rdev / 2 ** 32) & ~0xfff);
    return stat.isCharacterDevice() && major !== MEMORY_DEVICES_MAJOR;
  } catch {
    return false;
  }
}
