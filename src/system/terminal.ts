// The controlling terminal (/dev/tty), for a prompt that must reach the person
// at the keyboard when stdout and stderr are redirected (the modprobe hook).

import { closeSync, openSync, readSync, writeSync } from "node:fs";

export interface Terminal {
  write(text: string): void;
  /** One line as typed (cooked mode), without its newline; null at end of input. */
  readLine(): string | null;
  close(): void;
}

/** The controlling terminal, or null when the process has none. */
export function openTerminal(): Terminal | null {
  let fd: number;
  try {
    fd = openSync("/dev/tty", "r+");
  } catch {
    return null; // no controlling terminal
  }
  return {
    write: (text) => void writeSync(fd, text),
    readLine: () => {
      const chunk = Buffer.alloc(256);
      let line = "";
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) return line === "" ? null : line;
        line += chunk.toString("utf8", 0, n);
        const newline = line.indexOf("\n");
        if (newline >= 0) return line.slice(0, newline);
      }
    },
    close: () => closeSync(fd),
  };
}
