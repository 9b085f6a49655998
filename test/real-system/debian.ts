// Real Debian roots for the system suite: made by mmdebstrap from the Debian
// archive the host's apt already uses, cached as tar files under CACHE (kept by
// the machine between runs), and unpacked afresh for each scenario. Commands run
// inside with `chroot`, in a mount namespace of their own so that nothing they
// mount outlives them.

import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncOptions } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

export const CACHE = process.env["FSBLACKLIST_TEST_CACHE"] ?? "/var/cache/fsblacklist-test";
export const REPO = fileURLToPath(new URL("../../", import.meta.url));

/** The Debian archive of the host's apt sources (deb822 or one-line), or $FSBLACKLIST_DEBIAN_MIRROR. */
export function debianArchive(): string {
  const chosen = process.env["FSBLACKLIST_DEBIAN_MIRROR"];
  if (chosen) return chosen;
  const dir = "/etc/apt/sources.list.d";
  const texts = [
    ...(fs.existsSync("/etc/apt/sources.list") ? [fs.readFileSync("/etc/apt/sources.list", "utf8")] : []),
    ...(fs.existsSync(dir)
      ? fs
          .readdirSync(dir)
          .filter((n) => /\.(list|sources)$/.test(n))
          .map((n) => fs.readFileSync(path.join(dir, n), "utf8"))
      : []),
  ];
  const release = /^(bookworm|trixie|forky|sid|unstable|testing|stable)$/;
  for (const text of texts) {
    for (const stanza of text.split(/\n\s*\n/)) {
      const uris = /^URIs:\s*(\S+)/im.exec(stanza)?.[1];
      const suites = /^Suites:\s*(.+)$/im.exec(stanza)?.[1]?.split(/\s+/) ?? [];
      if (uris && suites.some((s) => release.test(s))) return uris;
    }
    for (const line of text.split("\n")) {
      const words = /^deb\s+(?:\[[^\]]*\]\s+)?(\S+)\s+(\S+)/.exec(line.trim());
      if (words && release.test(words[2]!)) return words[1]!;
    }
  }
  throw new Error("no Debian archive in the host's apt sources; set FSBLACKLIST_DEBIAN_MIRROR to one");
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

export function run(command: string, args: readonly string[], options: SpawnSyncOptions = {}): RunResult {
  const result = spawnSync(command, args, { encoding: "utf8", maxBuffer: 256 * 1024 * 1024, ...options });
  if (result.error) throw result.error;
  return { status: result.status ?? -1, stdout: String(result.stdout), stderr: String(result.stderr) };
}

/** Runs and asserts success, with the output in the message when it fails. */
export function must(command: string, args: readonly string[], options: SpawnSyncOptions = {}): RunResult {
  const result = run(command, args, options);
  assert.equal(result.status, 0, `${command} ${args.join(" ")} exited ${result.status}:\n${result.stdout.slice(-4000)}\n${result.stderr.slice(-4000)}`);
  return result;
}

export interface RootRecipe {
  suite: "bookworm" | "trixie";
  /** Packages beyond the apt variant's. */
  include: readonly string[];
}

/** The file name of a recipe's root in the cache: its suite and a hash of the recipe. */
export function rootTarName(recipe: RootRecipe): string {
  return `${recipe.suite}-${createHash("sha256").update(JSON.stringify(recipe)).digest("hex").slice(0, 12)}.tar`;
}

/**
 * The cached tar of a root made by mmdebstrap (built now when missing; the name
 * carries a hash of the recipe, so a changed recipe makes a new one). Each use
 * sets the tar's mtime, which the pruning in prepare.ts goes by.
 */
export function cachedRoot(recipe: RootRecipe): string {
  const tar = path.join(CACHE, "roots", rootTarName(recipe));
  if (fs.existsSync(tar)) {
    // Marks the use: prepare.ts removes only roots that no checkout has used for a while.
    const now = new Date();
    fs.utimesSync(tar, now, now);
    return tar;
  }
  fs.mkdirSync(path.dirname(tar), { recursive: true });
  const partial = `${tar}.${process.pid}.partial.tar`;
  const started = Date.now();
  const args = ["--variant=apt", "--quiet", `--include=${recipe.include.join(",")}`, recipe.suite, partial, debianArchive()];
  try {
    must("mmdebstrap", args);
  } catch (error) {
    fs.rmSync(partial, { force: true });
    throw error;
  }
  fs.renameSync(partial, tar);
  console.log(`# built ${path.basename(tar)} (${recipe.suite}: ${recipe.include.join(" ")}) in ${Math.round((Date.now() - started) / 1000)} s`);
  return tar;
}

/** What DebianRoot.chroot() can mount inside the root for the command. */
export type Mount = "dev" | "proc" | "sys" | "run" | "apt-cache";

/** A root unpacked from a cached tar, to change freely and throw away. */
export class DebianRoot {
  readonly dir: string;

  constructor(tar: string) {
    fs.mkdirSync(path.join(CACHE, "work"), { recursive: true });
    this.dir = fs.mkdtempSync(path.join(CACHE, "work", "root-"));
    must("tar", ["-C", this.dir, "--numeric-owner", "-xpf", tar]);
    // apt inside reaches the archive with the host's resolver.
    fs.copyFileSync("/etc/resolv.conf", path.join(this.dir, "etc/resolv.conf"));
  }

  /**
   * `chroot ROOT command...` in a mount namespace of its own, with /dev, /proc,
   * /sys, a tmpfs /run and apt's download cache (shared between runs) mounted
   * when asked for.
   */
  chroot(command: readonly string[], options: { mounts?: Mount[]; env?: Record<string, string>; input?: string } = {}): RunResult {
    const mounts = options.mounts ?? [];
    const steps: string[] = [];
    if (mounts.includes("dev")) steps.push(`mount --rbind /dev "$ROOT/dev"`);
    if (mounts.includes("proc")) steps.push(`mount -t proc proc "$ROOT/proc"`);
    if (mounts.includes("sys")) steps.push(`mount --rbind /sys "$ROOT/sys"`);
    if (mounts.includes("run")) steps.push(`mount -t tmpfs tmpfs "$ROOT/run"`);
    if (mounts.includes("apt-cache")) {
      fs.mkdirSync(path.join(CACHE, "apt-archives", "partial"), { recursive: true });
      steps.push(`mount --bind "${path.join(CACHE, "apt-archives")}" "$ROOT/var/cache/apt/archives"`);
    }
    const env = { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DEBIAN_FRONTEND: "noninteractive", LC_ALL: "C.UTF-8", HOME: "/root", ...options.env };
    const script = `set -e\n${steps.join("\n")}\nexec chroot "$ROOT" env -i ${Object.entries(env)
      .map(([k, v]) => `'${k}=${v.replace(/'/g, "'\\''")}'`)
      .join(" ")} "$@"`;
    return run("unshare", ["--mount", "--propagation", "private", "sh", "-c", script, "sh", ...command], {
      env: { ...process.env, ROOT: this.dir },
      ...(options.input === undefined ? {} : { input: options.input }),
    });
  }

  /** chroot and assert success. */
  must(command: readonly string[], options: Parameters<DebianRoot["chroot"]>[1] = {}): RunResult {
    const result = this.chroot(command, options);
    assert.equal(result.status, 0, `chroot ${command.join(" ")} exited ${result.status}:\n${result.stdout.slice(-6000)}\n${result.stderr.slice(-6000)}`);
    return result;
  }

  /** The root's own kmod: `modprobe -c` as it prints the configuration. */
  modprobeConfig(): string {
    return this.must(["modprobe", "-c"]).stdout;
  }

  /** `apt-get install -y` of .deb files (copied into the root) or package names; `mounts` beyond /dev and apt's cache. */
  aptInstall(packages: readonly string[], extra: readonly string[] = [], mounts: readonly Mount[] = []): RunResult {
    const names = packages.map((p) => {
      if (!p.endsWith(".deb")) return p;
      fs.copyFileSync(p, path.join(this.dir, "tmp", path.basename(p)));
      return `/tmp/${path.basename(p)}`;
    });
    return this.must(["apt-get", "install", "-y", "--no-install-recommends", ...extra, ...names], { mounts: ["dev", "apt-cache", ...mounts] });
  }

  write(rel: string, text: string): void {
    fs.mkdirSync(path.dirname(path.join(this.dir, rel)), { recursive: true });
    fs.writeFileSync(path.join(this.dir, rel), text);
  }

  read(rel: string): string {
    return fs.readFileSync(path.join(this.dir, rel), "utf8");
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

/** The blacklist lines kmod prints, sorted: what is in force. */
export function blacklisted(modprobeC: string): string[] {
  return modprobeC
    .split("\n")
    .filter((l) => l.startsWith("blacklist "))
    .map((l) => l.slice("blacklist ".length))
    .sort();
}

/** The modules of the shipped policy's default profile (its fragments' headers). */
export function defaultProfileModules(policyDir = path.join(REPO, "blacklist.d")): string[] {
  return fs
    .readdirSync(policyDir)
    .filter((n) => n.endsWith(".conf"))
    .filter((n) => /^# profiles:.*\bdefault\b/m.test(fs.readFileSync(path.join(policyDir, n), "utf8")))
    .map((n) => /^60-blacklist_fs-(.+)\.conf$/.exec(n)![1]!)
    .sort();
}

const built = new Map<string, string>();

/** fsblacklist_<version>_all.deb made by scripts/package.mjs from the current build (dist/). */
export function buildPackage(options: { version?: string; policy?: string } = {}): string {
  const key = JSON.stringify(options);
  const known = built.get(key);
  if (known) return known;
  const out = fs.mkdtempSync(path.join(CACHE, "work", "deb-"));
  const args = ["scripts/package.mjs", "--out", out, ...(options.version ? ["--version", options.version] : []), ...(options.policy ? ["--policy", options.policy] : [])];
  const deb = path.resolve(REPO, must(process.execPath, args, { cwd: REPO }).stdout.trim());
  process.on("exit", () => fs.rmSync(out, { recursive: true, force: true }));
  built.set(key, deb);
  return deb;
}

/** Seconds since `started`, for the scenario's log line. */
export function took(started: number): string {
  return `${((Date.now() - started) / 1000).toFixed(1)} s`;
}
