// What a run of the bundled command loads: every module's URL, as
// test/tui/record-loads.mjs records them (ES modules, CommonJS files, and the
// bundles main.cjs compiles with their code cache).

import { spawnSync } from "node:child_process";
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { BIN } from "./cli.ts";
import { makeScratchDir } from "./tree-generator.ts";

const RECORD_LOADS = fileURLToPath(new URL("../tui/record-loads.mjs", import.meta.url));

/** Runs the bundled command without a terminal, recording the URL of every module it loads. */
export function runRecordingLoads(args: readonly string[]): { status: number; stderr: string; loaded: string[] } {
  const scratch = makeScratchDir("fsb-loads-");
  const log = path.join(scratch, "loads");
  try {
    const child = spawnSync(process.execPath, ["--import", RECORD_LOADS, BIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "", FSB_LOAD_LOG: log },
    });
    const loaded = readFileSync(log, "utf8")
      .split("\n")
      .filter((url) => url.startsWith("file:"));
    return { status: child.status ?? -1, stderr: child.stderr, loaded };
  } finally {
    rmSync(scratch, { recursive: true, force: true });
  }
}
