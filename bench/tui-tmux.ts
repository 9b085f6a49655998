// Time to first frame of a terminal program, measured in a real terminal: tmux
// starts the program in a fresh window and we poll the screen until it shows
// what the first frame shows. One tmux server (on a private socket) serves every
// run, kept alive by an idle session, so server start-up is not measured.

import { spawnSync } from "node:child_process";

export interface FrameTarget {
  name: string;
  /** The shell command tmux runs (already quoted). */
  command: string;
  /** The first frame is there when the screen matches this. */
  ready: RegExp;
}

export class TmuxTimer {
  private readonly socket = `fsb-bench-${process.pid}`;
  private count = 0;

  constructor() {
    this.tmux(["new-session", "-d", "-s", "keeper", "-x", "120", "-y", "40", "sleep 3600"]);
  }

  private tmux(args: readonly string[]): { status: number | null; stdout: string } {
    const result = spawnSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
    if (result.error) throw result.error;
    return { status: result.status, stdout: result.stdout };
  }

  /** Milliseconds from asking tmux to start the command until the screen matches. */
  time(target: FrameTarget, timeoutMs = 20_000): number {
    const session = `run-${++this.count}`;
    const start = process.hrtime.bigint();
    const created = this.tmux(["new-session", "-d", "-s", session, "-x", "120", "-y", "40", target.command]);
    if (created.status !== 0) throw new Error(`tmux could not start ${target.name}`);
    try {
      let screen = "";
      for (;;) {
        const capture = this.tmux(["capture-pane", "-p", "-t", session]);
        if (capture.status !== 0) throw new Error(`${target.name} exited before its first frame; the screen showed:\n${screen}`);
        screen = capture.stdout;
        const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
        if (target.ready.test(screen)) return elapsed;
        if (elapsed > timeoutMs) throw new Error(`${target.name}: no first frame after ${timeoutMs} ms; the screen shows:\n${screen}`);
      }
    } finally {
      this.tmux(["kill-session", "-t", session]);
    }
  }

  close(): void {
    this.tmux(["kill-server"]);
  }
}

export function tmuxAvailable(): boolean {
  return spawnSync("tmux", ["-V"]).status === 0;
}
