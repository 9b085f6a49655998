// Shared by the apply tests: running the command on a fake root (in this process;
// applySpawned runs the bundle, for what needs a process of its own), a
// private policy directory for policy updates, snapshots of the files apply
// manages, and what the real kmod makes of the result.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { BIN, runCli, runInProcess, type CliResult } from "../helpers/cli.ts";
import { MODPROBE_DIRS } from "../../src/kmod/config-files.ts";
import { fragmentName, renderFragment, type PolicyEntry } from "../../src/policy/fragment.ts";
import { loadPolicy, shippedPolicyDir } from "../../src/policy/policy.ts";

export const VENDOR = "usr/lib/modprobe.d";
export const ADMIN = "etc/modprobe.d";
export const STATE = "var/lib/fsblacklist/state.json";

export const SHIPPED = loadPolicy(shippedPolicyDir());
export const DEFAULT_MODULES = SHIPPED.entries.filter((e) => e.profiles.includes("default")).map((e) => e.module);

/** How to run the bundled command: node and its file. */
export const CLI = [process.execPath, BIN];

export async function apply(root: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runInProcess(["--root", root, "apply", ...args], { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "", ...env } });
}

/** apply() by the bundled command in a child process: for variables read at start-up (FSBLACKLIST_TEST_CRASH_AFTER). */
export function applySpawned(root: string, args: readonly string[] = [], env: NodeJS.ProcessEnv = {}): CliResult {
  return runCli(["--root", root, "apply", ...args], { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "", ...env } });
}

/** The argv that runs `fsblacklist --root ROOT apply ARGS`, for tests that spawn it themselves. */
export function applyArgv(root: string, args: readonly string[] = []): string[] {
  return [BIN, "--root", root, "apply", ...args];
}

export async function applyJson(root: string, args: readonly string[] = []): Promise<{ result: CliResult; json: ApplyJson }> {
  const result = await apply(root, ["--json", ...args]);
  if (result.status !== 0) throw new Error(`apply --json exited ${result.status}: ${result.stderr}`);
  return { result, json: JSON.parse(result.stdout) as ApplyJson };
}

export interface ApplyJson {
  changed: boolean;
  dryRun: boolean;
  actions: { action: string; path: string; module: string; reason: string }[];
  initramfsStale: boolean;
  initramfsOwedSince: string | null;
  initramfs: { stale: boolean; tool: string | null; command: string | null; regenerated: boolean; error: string | null; owedSince: string | null };
  blacklistChanged: boolean;
  policyVersion: string;
  previousPolicyVersion: string | null;
  kernel: string | null;
  kept: { module: string; reason: string; since: string; kernel: string | null }[];
  newEntries: { module: string; since: string; reason: string }[];
  notes: string[];
}

/** A policy directory of our own (version, entries), for testing policy updates. */
export function makePolicy(version: string, entries: readonly Pick<PolicyEntry, "module" | "since">[]): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-policy-"));
  fs.writeFileSync(path.join(dir, "policy.json"), JSON.stringify({ version, profiles: { default: "test profile" } }));
  for (const { module, since } of entries) {
    const entry: PolicyEntry = { module, filesystems: [module], description: null, reason: `${module} for tests`, references: [], since, kernels: null, profiles: ["default"], file: "" };
    fs.writeFileSync(path.join(dir, fragmentName(module)), renderFragment(entry, "default"));
  }
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

export function writeConfig(root: string, text: string): void {
  fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), text);
}

export interface FileFacts {
  content: string;
  mtimeMs: number;
  ino: number;
}

/** Every file under the directories apply may touch, by root-relative path. */
export function snapshot(root: string, dirs: readonly string[] = ["etc", "usr", "var", "run", "lib/modprobe.d"]): Map<string, FileFacts> {
  const files = new Map<string, FileFacts>();
  const walk = (rel: string): void => {
    const abs = path.join(root, rel);
    // A file may vanish while we look (a running apply renames its temporary files).
    try {
      const stat = fs.lstatSync(abs);
      if (stat.isDirectory()) {
        for (const name of fs.readdirSync(abs).sort()) walk(path.posix.join(rel, name));
      } else {
        const content = stat.isSymbolicLink() ? `-> ${fs.readlinkSync(abs)}` : fs.readFileSync(abs, "latin1");
        files.set(rel, { content, mtimeMs: stat.mtimeMs, ino: stat.ino });
      }
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
    }
  };
  for (const dir of dirs) walk(dir);
  return files;
}

export function contents(snap: Map<string, FileFacts>): Record<string, string> {
  return Object.fromEntries([...snap].map(([p, f]) => [p, f.content]));
}

/**
 * The real kmod's configuration for the root: `modprobe -C <its five directories> -c`
 * in a private mount namespace, with the root's proc/cmdline (or nothing) over
 * /proc/cmdline and its own module directory, so nothing of the host leaks in.
 */
export function kmodConfig(root: string): string {
  const cmdline = fs.existsSync(path.join(root, "proc/cmdline")) ? path.join(root, "proc/cmdline") : "/dev/null";
  const releaseFile = path.join(root, "proc/sys/kernel/osrelease");
  const release = fs.existsSync(releaseFile) ? fs.readFileSync(releaseFile, "utf8").trim() : "no-running-kernel";
  const args = [...MODPROBE_DIRS.flatMap((dir) => ["-C", path.join(root, dir)]), "-d", root, "-S", release, "-c"];
  const script = 'mount --bind "$1" /proc/cmdline && shift && exec modprobe "$@"';
  const result = spawnSync("unshare", ["-m", "sh", "-c", script, "kmod", cmdline, ...args], { encoding: "latin1" });
  const end = result.stdout.lastIndexOf("\n# End of configuration files");
  if (result.status !== 0 || end < 0) throw new Error(`modprobe -c failed (exit ${result.status}): ${result.stderr}`);
  return result.stdout.slice(0, end + 1);
}

/** kmod's verdict over the root: which modules it blacklists, and their install lines. */
export function kmodVerdict(root: string): { blacklisted: Set<string>; installs: Map<string, string> } {
  const blacklisted = new Set<string>();
  const installs = new Map<string, string>();
  for (const line of kmodConfig(root).split("\n")) {
    const words = line.split(" ");
    if (words[0] === "blacklist" && words[1]) blacklisted.add(words[1]);
    if (words[0] === "install" && words[1]) installs.set(words[1], words.slice(2).join(" "));
  }
  return { blacklisted, installs };
}

/** Loadable by an fs-<type> request and by name (no blacklist, no install line of ours). */
export function loadableFor(verdict: ReturnType<typeof kmodVerdict>, module: string): boolean {
  return !verdict.blacklisted.has(module) && !verdict.installs.has(module);
}

/** File contents with the times of writing blanked, for comparing two roots applied at different moments. */
export function settledContents(root: string, dirs?: readonly string[]): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [file, facts] of snapshot(root, dirs)) out[file] = facts.content.replace(/\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g, "<time>");
  return out;
}

/** Runs a shell command as root (mount and umount for the failure tests); throws with its stderr. */
export function sh(command: string): void {
  const result = spawnSync("sh", ["-c", command], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command}: exit ${result.status}: ${result.stderr}`);
}
