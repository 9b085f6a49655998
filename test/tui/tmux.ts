// A real terminal for the review UI: a tmux server of its own running one
// command in an 80x24 window, driven with send-keys and read with capture-pane.

import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";

const EXITED = "[fsb-test: exited ";
const EXIT_PATTERN = "\\[fsb-test: exited (\\d+)\\]";

export class TmuxTerminal {
  private readonly socket = `fsb-tui-${process.pid}-${randomBytes(4).toString("hex")}`;
  private readonly target = "review";

  /** Starts `command` (argv) in a `columns` x `rows` window. */
  constructor(command: readonly string[], options: { env?: Record<string, string>; columns?: number; rows?: number } = {}) {
    const env = Object.entries(options.env ?? {}).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    // After the command the window stays open (tmux's remain-on-exit would clear
    // the screen) and shows the exit status.
    const keepOpen = `"$@"; echo "${EXITED}$?]"; exec sleep 600`;
    this.tmux([
      "-f", "/dev/null", "new-session", "-d", "-s", this.target,
      "-x", String(options.columns ?? 80), "-y", String(options.rows ?? 24), ...env,
      "sh", "-c", keepOpen, "sh", ...command,
    ]);
  }

  private tmux(args: readonly string[]): string {
    const result = spawnSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`tmux ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout;
  }

  /** Sends tmux key names ("Space", "Enter", "Escape", "j"). */
  keys(...names: string[]): void {
    this.tmux(["send-keys", "-t", this.target, ...names]);
  }

  /** Sends text as typed, character for character. */
  text(text: string): void {
    this.tmux(["send-keys", "-t", this.target, "-l", text]);
  }

  /** The visible screen; with `escapes`, with its colours and attributes as escape sequences. */
  screen(escapes = false): string {
    return this.tmux(["capture-pane", "-p", ...(escapes ? ["-e"] : []), "-t", this.target]);
  }

  /** Waits until the screen satisfies `ok` and returns it; fails with the screen after the timeout. */
  async waitFor(ok: RegExp | ((screen: string) => boolean), timeoutMs = 10_000): Promise<string> {
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
    const screen = await this.waitFor(new RegExp(`^${EXIT_PATTERN}`, "m"), timeoutMs);
    return Number(new RegExp(`^${EXIT_PATTERN}`, "m").exec(screen)![1]);
  }

  resize(columns: number, rows: number): void {
    this.tmux(["resize-window", "-t", this.target, "-x", String(columns), "-y", String(rows)]);
  }

  close(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}
