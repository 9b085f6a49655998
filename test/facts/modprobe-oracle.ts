// The real modprobe (kmod) run against fake roots: `-R` lookups and `-n -v` dry
// runs. Each root's requests run in one private mount namespace (`unshare -m`)
// where the root's proc/cmdline and sys/module are bind-mounted over the host's,
// because kmod reads those two from the absolute paths whatever -d says.

import { spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { MODPROBE_DIRS } from "../../src/kmod/config-files.ts";

export interface ModprobeRun {
  request: string;
  status: number;
  stdout: string;
  stderr: string;
}

export interface OracleJob {
  root: string;
  release: string;
  /** "lookup": `modprobe -R`; "dry-run": `modprobe -n -v`. */
  mode: "lookup" | "dry-run";
  requests: readonly string[];
}

const quote = (s: string): string => `'${s.replaceAll("'", `'\\''`)}'`;

/** Runs every job's requests; results in the same order. One `unshare` for all. */
export function runModprobe(jobs: readonly OracleJob[]): ModprobeRun[][] {
  const out = mkdtempSync(path.join(tmpdir(), "fsblacklist-oracle-"));
  try {
    let script = "set -u\n";
    jobs.forEach((job, j) => {
      const cmdline = path.join(job.root, "proc/cmdline");
      const sysModule = path.join(job.root, "sys/module");
      const empty = path.join(out, "empty-cmdline");
      writeFileSync(empty, "");
      script += `mount --bind ${quote(existsSync(cmdline) ? cmdline : empty)} /proc/cmdline\n`;
      if (existsSync(sysModule)) script += `mount --bind ${quote(sysModule)} /sys/module\n`;
      const config = MODPROBE_DIRS.map((dir) => `-C ${quote(path.join(job.root, dir))}`).join(" ");
      const mode = job.mode === "lookup" ? "-R" : "-n -v";
      job.requests.forEach((request, r) => {
        const file = path.join(out, `${j}-${r}`);
        script += `modprobe ${mode} ${config} -d ${quote(job.root)} -S ${quote(job.release)} -- ${quote(request)} >${quote(file + ".out")} 2>${quote(file + ".err")}; echo $? >${quote(file + ".rc")}\n`;
      });
      if (existsSync(sysModule)) script += "umount /sys/module\n";
      script += "umount /proc/cmdline\n";
    });
    const scriptFile = path.join(out, "run.sh");
    writeFileSync(scriptFile, script);
    const result = spawnSync("unshare", ["-m", "--propagation", "private", "sh", scriptFile], { encoding: "utf8" });
    if (result.status !== 0) throw new Error(`unshare failed (${result.status ?? result.signal}): ${result.error?.message ?? result.stderr}`);
    return jobs.map((job, j) =>
      job.requests.map((request, r) => {
        const file = path.join(out, `${j}-${r}`);
        return {
          request,
          status: Number(readFileSync(file + ".rc", "utf8").trim()),
          stdout: readFileSync(file + ".out", "utf8"),
          stderr: readFileSync(file + ".err", "utf8"),
        };
      }),
    );
  } finally {
    rmSync(out, { recursive: true, force: true });
  }
}

/** Whether this process may create mount namespaces (the oracle needs root). */
export function canRunOracle(): boolean {
  if (process.getuid?.() !== 0) return false;
  return spawnSync("unshare", ["-m", "true"]).status === 0 && spawnSync("modprobe", ["--version"]).status === 0;
}
