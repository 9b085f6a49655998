// Fake roots with the shipped policy installed in the vendor directory (as
// `apply` installs it), snapshots of whole trees, and a tmux terminal driver.

import { spawnSync } from "node:child_process";
import { createHash, randomBytes } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { entriesForProfile, fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";

export const VENDOR_DIR = "usr/lib/modprobe.d";
export const ADMIN_DIR = "etc/modprobe.d";

/** A fake root whose vendor directory holds the default profile's fragments. */
export function policyRoot(spec: FakeRootSpec = {}): FakeRoot {
  const root = createFakeRoot(spec);
  const policy = loadPolicy(shippedPolicyDir());
  const vendor = path.join(root.dir, VENDOR_DIR);
  fs.mkdirSync(vendor, { recursive: true });
  for (const entry of entriesForProfile(policy, "default")) {
    fs.writeFileSync(path.join(vendor, fragmentName(entry.module)), renderFragment(entry, "default"));
  }
  return root;
}

export function overridePath(root: FakeRoot, module: string): string {
  return path.join(root.dir, ADMIN_DIR, fragmentName(module));
}

/**
 * Every entry under a directory with its type, mode, size, mtime and content
 * hash (or link target): two equal snapshots mean the tree was not touched.
 */
export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const full = path.join(dir, rel);
    const stat = fs.lstatSync(full);
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isSymbolicLink()) out.set(rel, `link ${fs.readlinkSync(full)}`);
    else if (stat.isDirectory()) {
      out.set(rel, `dir ${mode}`);
      for (const name of fs.readdirSync(full).sort()) walk(path.join(rel, name));
    } else {
      const hash = createHash("sha256").update(fs.readFileSync(full)).digest("hex");
      out.set(rel, `file ${mode} ${stat.size} ${stat.mtimeMs} ${hash}`);
    }
  };
  walk(".");
  return out;
}

/** Lines of a `modprobe -c` configuration section that mention a module. */
export function linesFor(config: Buffer, module: string): string[] {
  return config
    .toString("latin1")
    .split("\n")
    .filter((line) => line.split(" ")[1] === module);
}

/** A tmux server of its own (its own socket), so tests never meet each other's sessions. */
export class Terminal {
  private readonly socket = `fsb-test-${process.pid}-${randomBytes(4).toString("hex")}`;
  private readonly session = "t";

  constructor(env: Record<string, string> = {}) {
    const vars = Object.entries({ NO_COLOR: "1", HISTFILE: "/dev/null", ...env }).flatMap(([k, v]) => ["-e", `${k}=${v}`]);
    this.tmux(["-f", "/dev/null", "new-session", "-d", "-s", this.session, "-x", "100", "-y", "30", ...vars, "bash --norc --noprofile"]);
  }

  private tmux(args: string[]): string {
    const result = spawnSync("tmux", ["-L", this.socket, ...args], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`tmux ${args.join(" ")} failed: ${result.stderr}`);
    return result.stdout;
  }

  /**
   * Empties the screen and its history at once (tmux resets the pane itself), so
   * that what a test waits for next can only come from what it types next.
   */
  fresh(): void {
    this.tmux(["send-keys", "-R", "-t", this.session]);
    this.tmux(["clear-history", "-t", this.session]);
  }

  /** Types a line and Enter. */
  type(text: string): void {
    this.tmux(["send-keys", "-t", this.session, "-l", text]);
    this.tmux(["send-keys", "-t", this.session, "Enter"]);
  }

  /** Sends tmux key names (C-d, ...). */
  keys(...names: string[]): void {
    this.tmux(["send-keys", "-t", this.session, ...names]);
  }

  screen(): string {
    return this.tmux(["capture-pane", "-p", "-J", "-S", "-200", "-t", this.session]);
  }

  /** Waits until the screen matches, and returns it; fails with the screen after the timeout. */
  async waitFor(pattern: RegExp, timeoutMs = 15_000): Promise<string> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const screen = this.screen();
      if (pattern.test(screen)) return screen;
      if (Date.now() > deadline) throw new Error(`timed out waiting for ${pattern} on the terminal:\n${screen}`);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  close(): void {
    spawnSync("tmux", ["-L", this.socket, "kill-server"]);
  }
}

/** Quotes a word for the shell in the terminal. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** What a command printed: the lines between its echoed command line and its `EXIT=<status>` line. */
export function outputOf(screen: string): string {
  const lines = screen.split("\n");
  const exit = lines.findIndex((line) => /^EXIT=\d+$/.test(line));
  const command = lines.findIndex((line) => line.includes('echo "EXIT=$?"'));
  if (exit < 0 || command < 0 || command > exit) throw new Error(`no command and exit status on the screen:\n${screen}`);
  return lines.slice(command + 1, exit).join("\n");
}
