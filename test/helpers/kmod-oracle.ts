// The real kmod as the oracle: `modprobe -C <the five directories> -c` on a fake
// root, inside a private mount namespace where the root's proc/cmdline (or an
// empty file) is bind-mounted over /proc/cmdline, so the host's kernel command
// line never leaks in. Many roots run in one `unshare` so that a whole batch
// costs one namespace, not one per tree.

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { modprobeDirs } from "../../src/kmod/config-files.ts";
import { kmodBehaviour, NEWEST_KNOWN_KMOD } from "../../src/kmod/kmod-version.ts";
import { detectKmodVersion } from "../../src/system/kmod-detect.ts";
import { RootFs, nameAsText } from "../../src/system/root-fs.ts";
import { makeScratchDir } from "./tree-generator.ts";

export interface OracleResult {
  root: string;
  /** The configuration section of `modprobe -c` (everything before its end marker). */
  config: Buffer;
  /** Everything kmod printed on stderr (its ERR messages while reading the configuration). */
  stderr: Buffer;
  status: number;
  /** The modprobe command line that was run (for reproducing a failure by hand). */
  command: string;
}

const END_MARKER = Buffer.from("\n# End of configuration files");

/**
 * kmod reads modules.softdep from `-d ROOT -S RELEASE` (lib/modules/RELEASE); the
 * fake root's running release is proc/sys/kernel/osrelease, as for our model.
 * Without one we still pass a release that does not exist under the root, so that
 * kmod never falls back to the host's /lib/modules/`uname -r`.
 */
export const NO_RELEASE = "fsblacklist-oracle-no-kernel";

function releaseOf(root: string): string {
  const file = path.join(root, "proc/sys/kernel/osrelease");
  if (!existsSync(file)) return NO_RELEASE;
  const release = readFileSync(file, "utf8").trim();
  return release === "" ? NO_RELEASE : release;
}

/** The directories the root's kmod reads by default (its dpkg database, else the newest kmod). */
function configDirsOf(root: string): string[] {
  return modprobeDirs(kmodBehaviour(detectKmodVersion(new RootFs(root)) ?? NEWEST_KNOWN_KMOD));
}

export function modprobeArgs(root: string): string[] {
  return [...configDirsOf(root).flatMap((dir) => ["-C", path.join(root, dir)]), "-d", root, "-S", releaseOf(root), "-c"];
}

/** The shell loop run inside the namespace: one line of the job file per root. */
const SCRIPT = `
set -u
jobs=$1
uid=\${2:-}
as=""
[ -z "$uid" ] || as="setpriv --reuid=$uid --regid=$uid --clear-groups"
tab=$(printf '\\t')
while IFS=$tab read -r out root cmdline release usrlib; do
  mount --bind "$cmdline" /proc/cmdline || exit 97
  # Debian's kmod 30 does not read usr/lib/modprobe.d (kmod 32 does).
  set -- -C "$root/etc/modprobe.d" -C "$root/run/modprobe.d" -C "$root/usr/local/lib/modprobe.d"
  [ "$usrlib" = 1 ] && set -- "$@" -C "$root/usr/lib/modprobe.d"
  env -i PATH="$PATH" $as modprobe "$@" -C "$root/lib/modprobe.d" \\
    -d "$root" -S "$release" -c >"$out.stdout" 2>"$out.stderr"
  echo $? >"$out.status"
  umount /proc/cmdline || exit 98
done <"$jobs"
`;

function assertSafe(value: string, what: string): void {
  if (/[\t\n]/.test(value)) throw new Error(`kmod oracle: ${what} must not contain tabs or newlines: ${JSON.stringify(value)}`);
}

/** Runs a shell script in a private mount namespace; rejects unless it exits 0. */
function inMountNamespace(args: readonly string[]): Promise<void> {
  // As root a private mount namespace is enough; otherwise map ourselves to root
  // in a user namespace, which also allows the bind mount.
  const unshare = process.getuid?.() === 0 ? ["-m"] : ["-r", "-m"];
  return new Promise((resolve, reject) => {
    const child = spawn("unshare", [...unshare, "sh", "-c", SCRIPT, "kmod-oracle", ...args], { stdio: ["ignore", "ignore", "pipe"] });
    let stderr = "";
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", (error) => reject(new Error(`kmod oracle: cannot run unshare: ${error.message}`)));
    child.on("close", (code) => {
      if (code === 0) resolve();
      else reject(new Error(`kmod oracle: the namespace script failed (exit ${code}): ${stderr.trim()}`));
    });
  });
}

/**
 * Runs the real modprobe on every root and returns its results in order. The
 * roots are shared out between `parallel` namespaces running at the same time.
 */
export async function runOracle(
  roots: readonly string[],
  { parallel = 2, asUser }: { parallel?: number /** Run modprobe as this uid (and gid), e.g. 65534; needs root. */; asUser?: number } = {},
): Promise<OracleResult[]> {
  if (roots.length === 0) return [];
  const work = makeScratchDir("fsb-oracle-");
  try {
    const empty = path.join(work, "empty-cmdline");
    writeFileSync(empty, "");
    const chunks: string[][] = Array.from({ length: Math.max(1, Math.min(parallel, roots.length)) }, () => []);
    roots.forEach((root, index) => {
      const abs = path.resolve(root);
      const release = releaseOf(abs);
      const cmdline = path.join(abs, "proc/cmdline");
      for (const [value, what] of [
        [abs, "root"],
        [release, "release"],
      ] as const)
        assertSafe(value, what);
      chunks[index % chunks.length]!.push(
        [path.join(work, String(index)), abs, existsSync(cmdline) ? cmdline : empty, release, configDirsOf(abs).includes("usr/lib/modprobe.d") ? "1" : "0"].join("\t"),
      );
    });
    await Promise.all(
      chunks.map((lines, n) => {
        const jobs = path.join(work, `jobs-${n}`);
        writeFileSync(jobs, lines.join("\n") + "\n");
        return inMountNamespace(asUser === undefined ? [jobs] : [jobs, String(asUser)]);
      }),
    );
    return roots.map((root, index) => {
      const out = path.join(work, String(index));
      const stdout = readFileSync(`${out}.stdout`);
      const end = stdout.lastIndexOf(END_MARKER);
      if (end < 0) throw new Error(`kmod oracle: no end-of-configuration marker for ${root}: ${readFileSync(`${out}.stderr`, "latin1")}`);
      const abs = path.resolve(root);
      const cmdline = path.join(abs, "proc/cmdline");
      return {
        root: abs,
        config: stdout.subarray(0, end),
        stderr: readFileSync(`${out}.stderr`),
        status: Number(readFileSync(`${out}.status`, "utf8").trim()),
        command: `unshare -m sh -c 'mount --bind ${existsSync(cmdline) ? cmdline : "/dev/null"} /proc/cmdline && modprobe ${modprobeArgs(abs).join(" ")}'`,
      };
    });
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}

/** What kmod reported about the configuration, reduced to where (file and line) and what. */
export interface KmodReport {
  kind: "bad-line" | "deprecated" | "directory" | "cmdline-option";
  /** Root-relative file ("proc/cmdline" for the command line). */
  file: string;
  line?: number;
  /** The command word, module name or deprecated command, as bytes (latin1). */
  subject: string;
}

/** Parses kmod's stderr (latin1) into reports about the root's files. */
export function parseKmodStderr(stderr: Buffer, root: string): KmodReport[] {
  const prefix = Buffer.from(path.resolve(root) + "/");
  // Messages are read as latin1 to keep every byte; file names are shown as fsblacklist shows them.
  const relative = (p: string): string => {
    const bytes = Buffer.from(p, "latin1");
    const rel = bytes.subarray(0, prefix.length).equals(prefix) ? bytes.subarray(prefix.length) : bytes;
    const slash = rel.lastIndexOf("/");
    return rel.toString("utf8", 0, slash + 1) + nameAsText(rel.subarray(slash + 1));
  };
  const reports: KmodReport[] = [];
  // ERR lines look like "libkmod: ERROR ../libkmod/libkmod-config.c:712 kmod_config_parse: <message>".
  for (const raw of stderr.toString("latin1").split("\n")) {
    const message = /^libkmod: ERROR \S+ \w+: (.*)$/s.exec(raw)?.[1];
    if (message === undefined) continue;
    let m: RegExpExecArray | null;
    if ((m = /^(.*?) line (\d+): ignoring bad line starting with '(.*)'$/s.exec(message))) {
      reports.push({ kind: "bad-line", file: relative(m[1]!), line: Number(m[2]), subject: m[3]! });
    } else if ((m = /^(.*): command (\S+) is deprecated and not parsed anymore$/s.exec(message))) {
      reports.push({ kind: "deprecated", file: relative(m[1]!), subject: m[2]! });
    } else if ((m = /^Directories inside directories are not supported: (.*)$/s.exec(message))) {
      reports.push({ kind: "directory", file: relative(m[1]!), subject: "" });
    } else if ((m = /^Ignoring bad option on kernel command line while parsing module name: '(.*)'$/s.exec(message))) {
      reports.push({ kind: "cmdline-option", file: "proc/cmdline", subject: m[1]! });
    }
  }
  return reports;
}

/** True when the oracle can run here (modprobe installed). */
export function oracleAvailable(): boolean {
  return spawnSync("modprobe", ["--version"], { encoding: "utf8" }).status === 0;
}
