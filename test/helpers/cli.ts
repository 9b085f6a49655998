// Runs the bundled command (what users run) in a child process.

import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { fileURLToPath } from "node:url";

export const BIN = fileURLToPath(new URL("../../bin/fsblacklist.js", import.meta.url));

export interface CliResult {
  status: number;
  stdout: string;
  stderr: string;
  stdoutBytes: Buffer;
}

export function runCli(args: readonly string[], options: SpawnSyncOptions & { input?: string } = {}): CliResult {
  const result = spawnSync(process.execPath, [BIN, ...args], {
    encoding: "buffer",
    env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" },
    ...options,
  });
  if (result.error) throw result.error;
  const stdoutBytes = result.stdout as Buffer;
  return {
    status: result.status ?? -1,
    stdout: stdoutBytes.toString("utf8"),
    stderr: (result.stderr as Buffer).toString("utf8"),
    stdoutBytes,
  };
}
