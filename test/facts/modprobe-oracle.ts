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
  /** "lookup": `modprobe -R`; "dry-run": `modprobe -n -v`; "show-depends": `--show-depends` (loaded modules ignored: the next boot). */
  mode: "lookup" | "dry-run" | "show-depends";
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
      const mode = job.mode === "lookup" ? "-R" : job.mode === "dry-run" ? "-n -v" : "--show-depends";
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

/**
 * The real kmod's verdict on one `--show-depends` run: the request loads a
 * module when kmod found one (exit 0, something printed) and every `install`
 * line it would run is one that goes on to load the module (fsblacklist's own
 * hook line, or exactly `/sbin/modprobe --ignore-install MODULE`), and the
 * kernel's `module_blacklist=` names none of the files it inserts. Judged from
 * kmod's output alone, never from our model: the commands that count as loading
 * are listed here verbatim.
 */
export function kmodLoads(run: ModprobeRun, cmdline: string): boolean {
  if (run.status !== 0) return false;
  const lines = run.stdout.split("\n").filter(Boolean);
  if (lines.length === 0) return false;
  const refused = new Set<string>();
  for (const word of cmdline.split(/\s+/)) if (word.startsWith("module_blacklist=")) for (const n of word.slice(17).split(",")) refused.add(n);
  for (const line of lines) {
    const install = /^install (.*) $/.exec(line);
    if (install !== null) {
      const command = install[1]!;
      const hook = /^\/usr\/bin\/fsblacklist modprobe-hook (\S+) 2>\/dev\/null; \/sbin\/modprobe --ignore-install (\S+) \$CMDLINE_OPTS$/.exec(command);
      const plain = /^\/sbin\/modprobe --ignore-install (\S+)$/.exec(command);
      if (!(hook !== null && hook[1] === hook[2]) && plain === null) return false;
      continue;
    }
    const insmod = /^insmod (\S+)/.exec(line);
    if (insmod !== null) {
      const name = path
        .basename(insmod[1]!)
        .replace(/\.ko(\.\w+)?$/, "")
        .replaceAll("-", "_");
      if (refused.has(name)) return false;
    }
  }
  return true;
}
