// Shared by the uninstall tests: running the command on a fake root (in this process), and
// what the real kmod makes of a root (byte for byte, `modprobe -c`).

import { runInProcess, type CliResult } from "../helpers/cli.ts";
import { runOracle } from "../helpers/kmod-oracle.ts";

export interface UninstallJson {
  changed: boolean;
  dryRun: boolean;
  purge: boolean;
  actions: { action: "remove" | "leave"; file: "fragment" | "override"; path: string; module: string; reason: string; diff?: string }[];
  initramfsStale: boolean;
  initramfsOwedSince: string | null;
  initramfs: { stale: boolean; tool: string | null; command: string | null; regenerated: boolean; error: string | null; owedSince: string | null };
  blacklistChanged: boolean;
  state: { path: string; action: "update" | "remove" | "none"; directory: string | null };
  kept: { module: string; reason: string; since: string; kernel: string | null }[];
  notes: string[];
}

export async function run(root: string, args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<CliResult> {
  return runInProcess(["--root", root, ...args], { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "", ...env } });
}

export async function uninstall(root: string, args: readonly string[] = []): Promise<CliResult> {
  return run(root, ["uninstall", ...args]);
}

export async function uninstallJson(root: string, args: readonly string[] = []): Promise<UninstallJson> {
  const result = await uninstall(root, ["--json", ...args]);
  if (result.status !== 0) throw new Error(`uninstall --json exited ${result.status}: ${result.stderr}`);
  return JSON.parse(result.stdout) as UninstallJson;
}

/** `modprobe -c`'s configuration section for each root, as the real kmod prints it. */
export async function kmodConfigs(...roots: string[]): Promise<string[]> {
  const results = await runOracle(roots);
  return results.map((r) => {
    if (r.status !== 0) throw new Error(`modprobe -c failed (exit ${r.status}): ${r.stderr.toString("latin1")} (${r.command})`);
    return r.config.toString("latin1");
  });
}

/** What a directory walk differs by, apart from directories that only appeared (the lock's run/, parents apply created). */
export function besidesNewDirectories(diff: readonly string[]): string[] {
  return diff.filter((line) => !/^added \S+ \(dir \d+\)$/.test(line));
}
