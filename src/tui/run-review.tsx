// Runs the review UI on the terminal until the user quits or a signal stops it.
// It takes the whole screen (the alternate buffer, as less and vim do) and gives
// the shell its screen back afterwards, in both cases.

import { render, type Instance } from "ink";
import { App, type AppProps } from "./App.tsx";
import type { ReviewExit, ReviewProgress } from "./review-state.ts";

const INTERRUPTED: ReviewExit = "interrupted";

export interface Terminal {
  stdin: NodeJS.ReadStream;
  stdout: NodeJS.WriteStream;
  stderr: NodeJS.WriteStream;
}

/** How the review ended: what was pending or being written then, and the signal that stopped it (null: the user quit; SIGHUP also when the terminal hung up without one). */
export interface ReviewEnd extends ReviewProgress {
  signal: NodeJS.Signals | null;
  /** The user quit with Ctrl-C (a key, not a signal): from any view, or at the question it asked. */
  interrupted: boolean;
}

const ALTERNATE_SCREEN = "\u001b[?1049h";
const MAIN_SCREEN = "\u001b[?1049l";

/**
 * `kill`, the terminal closing, and an interrupt sent as a signal (at the
 * keyboard, Ctrl-C is a key in raw mode, which the review reads as q). Left to
 * their default action they would end the process on the alternate screen.
 */
const STOP_SIGNALS: readonly NodeJS.Signals[] = ["SIGTERM", "SIGHUP", "SIGINT"];

function ignore(): void {}

export async function runReview(props: Omit<AppProps, "onProgress">, terminal: Terminal): Promise<ReviewEnd> {
  let progress: ReviewProgress = { pending: [], writing: false };
  let signal: NodeJS.Signals | null = null;
  let instance: Instance | undefined;
  const stop = (received: NodeJS.Signals): void => {
    if (signal !== null) return;
    signal = received;
    // After a hangup the terminal is gone and every write to it, or change of
    // its mode, fails (EIO): that must not turn stopping into a crash.
    for (const stream of [terminal.stdin, terminal.stdout, terminal.stderr]) stream.on("error", ignore);
    // Ink's unmount leaves raw mode and shows the cursor again; the finally below leaves the alternate screen.
    instance?.unmount();
  };
  // Our listeners also keep Ink's exit hook (signal-exit) from re-sending the
  // signal, which would end the process before the screen is restored. They
  // stay until the UI is gone, so a second signal then acts at once.
  for (const name of STOP_SIGNALS) process.on(name, stop);
  // In raw mode Ctrl-D is a key: the end of input means the terminal hung up,
  // which the kernel signals only to the session leader (the shell forwards it or not).
  const hungUp = (): void => stop("SIGHUP");
  terminal.stdin.on("end", hungUp);
  terminal.stdout.write(ALTERNATE_SCREEN);
  let interrupted = false;
  try {
    // Not Ink's own Ctrl-C, which would quit at once and drop what is pending.
    instance = render(<App {...props} onProgress={(now) => (progress = now)} />, { ...terminal, exitOnCtrlC: false, patchConsole: false });
    // What the App exits with; nothing when a signal unmounted it.
    interrupted = (await instance.waitUntilExit()) === INTERRUPTED;
  } finally {
    terminal.stdout.write(MAIN_SCREEN);
    for (const name of STOP_SIGNALS) process.off(name, stop);
    terminal.stdin.off("end", hungUp);
  }
  return { ...progress, signal, interrupted };
}
