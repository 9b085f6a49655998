// A real terminal for tests: a tmux server of its own (its own socket, so tests
// never meet each other's sessions) running one command in a window of a given
// size, driven with send-keys and read with capture-pane.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

const EXIT_LINE = /^\[fsb-test: exited (\d+)\]/m;

export interface TmuxOptions {
  env?: Record<string, string>;
  columns?: number;
  rows?: number;
  /** Read the scrollback too (up to 200 lines), with wrapped lines joined: for a shell whose output scrolls. */
  history?: boolean;
}

export class TmuxTerminal {
  private readonly socket = `fsb-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  private readonly target = "t";
  private readonly history: boolean;

  /** Starts `command` (argv) in a `columns` x `rows` window (80x24 unless told). */
  constructor(command: readonly string[], options: TmuxOptions = {}) {
    this.history = options.history === true;
    const env = Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    // After the command the window stays open and shows the exit status: tmux's
    // own remain-on-exit clears the screen (tmux 3.3a), losing the last frame.
    const keepOpen = `"$@"; echo "[fsb-test: exited $?]"; exec sleep 600`;
    this.tmux(["-f", "/dev/null", "new-session", "-d", "-s", this.target, "-x", String(options.columns ?? 80), "-y", String(options.rows ?? 24), ...env, "sh", "-c", keepOpen, "sh", ...command]);
  }

  private tmux(args: readonly string[]): string {
    const result = spawnSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`tmux ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout;
  }

  /** Sends tmux key names ("Space", "Enter", "Escape", "C-d", "j"). */
  keys(...names: string[]): void {
    this.tmux(["send-keys", "-t", this.target, ...names]);
  }

  /** Sends text as typed, character for character. */
  text(text: string): void {
    this.tmux(["send-keys", "-t", this.target, "-l", text]);
  }

  /** Types a line and Enter. */
  type(line: string): void {
    this.text(line);
    this.keys("Enter");
  }

  /**
   * Empties the screen and its history at once (tmux resets the pane itself), so
   * that what a test waits for next can only come from what it types next.
   */
  fresh(): void {
    this.tmux(["send-keys", "-R", "-t", this.target]);
    this.tmux(["clear-history", "-t", this.target]);
  }

  /** The screen (with the scrollback for a `history` terminal); with `escapes`, with its colours and attributes as escape sequences. */
  screen(escapes = false): string {
    const history = this.history ? ["-J", "-S", "-200"] : [];
    return this.tmux(["capture-pane", "-p", ...(escapes ? ["-e"] : []), ...history, "-t", this.target]);
  }

  /** tmux's own record of the pane, as `format` asks for it (`#{alternate_on}`, `#{cursor_flag}`: see FORMATS in tmux(1)). */
  display(format: string): string {
    return this.tmux(["display-message", "-p", "-t", this.target, format]).replace(/\n$/, "");
  }

  /** Waits until the screen satisfies `ok` and returns it; fails with the screen after the timeout. */
  async waitFor(ok: RegExp | ((screen: string) => boolean), timeoutMs = 15_000): Promise<string> {
    const test = typeof ok === "function" ? ok : (screen: string) => ok.test(screen);
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${String(ok)} on the terminal:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  }

  /** Waits for the command to end and returns its exit status. */
  async exitStatus(timeoutMs = 10_000): Promise<number> {
    const screen = await this.waitFor(EXIT_LINE, timeoutMs);
    return Number(EXIT_LINE.exec(screen)![1]);
  }

  resize(columns: number, rows: number): void {
    this.tmux(["resize-window", "-t", this.target, "-x", String(columns), "-y", String(rows)]);
  }

  close(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}

/** An interactive bash (100x30, no history file, no colour) whose output scrolls: for commands typed at a prompt. */
export function shellTerminal(env: Record<string, string> = {}): TmuxTerminal {
  return new TmuxTerminal(["bash", "--norc", "--noprofile"], { env: { NO_COLOR: "1", HISTFILE: "/dev/null", ...env }, columns: 100, rows: 30, history: true });
}
