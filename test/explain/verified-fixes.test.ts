// The evidence for "every fix explain prints works": a generated table of
// layered configurations (blockers in every directory, several install lines,
// globs, dependencies, the command line with files, continued lines,
// `alias ... off`, /dev/null masks, the cis profile, our own block override).
// For each one the test runs explain's fix commands in order under the root
// (a boot loader step: proc/cmdline becomes what explain says the next boot
// gets), each must exit 0, the real kmod must then load the module for
// fs-TYPE (modprobe --show-depends), and explain must then say not-blocked.
// The one-time command is run the same way with kmod's dry run (-n -v), each
// module it loads marked live in the root's sys/module for the next command.
// FSB_FIX_CASES sets how many configurations (default 44); under `npm test` a
// sample of them runs (test/helpers/tier.ts), all of them under test:evidence.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BIN, runInProcess } from "../helpers/cli.ts";
import { canRunOracle, kmodLoads, runModprobe, type ModprobeRun } from "../facts/modprobe-oracle.ts";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { sampled } from "../helpers/tier.ts";
import { fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";
import { renderMarker } from "../../src/policy/marker.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const CASES = Number(process.env["FSB_FIX_CASES"] ?? 44);
const RUN = sampled(
  Array.from({ length: CASES }, (_, n) => n),
  6,
);
const TITLE = RUN.length === CASES ? `${CASES} layered configurations` : `${RUN.length} of ${CASES} layered configurations`;
const policy = loadPolicy(shippedPolicyDir());

/** Deterministic choices, so a failing case can be rebuilt from its number. */
function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

interface Target {
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

interface Layered {
  title: string;
  target: Target;
  files: Record<string, string>;
  devnull: string[];
  cmdline: string;
  profile: "default" | "cis";
}

function generate(n: number): Layered {
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

function build(c: Layered): FakeRoot {
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

interface Explained {
  cause: string;
  fix: string[];
  fixSteps: { kind: "command" | "boot"; command: string; cmdline?: string }[];
  once: string | null;
  advice: string | null;
  evidence: string[];
}

async function explain(root: FakeRoot, type: string): Promise<Explained> {
  const result = await runInProcess(["--root", root.dir, "explain", "--type", type, "--json"]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as Explained;
}

function showDepends(root: FakeRoot, type: string): ModprobeRun {
  return runModprobe([{ root: root.dir, release: root.release!, mode: "show-depends", requests: [`fs-${type}`] }])[0]![0]!;
}

/** A directory with `fsblacklist` on PATH, the bundle users run. */
function fsblacklistOnPath(): string {
  const dir = mkdtempSync(path.join(tmpdir(), "fsb-path-"));
  writeFileSync(path.join(dir, "fsblacklist"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(path.join(dir, "fsblacklist"), 0o755);
  return dir;
}

/** The one-time command, each `modprobe` in it a dry run of the real kmod; the modules it would insert are marked live for the next. */
function runOnce(root: FakeRoot, once: string): void {
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

test(`explain's fixes, run in order under the root, make the real kmod load the module (${TITLE})`, { skip: skipOracle }, async (t) => {
  const bin = fsblacklistOnPath();
  t.after(() => rmSync(bin, { recursive: true, force: true }));
  let fixed = 0;
  let once = 0;
  for (const n of RUN) {
    const c = generate(n);
    const root = build(c);
    try {
      const { type } = c.target;
      const before = await explain(root, type);
      if (before.cause === "not-blocked") continue;
      assert.ok(before.fixSteps.length > 0, `${c.title}: explain prints no verified fix (${before.cause}): ${before.advice}\n${before.evidence.join("\n")}`);
      assert.equal(kmodLoads(showDepends(root, type), readFileSync(path.join(root.dir, "proc/cmdline"), "utf8")), false, `${c.title}: kmod blocks it to begin with`);

      // The one-time command first, on this boot (nothing changed yet).
      if (before.once !== null) {
        runOnce(root, before.once);
        once++;
        rmSync(path.join(root.dir, "sys/module"), { recursive: true, force: true });
        mkdirSync(path.join(root.dir, "sys/module"));
      }

      for (const step of before.fixSteps) {
        if (step.kind === "boot") {
          // The reboot: the boot loader hands the kernel the line explain said.
          assert.ok(step.cmdline !== undefined, `${c.title}: a boot step says which command line follows`);
          writeFileSync(path.join(root.dir, "proc/cmdline"), step.cmdline);
          continue;
        }
        const run = spawnSync("sh", ["-c", step.command], { encoding: "utf8", env: { ...process.env, PATH: `${bin}:${process.env["PATH"]}`, NO_COLOR: "1", DPKG_ROOT: "" } });
        assert.equal(run.status, 0, `${c.title}: ${step.command}: ${run.stderr}${run.stdout}`);
      }
      const cmdline = readFileSync(path.join(root.dir, "proc/cmdline"), "utf8");
      const after = showDepends(root, type);
      assert.equal(kmodLoads(after, cmdline), true, `${c.title}: after ${before.fix.join(" ; ")}\nkmod: ${after.stdout}${after.stderr}`);
      assert.equal((await explain(root, type)).cause, "not-blocked", `${c.title}: explain after the fix`);
      fixed++;
    } finally {
      root.cleanup();
    }
  }
  assert.ok(fixed >= Math.min(40, RUN.length) * 0.9, `${fixed} of ${RUN.length} configurations were blocked and fixed`);
  assert.ok(once > 0, "one-time commands were run");
});
