// Runs fsblacklist for a test, two ways. runCli: the bundled command (what users
// run) in a child process, for what only a process shows (exit codes of the
// bundle, file descriptors, signals, a non-root user, the PATH its children see).
// runInProcess: main() from src/ in this process, with the same arguments,
// environment and working directory: the command tests, an order of magnitude
// cheaper than a spawn each. With --json, stdout is checked against the
// command's JSON Schema (schemas/) either way: a document that breaks it fails
// the test that ran it.

import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { fileURLToPath } from "node:url";
import { main } from "../../src/main.ts";
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

export interface InProcessOptions {
  /** The whole environment the command sees (default: this process's, with NO_COLOR=1 and DPKG_ROOT empty). */
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  uid?: number;
}

/** main() with captured output, standard input not a terminal; the same result as runCli. */
export async function runInProcess(args: readonly string[], options: InProcessOptions = {}): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const capture =
    (into: Buffer[]) =>
    (text: string | Uint8Array): void =>
      void into.push(typeof text === "string" ? Buffer.from(text, "utf8") : Buffer.from(text));
  const status = await main(args, {
    stdin: { isTTY: false },
    stdout: { write: capture(out), isTTY: false },
    stderr: { write: capture(err), isTTY: false },
    env: options.env ?? { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" },
    uid: options.uid ?? process.geteuid?.() ?? 0,
    cwd: options.cwd ?? process.cwd(),
  });
  const stdoutBytes = Buffer.concat(out);
  assertJsonOutput(args, stdoutBytes.toString("utf8"), status);
  return { status, stdout: stdoutBytes.toString("utf8"), stderr: Buffer.concat(err).toString("utf8"), stdoutBytes };
}
