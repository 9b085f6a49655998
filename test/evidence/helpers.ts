// Shared by the evidence suites: running the command (bundled, or in-process
// for argv that no command line can carry), byte-exact snapshots of trees, and
// the invariant that no install line in a tree is anything but our exact form or
// the administrator's own text.

import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN } from "../helpers/cli.ts";
import { assertJsonOutput } from "../helpers/json-schemas.ts";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { fragmentName, renderFragment, type PolicyEntry } from "../../src/policy/fragment.ts";
import { main } from "../../src/main.ts";
import type { IO } from "../../src/context.ts";

export const VENDOR = "usr/lib/modprobe.d";
export const ADMIN = "etc/modprobe.d";
export const STATE = "var/lib/fsblacklist/state.json";
export const LOCK = "run/fsblacklist.lock";
/** Where kmod reads configuration, as root-relative paths. */
export const KMOD_DIRS = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"];

export const ENV: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: "1", DPKG_ROOT: "", FSBLACKLIST_DEBUG: "" };

export interface Run {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

/** Runs the bundled command and waits for it. */
export function fsb(args: readonly string[], env: NodeJS.ProcessEnv = {}): Run {
  const result = spawnSync(process.execPath, [BIN, ...args], { encoding: "utf8", env: { ...ENV, ...env }, stdio: ["ignore", "pipe", "pipe"], maxBuffer: 1 << 28 });
  if (result.error) throw result.error;
  assertJsonOutput(args, result.stdout, result.status);
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

/** Starts the bundled command; `done` resolves when it has exited. */
export function fsbAsync(args: readonly string[], env: NodeJS.ProcessEnv = {}): { pid: number; kill: (signal: NodeJS.Signals) => void; done: Promise<Run> } {
  const child = spawn(process.execPath, [BIN, ...args], { env: { ...ENV, ...env }, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.setEncoding("utf8").on("data", (chunk: string) => (stdout += chunk));
  child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
  const done = new Promise<Run>((resolve, reject) => {
    child.on("error", reject);
    child.on("close", (status, signal) => {
      // A run a test killed has no whole document to check.
      try {
        if (signal === null) assertJsonOutput(args, stdout, status);
      } catch (error) {
        reject(error);
        return;
      }
      resolve({ status, signal, stdout, stderr });
    });
  });
  return { pid: child.pid!, kill: (signal) => void child.kill(signal), done };
}

/** Runs the command in this process (for argv a command line cannot carry, such as NUL). */
export async function fsbInProcess(args: readonly string[], env: NodeJS.ProcessEnv = {}): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const io: IO = {
    stdout: { write: (text) => void (stdout += String(text)), isTTY: false },
    stderr: { write: (text) => void (stderr += String(text)), isTTY: false },
    env: { NO_COLOR: "1", ...env },
    uid: 0,
  };
  const status = await main(args, io);
  assertJsonOutput(args, stdout, status);
  return { status, stdout, stderr };
}

/** A fake root with the shipped policy applied once by the real command, as after installing the package. */
export function installedRoot(spec: FakeRootSpec = {}, profile = "default"): FakeRoot {
  const root = createFakeRoot(spec);
  if (profile !== "default") writeConfig(root.dir, `profile: ${profile}\n`);
  const run = fsb(["--root", root.dir, "apply"]);
  if (run.status !== 0) {
    root.cleanup();
    throw new Error(`apply on a fresh fake root failed (exit ${run.status}): ${run.stderr}`);
  }
  return root;
}

export { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";

/** Regular files (not links) in the directories kmod reads, root-relative, with their bytes. */
export function configFiles(root: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const dir of KMOD_DIRS) {
    const full = path.join(root, dir);
    let names: string[];
    try {
      if (!fs.lstatSync(full).isDirectory()) continue;
      names = fs.readdirSync(full);
    } catch {
      continue;
    }
    for (const name of names) {
      const stat = fs.lstatSync(path.join(full, name));
      if (stat.isFile()) files.set(`${dir}/${name}`, fs.readFileSync(path.join(full, name)));
    }
  }
  return files;
}

/**
 * The configuration files that are not ours: everything in the kmod directories
 * except our installed fragments and our marked overrides. We must never change these.
 */
export function adminFiles(root: string): Map<string, Buffer> {
  const files = configFiles(root);
  for (const [file, bytes] of files) {
    const text = bytes.toString("latin1");
    if (text.startsWith("# fsblacklist-policy: fragment\n") || text.startsWith("# Managed by fsblacklist.")) files.delete(file);
  }
  return files;
}

// Written out here rather than taken from src/: the test must not trust the code it checks.
const SAFE_MODULE = "[A-Za-z0-9_][A-Za-z0-9_-]{0,55}";
const OUR_INSTALL_LINES = [
  new RegExp(`^install (${SAFE_MODULE}) /usr/bin/fsblacklist modprobe-hook (${SAFE_MODULE}) 2>/dev/null; /sbin/modprobe --ignore-install (${SAFE_MODULE}) \\$CMDLINE_OPTS$`),
  new RegExp(`^install (${SAFE_MODULE}) /bin/false$`),
];

/**
 * Problems with the install lines of the tree: each must be in a file that the
 * administrator had before (`adminFiles`, byte for byte unchanged) or be exactly
 * one of our forms, naming the same module throughout.
 */
export function unsafeInstallLines(root: string, adminFiles: ReadonlyMap<string, Buffer>): string[] {
  const problems: string[] = [];
  for (const [file, bytes] of configFiles(root)) {
    const before = adminFiles.get(file);
    if (before?.equals(bytes)) continue;
    // kmod joins backslash-continued lines; an install line hidden behind one would still run.
    const text = bytes.toString("latin1").replace(/\\\r?\n/g, "");
    text.split("\n").forEach((line, i) => {
      if (!/^\s*install\b/.test(line)) return;
      const match = OUR_INSTALL_LINES.map((form) => form.exec(line)).find((m) => m !== null);
      const names = match?.slice(1) ?? [];
      if (!match || names.some((n) => n !== names[0])) problems.push(`${file}:${i + 1}: ${JSON.stringify(line)}`);
    });
  }
  return problems;
}

/** A fresh directory under $TMPDIR (or /tmp) and a way to remove it. */
export function scratchDir(prefix: string): { dir: string; cleanup(): void } {
  const dir = fs.mkdtempSync(path.join(fs.realpathSync(process.env["TMPDIR"] ?? "/tmp"), prefix));
  return { dir, cleanup: () => fs.rmSync(dir, { recursive: true, force: true }) };
}

/** Copies a tree exactly (links as links, modes kept). */
export function copyTree(from: string, to: string): void {
  const result = spawnSync("cp", ["-a", from, to], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`cp -a ${from} ${to}: ${result.stderr}`);
}

/** A policy directory of our own (version, modules with their `since`), for policy updates. */
export function writePolicy(dir: string, version: string, entries: readonly { module: string; since: string }[]): string {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, "policy.json"), JSON.stringify({ version, profiles: { default: "evidence tests" } }));
  for (const { module, since } of entries) {
    const entry: PolicyEntry = { module, filesystems: [module], description: null, reason: `${module} for the evidence tests`, references: [], since, kernels: null, profiles: ["default"], file: "" };
    fs.writeFileSync(path.join(dir, fragmentName(module)), renderFragment(entry, "default"));
  }
  return dir;
}

export function writeConfig(root: string, text: string): void {
  fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
  fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), text);
}

/** RootFs.writeFileAtomic's temporary files: hidden, and never named *.conf (kmod reads only those). */
export const TEMPORARY = /^\..+\.fsblacklist-\d+-\d+\.tmp$/;
const TIMESTAMP = /\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z/g;
/** What never changes in a fake root (the fake kernel's state and module files). */
const STATIC = new Set(["proc", "sys", "lib/modules", "dev"]);

/**
 * The files of a root that commands may change, by root-relative path: content
 * (latin1) with write times blanked, or "-> target" for a link. Comparing two of
 * these compares what the files say, whenever they were written.
 */
export function contents(root: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    if (STATIC.has(rel)) return;
    const full = path.join(root, rel);
    const stat = fs.lstatSync(full);
    if (stat.isDirectory()) {
      for (const name of fs.readdirSync(full).sort()) walk(rel === "" ? name : `${rel}/${name}`);
    } else if (stat.isSymbolicLink()) out.set(rel, `-> ${fs.readlinkSync(full)}`);
    else out.set(rel, fs.readFileSync(full, "latin1").replace(TIMESTAMP, "<time>"));
  };
  walk("");
  return out;
}

/** contents() without what an interrupted run may leave behind that nothing reads: temporary files and a stale lock. */
export function settled(root: string): Map<string, string> {
  const out = contents(root);
  for (const rel of out.keys()) {
    if (TEMPORARY.test(path.basename(rel)) || rel === LOCK || rel.startsWith(`${LOCK}.`)) out.delete(rel);
  }
  return out;
}
