// Driving Ink components in tests: waiting for a frame, pressing keys, and a
// render into a fake terminal of a given size that can be resized.

import { EventEmitter } from "node:events";
import type { ReactElement } from "react";
import { render as inkRender } from "ink";

export const KEYS = {
  up: "\u001b[A",
  down: "\u001b[B",
  pageDown: "\u001b[6~",
  enter: "\r",
  escape: "\u001b",
  backspace: "\u007f",
  space: " ",
  ctrlC: "\u0003",
} as const;

export interface Driven {
  stdin: { write(data: string): void };
  lastFrame(): string | undefined;
}

/** Waits until the latest frame satisfies `ok`; fails with that frame after `timeoutMs`. */
export async function waitForFrame(app: Driven, ok: (frame: string) => boolean, timeoutMs = 3000): Promise<string> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const frame = app.lastFrame() ?? "";
    if (ok(frame)) return frame;
    if (Date.now() > deadline) throw new Error(`timed out waiting for the frame; the last one was:\n${frame}`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

/** Types keys one at a time, letting Ink tell a lone Escape from an escape sequence. */
export async function press(app: Driven, ...keys: string[]): Promise<void> {
  for (const key of keys) {
    app.stdin.write(key);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
  }
}

/** The selected row of the list (marked with ›). */
export function selectedRow(frame: string): string {
  return frame.split("\n").find((line) => line.startsWith("›")) ?? "";
}

class FakeStdout extends EventEmitter {
  readonly isTTY = true;
  frames: string[] = [];
  constructor(
    public columns: number,
    public rows: number,
  ) {
    super();
  }
  write = (frame: string): boolean => {
    this.frames.push(frame);
    return true;
  };
}

class FakeStdin extends EventEmitter {
  readonly isTTY = true;
  private data: string | null = null;
  write = (data: string): void => {
    this.data = data;
    this.emit("readable");
    this.emit("data", data);
  };
  read = (): string | null => {
    const { data } = this;
    this.data = null;
    return data;
  };
  setEncoding(): void {}
  setRawMode(): void {}
  resume(): void {}
  pause(): void {}
  ref(): void {}
  unref(): void {}
}

export interface SizedApp extends Driven {
  resize(columns: number, rows: number): void;
  unmount(): void;
  /** Settles when the app exits (useApp().exit()). */
  exited: Promise<unknown>;
}

/** Renders into a terminal of `columns` x `rows` (ink-testing-library's is 100 wide, without rows). */
export function renderSized(tree: ReactElement, columns: number, rows: number): SizedApp {
  const stdout = new FakeStdout(columns, rows);
  const stdin = new FakeStdin();
  const stderr = new FakeStdout(columns, rows);
  const instance = inkRender(tree, {
    stdout: stdout as unknown as NodeJS.WriteStream,
    stdin: stdin as unknown as NodeJS.ReadStream,
    stderr: stderr as unknown as NodeJS.WriteStream,
    debug: true,
    exitOnCtrlC: false,
    patchConsole: false,
  });
  return {
    stdin,
    lastFrame: () => stdout.frames[stdout.frames.length - 1],
    resize(newColumns, newRows) {
      stdout.columns = newColumns;
      stdout.rows = newRows;
      stdout.emit("resize");
    },
    unmount: () => instance.unmount(),
    exited: instance.waitUntilExit(),
  };
}
