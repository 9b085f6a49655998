// Runs the bundled command (what users run) in a child process. With --json its
// stdout is checked against the command's JSON Schema (schemas/): a document that
// breaks it fails the test that ran it.

import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { fileURLToPath } from "node:url";
import { assertJsonOutput } from "./json-schemas.ts";

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
  assertJsonOutput(args, stdoutBytes.toString("utf8"), result.status);
  return {
    status: result.status ?? -1,
    stdout: stdoutBytes.toString("utf8"),
    stderr: (result.stderr as Buffer).toString("utf8"),
    stdoutBytes,
  };
}
