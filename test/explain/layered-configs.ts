// The layered configurations of explain's verified-fixes test, shared with
// fix-then-apply: a generated table of blockers in every directory, several
// install lines, globs, dependencies, the command line with files, continued
// lines, `alias ... off`, /dev/null masks, the cis profile and our own block
// override, each built as a fake root with the policy's fragments installed;
// and the ways the tests run explain's commands and judge them with the real kmod.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, readlinkSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BIN, runInProcess } from "../helpers/cli.ts";
import { kmodLoads, runModprobe, type ModprobeRun } from "../facts/modprobe-oracle.ts";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";
import { renderMarker } from "../../src/policy/marker.ts";
import { prng } from "../helpers/random-sequences.ts";

export const CASES = Number(process.env["FSB_FIX_CASES"] ?? 44);
const policy = loadPolicy(shippedPolicyDir());

export interface Target {
  type: string;
  module: string;
  /** A dependency whose install line can stop it. */
  dependency?: string;
}
const TARGETS: Target[] = [
  { type: "jfs", module: "jfs" },
  { type: "minix", module: "minix" },
  { type: "hfs", module: "hfs", dependency: "cdrom" },
  { type: "hfsplus", module: "hfsplus", dependency: "cdrom" },
  { type: "iso9660", module: "isofs", dependency: "cdrom" },
  { type: "udf", module: "udf", dependency: "cdrom" },
  { type: "vfat", module: "vfat", dependency: "fat" },
  { type: "ufs", module: "ufs" },
];
const UNKNOWN = ["/bin/false;", "true && false", "/bin/echo disabled", "/bin/logger -t hardening x; /bin/false", "/bin/true"];
const DIRS = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"];

export interface Layered {
  title: string;
  target: Target;
  files: Record<string, string>;
  devnull: string[];
  cmdline: string;
  profile: "default" | "cis";
}

export function generate(n: number): Layered {
  const random = prng(n * 7919 + 17);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const target = TARGETS[n % TARGETS.length]!;
  const m = target.module;
  const files: Record<string, string> = {};
  const devnull: string[] = [];
  const layers: string[] = [];
  let cmdline = "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro quiet";
  const profile = n % 9 === 4 ? "cis" : "default";
  const add = (file: string, text: string): void => {
    files[file] = (files[file] ?? "") + text;
  };
  // Every case has at least one blocker: n picks which ones come on top.
  const want = (bit: number): boolean => ((n >> bit) & 1) === 1 || random() < 0.25;
  if (want(0)) {
    const dir = pick(DIRS);
    add(`${dir}/local-${n}.conf`, `# site hardening\nblacklist ${m}\n`);
    layers.push(`blacklist in ${dir}`);
  }
  if (want(1)) {
    const dir = pick(DIRS);
    const pattern = random() < 0.4 ? `${m.slice(0, 2)}*` : m;
    add(`${dir}/install-${n}.conf`, `install ${pattern} ${pick(UNKNOWN)}\n`);
    if (random() < 0.5) add(`${pick(DIRS)}/zz-second.conf`, `install ${m} /bin/false\n`);
    layers.push(`install lines (${pattern})`);
  }
  if (want(2)) {
    add(`${pick(DIRS)}/continued.conf`, `# continued\ninstall ${m} \\\n  /bin/false\n`);
    layers.push("a continued install line");
  }
  if (target.dependency !== undefined && want(3)) {
    add(`${pick(DIRS)}/harden-${target.dependency}.conf`, `install ${target.dependency} ${pick(["/bin/true", "/bin/false"])}\n`);
    layers.push(`install ${target.dependency}`);
  }
  if (want(4)) {
    cmdline += random() < 0.5 ? ` modprobe.blacklist=${m}` : ` modprobe.blacklist=nouveau,${m}`;
    layers.push("modprobe.blacklist=");
  }
  if (n % 11 === 5) {
    add(`${pick(DIRS)}/off.conf`, `alias fs-${target.type} off\n`);
    layers.push("alias off");
  }
  if (n % 13 === 6) {
    devnull.push(`etc/modprobe.d/${fragmentName(m)}`);
    layers.push("admin /dev/null mask");
  }
  if (n % 10 === 7 && !devnull.length) {
    const entry = policy.entries.find((e) => e.module === m);
    if (entry !== undefined) {
      add(
        `etc/modprobe.d/${fragmentName(m)}`,
        renderMarker({ kind: "block", module: m, reason: "blocked earlier", date: "2026-01-01T00:00:00.000Z", kernel: null }) + renderFragment(entry, "default"),
      );
      layers.push("our block override");
    }
  }
  if (layers.length === 0 || (profile === "default" && !policy.entries.some((e) => e.module === m) && layers.length === 0)) {
    add(`run/modprobe.d/fallback-${n}.conf`, `blacklist ${m}\n`);
    layers.push("blacklist in run");
  }
  return { title: `#${n} ${target.type}: ${[profile, ...layers].join(", ")}`, target, files, devnull, cmdline, profile };
}

export function build(c: Layered): FakeRoot {
  const root = createFakeRoot({ cmdline: c.cmdline, files: c.files });
  const vendor = path.join(root.dir, "usr/lib/modprobe.d");
  mkdirSync(vendor, { recursive: true });
  for (const entry of policy.entries) {
    if (!entry.profiles.includes(c.profile)) continue;
    writeFileSync(path.join(vendor, fragmentName(entry.module)), renderFragment(entry, c.profile));
  }
  for (const link of c.devnull) {
    mkdirSync(path.dirname(path.join(root.dir, link)), { recursive: true });
    symlinkSync("/dev/null", path.join(root.dir, link));
  }
  if (c.profile !== "default") {
    mkdirSync(path.join(root.dir, "etc/fsblacklist"), { recursive: true });
    writeFileSync(path.join(root.dir, "etc/fsblacklist/config.yaml"), `profile: ${c.profile}\n`);
  }
  return root;
}

export interface Explained {
  cause: string;
  fix: string[];
  fixSteps: { kind: "command" | "boot"; command: string; cmdline?: string }[];
  once: string | null;
  advice: string | null;
  evidence: string[];
}

export async function explain(root: FakeRoot, type: string): Promise<Explained> {
  const result = await runInProcess(["--root", root.dir, "explain", "--type", type, "--json"]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Explained;
}

export function showDepends(root: FakeRoot, type: string): ModprobeRun {
  return runModprobe([{ root: root.dir, release: root.release!, mode: "show-depends", requests: [`fs-${type}`] }])[0]![0]!;
}

/** A directory with `fsblacklist` on PATH, the bundle users run. */
export function fsblacklistOnPath(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "fsb-path-"));
  writeFileSync(path.join(dir, "fsblacklist"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(path.join(dir, "fsblacklist"), 0o755);
  return dir;
}

/** The one-time command, each `modprobe` in it a dry run of the real kmod; the modules it would insert are marked live for the next. */
export function runOnce(root: FakeRoot, once: string): void {
  const cmdline = readFileSync(path.join(root.dir, "proc/cmdline"), "utf8");
  for (const part of once.split(" && ")) {
    assert.match(part, /^modprobe /, part);
    const script = `mount --bind "$1/proc/cmdline" /proc/cmdline && mount --bind "$1/sys/module" /sys/module && ${part.replace(/^modprobe /, `modprobe -n -v -S ${root.release} `)}`;
    const run = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh", root.dir], { encoding: "utf8" });
    assert.equal(run.status, 0, `${part}: ${run.stderr}`);
    assert.ok(kmodLoads({ request: part, status: run.status ?? 1, stdout: run.stdout, stderr: run.stderr }, cmdline), `${part} runs an install line instead of loading:\n${run.stdout}`);
    for (const line of run.stdout.split("\n")) {
      const insmod = /^insmod \S*\/([^/\s]+?)\.ko(?:\.\w+)? /.exec(line);
      if (insmod === null) continue;
      const name = insmod[1]!.replaceAll("-", "_");
      mkdirSync(path.join(root.dir, "sys/module", name), { recursive: true });
      writeFileSync(path.join(root.dir, "sys/module", name, "initstate"), "live\n");
    }
  }
}

/** Every file under the root but the kernel's metadata and proc/, sys/: its content, or "-> target" for a link. */
export function snapshot(root: FakeRoot): Map<string, string> {
  const files = new Map<string, string>();
  const walk = (rel: string): void => {
    for (const name of readdirSync(path.join(root.dir, rel))) {
      const file = rel === "" ? name : `${rel}/${name}`;
      if (["lib/modules", "proc", "sys"].includes(file)) continue;
      const stat = lstatSync(path.join(root.dir, file));
      if (stat.isSymbolicLink()) files.set(file, `-> ${readlinkSync(path.join(root.dir, file))}`);
      else if (stat.isDirectory()) walk(file);
      else files.set(file, readFileSync(path.join(root.dir, file), "latin1"));
    }
  };
  walk("");
  return files;
}

/** The files created, changed or removed between two snapshots. */
export function changedFiles(before: ReadonlyMap<string, string>, after: ReadonlyMap<string, string>): string[] {
  const changed = new Set<string>();
  for (const [file, text] of after) if (before.get(file) !== text) changed.add(file);
  for (const file of before.keys()) if (!after.has(file)) changed.add(file);
  return [...changed].sort();
}

/**
 * What a fix step may touch: `fsblacklist allow` writes its override (and its
 * state and lock); every other step only the administrator's files in
 * etc/modprobe.d, run/modprobe.d or usr/local/lib/modprobe.d, never one of
 * fsblacklist's 60-blacklist_fs-* fragments or overrides, and nothing elsewhere.
 */
export function assertStepTouchesOnlyAdminFiles(title: string, command: string, changed: readonly string[]): void {
  if (/^fsblacklist( --root \S+)? allow /.test(command)) return;
  for (const file of changed) {
    assert.match(file, /^(etc|run|usr\/local\/lib)\/modprobe\.d\/[^/]+$/, `${title}: ${command} touched ${file}, outside the administrator's modprobe.d`);
    assert.doesNotMatch(path.posix.basename(file), /^60-blacklist_fs-/, `${title}: ${command} touched fsblacklist's ${file}`);
  }
}
