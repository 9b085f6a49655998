// What every command gets: the confined root, its configuration, and where to
// write. Commands never touch process.* directly, so tests can run them in-process.

import { RootFs, chooseRoot } from "./system/root-fs.ts";
import type { Config } from "./model.ts";
import { loadConfig } from "./system/config.ts";
import { UsageError } from "./errors.ts";
import { statSync } from "node:fs";
import * as path from "node:path";
import { fdInput, fdOutput, type Input, type Output } from "./system/stdio.ts";

export interface GlobalOptions {
  root?: string;
  config?: string;
  json?: boolean;
  /** The policy profile for this run instead of the configured one. */
  profile?: string;
}

export interface Context {
  fs: RootFs;
  config: Config;
  json: boolean;
  stdin: Input;
  stdout: Output;
  stderr: Output;
  env: NodeJS.ProcessEnv;
  /** Colour and symbols only for a terminal, and never with NO_COLOR. */
  colour: boolean;
  /** Effective user id (0 = root). */
  uid: number;
  /** Host directory that relative paths on the command line are relative to. */
  cwd: string;
}

export interface IO {
  /** Default: the process's standard input. */
  stdin?: Input;
  stdout: Output;
  stderr: Output;
  env: NodeJS.ProcessEnv;
  uid: number;
  /** Default: the process's working directory. */
  cwd?: string;
}

export function processIO(): IO {
  return {
    stdin: fdInput(),
    stdout: fdOutput(1),
    stderr: fdOutput(2),
    env: process.env,
    uid: typeof process.geteuid === "function" ? process.geteuid() : 0,
    cwd: process.cwd(),
  };
}

export async function createContext(options: GlobalOptions, io: IO): Promise<Context> {
  const cwd = io.cwd ?? process.cwd();
  // An unset variable in `--root "$TARGET"` must not mean the host.
  if (options.root === "") throw new UsageError("--root '': the root directory is empty", "name a directory, or leave --root out for / ($DPKG_ROOT when set)");
  if (options.config === "") throw new UsageError("--config '': the configuration file is empty", `name a file, or leave --config out for ROOT/etc/fsblacklist/config.yaml`);
  const chosenRoot = chooseRoot(options.root, io.env);
  const rootDir = path.resolve(cwd, chosenRoot);
  let isDir = false;
  try {
    isDir = statSync(rootDir).isDirectory();
  } catch {
    isDir = false;
  }
  if (!isDir) throw new UsageError(`--root ${chosenRoot}: no such directory`);
  const fs = new RootFs(rootDir);
  const config = await loadConfig(fs, options.config === undefined ? undefined : { path: options.config, cwd });
  if (options.profile !== undefined) {
    // One run under another profile (a preview with --dry-run): checked against the policy like the configured one.
    const { loadPolicy, shippedPolicyDir } = await import("./policy/policy.ts");
    const policy = loadPolicy(config.policyDir ?? shippedPolicyDir());
    if (!(options.profile in policy.profiles)) {
      throw new UsageError(`--profile ${options.profile}: unknown policy profile`, `one of: ${Object.keys(policy.profiles).join(", ")}`);
    }
    config.profile = options.profile;
  }
  if (config.keep.always.length > 0) {
    const { checkKeepAlways } = await import("./policy/policy.ts");
    checkKeepAlways(config);
  }
  const noColour = io.env["NO_COLOR"] !== undefined && io.env["NO_COLOR"] !== "";
  let colour: boolean | undefined;
  return {
    fs,
    config,
    json: options.json === true,
    stdin: io.stdin ?? fdInput(),
    stdout: io.stdout,
    stderr: io.stderr,
    env: io.env,
    // Asked only by output for people: `--json` never looks whether stdout is a terminal.
    get colour() {
      colour ??= !noColour && io.env["TERM"] !== "dumb" && io.stdout.isTTY;
      return colour;
    },
    uid: io.uid,
    cwd,
  };
}
