// `npm run bench`: how fast the bundled command is, as ratios to baselines run
// side by side in the same run (so the numbers mean something on any machine,
// loaded or not). A measurement, not a test: it always exits 0.
//
//   status --json, apply --dry-run   vs  node -e 0 (the floor of any Node tool)
//   --version, modprobe-hook         vs  node -e 0 (shown: our start-up floor, the hook's cost)
//   showconfig on a large tree       vs  kmod's modprobe -c on the same tree
//   review, first frame              in a pseudo-terminal (bench/tui-first-frame.ts), absolute
//   status with a 60 MB initramfs    vs  lsinitramfs on the same image (bench/initramfs-image.ts)
//
// Environment: FSB_BENCH_RUNS (measured rounds, default 15), FSB_BENCH_WARMUP
// (default 3), FSB_BENCH_MODULES (a lib/modules/<release> directory with a
// full kernel's module metadata; default /lib/modules/`uname -r` when present),
// FSB_BENCH_BEFORE (another build's bin/fsblacklist.js, e.g. of the commit before a
// change: its status, apply, --version, hook and showconfig are timed in the same
// rounds, and their ratios to the same baselines are shown as "before:" rows).

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { MODPROBE_DIRS } from "../src/kmod/config-files.ts";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../test/helpers/fake-root.ts";
import { makeScratchDir } from "../test/helpers/tree-generator.ts";
import { planInitramfsBench } from "./initramfs-image.ts";
import { writeLargeTree } from "./large-tree.ts";
import { interleave, ratios, summarise, timeOnce, type Contender, type Timed } from "./measure.ts";
import { measureFirstFrame } from "./tui-first-frame.ts";

const BIN = fileURLToPath(new URL("../bin/fsblacklist.js", import.meta.url));
const RUNS = positive(process.env["FSB_BENCH_RUNS"], 15);
const WARMUP = positive(process.env["FSB_BENCH_WARMUP"], 3);
const ENV = { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" };
const BEFORE = process.env["FSB_BENCH_BEFORE"] ? path.resolve(process.env["FSB_BENCH_BEFORE"]) : null;

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

interface Row {
  what: string;
  goal: string;
  measured: string;
  verdict: "pass" | "FAIL" | "info" | "skipped";
  detail: string;
}

const rows: Row[] = [];
const ms = (v: number): string => `${v.toFixed(1)} ms`;
const spread = (values: readonly number[], unit: (v: number) => string): string => {
  const s = summarise(values);
  return `${unit(s.median)} (IQR ${unit(s.q1)}–${unit(s.q3)})`;
};
const times = (v: number): string => `${v.toFixed(2)}x`;

function ratioRow(what: string, contender: Timed, baseline: Timed, goal: number | null): void {
  const r = ratios(contender, baseline);
  const median = summarise(r).median;
  rows.push({
    what,
    goal: goal === null ? "—" : `≤ ${goal}x`,
    measured: spread(r, times),
    verdict: goal === null ? "info" : median <= goal ? "pass" : "FAIL",
    detail: `${contender.name} ${spread(contender.samples, ms)} vs ${baseline.name} ${spread(baseline.samples, ms)}`,
  });
}

const node = (name: string, args: readonly string[], okStatus?: readonly number[]): Contender => ({
  name,
  command: process.execPath,
  args,
  env: ENV,
  ...(okStatus ? { okStatus } : {}),
});
const cli = (name: string, root: string, args: readonly string[], bin = BIN): Contender => node(name, [bin, "--root", root, ...args]);

const USED: FakeRootSpec = {
  loaded: ["jfs"],
  mounts: [
    { source: "/dev/vda1", target: "/", fstype: "ext4" },
    { source: "/dev/sdb1", target: "/mnt/mac", fstype: "hfsplus" },
  ],
  fstab: "/dev/vda1 / ext4 defaults 0 1\n/dev/vda2 /boot/efi vfat umask=0077 0 1\n/dev/sdc1 /mnt/old minix noauto 0 0\n",
};

/** A fake root with the policy applied once, as on an installed system. */
function installedRoot(root: FakeRoot): FakeRoot {
  const result = spawnSync(process.execPath, [BIN, "--root", root.dir, "apply"], { env: ENV, encoding: "utf8" });
  if (result.status !== 0) throw new Error(`apply on the benchmark root failed: ${result.stderr}`);
  return root;
}

/** A fake root whose lib/modules holds a full kernel's metadata (copied), with empty module files. */
function fullKernelRoot(modulesDir: string): FakeRoot {
  const release = path.basename(modulesDir);
  const root = createFakeRoot({ ...USED, kernel: null, osrelease: release });
  const target = path.join(root.dir, "lib/modules", release);
  fs.mkdirSync(target, { recursive: true });
  for (const name of fs.readdirSync(modulesDir)) {
    if (name.startsWith("modules.") && fs.statSync(path.join(modulesDir, name)).isFile()) fs.copyFileSync(path.join(modulesDir, name), path.join(target, name));
  }
  for (const line of fs.readFileSync(path.join(target, "modules.dep"), "utf8").split("\n")) {
    const file = line.split(":")[0];
    if (!file) continue;
    fs.mkdirSync(path.dirname(path.join(target, file)), { recursive: true });
    fs.writeFileSync(path.join(target, file), "");
  }
  return root;
}

function findFullModules(): string | null {
  const chosen = process.env["FSB_BENCH_MODULES"] || path.join("/lib/modules", os.release());
  return fs.existsSync(path.join(chosen, "modules.dep")) ? path.resolve(chosen) : null;
}

function kmodVersion(): string | null {
  const result = spawnSync("modprobe", ["--version"], { encoding: "utf8" });
  return result.status === 0 ? (/kmod version (\S+)/.exec(result.stdout)?.[1] ?? "?") : null;
}

function benchStartup(): void {
  const fixture = installedRoot(createFakeRoot(USED));
  const fullDir = findFullModules();
  const full = fullDir === null ? null : installedRoot(fullKernelRoot(fullDir));
  // The commands timed, by label; each against node -e 0, and again with the build of FSB_BENCH_BEFORE.
  const commands = (bin: string): [string, Contender][] => [
    ["status --json / node -e 0 (fixture kernel, trimmed)", cli("status --json", fixture.dir, ["status", "--json"], bin)],
    ["apply --dry-run / node -e 0 (fixture kernel, trimmed)", cli("apply --dry-run", fixture.dir, ["apply", "--dry-run"], bin)],
    // The floor under every command: start-up, the command table, one line out.
    ["--version / node -e 0 (start-up floor)", node("--version", [bin, "--version"])],
    // What every `modprobe MODULE` of a blacklisted module pays: no terminal, so the hook returns at once.
    ["modprobe-hook jfs / node -e 0 (not a terminal)", { ...node("modprobe-hook jfs", [bin, "modprobe-hook", "jfs"]), env: { ...ENV, DPKG_ROOT: fixture.dir } }],
    ...(full === null
      ? []
      : ([
          [`status --json / node -e 0 (full kernel ${path.basename(fullDir!)})`, cli("status --json (full kernel)", full.dir, ["status", "--json"], bin)],
          [`apply --dry-run / node -e 0 (full kernel ${path.basename(fullDir!)})`, cli("apply --dry-run (full kernel)", full.dir, ["apply", "--dry-run"], bin)],
        ] as [string, Contender][])),
  ];
  const now = commands(BIN);
  const before = BEFORE === null ? [] : commands(BEFORE).map(([what, c]): [string, Contender] => [`before: ${what}`, { ...c, name: `before ${c.name}` }]);
  const all = [...now, ...before];
  try {
    const [bare, ...timed] = interleave([node("node -e 0", ["-e", "0"]), ...all.map(([, c]) => c)], RUNS, WARMUP, timeOnce);
    all.forEach(([what], i) => {
      ratioRow(what, timed[i]!, bare!, what.startsWith("status --json") ? 1.5 : null);
    });
    if (full === null) {
      rows.push({
        what: "status --json, apply --dry-run (full kernel)",
        goal: "≤ 1.5x",
        measured: "—",
        verdict: "skipped",
        detail: "no full module metadata: set FSB_BENCH_MODULES=/lib/modules/<release>",
      });
    }
  } finally {
    fixture.cleanup();
    full?.cleanup();
  }
}

function benchShowconfig(scratch: string): void {
  const tree = path.join(scratch, "large-tree");
  // No kmod in the tree's dpkg database: the model reads all five directories, as kmod does with -C for each.
  const { files, lines } = writeLargeTree(tree);
  // kmod always reads the host's /proc/cmdline (module options there are configuration too); so do we, under the tree.
  fs.mkdirSync(path.join(tree, "proc"), { recursive: true });
  fs.copyFileSync("/proc/cmdline", path.join(tree, "proc/cmdline"));
  // kmod also dumps its module indexes after the configuration: an empty module directory makes that free.
  const empty = path.join(scratch, "empty-modules");
  fs.mkdirSync(path.join(empty, "lib/modules/none"), { recursive: true });
  const kmodArgs = [...MODPROBE_DIRS.flatMap((dir) => ["-C", path.join(tree, dir)]), "-d", empty, "-S", "none", "-c"];
  const kmod: Contender = { name: "modprobe -c", command: "modprobe", args: kmodArgs, env: ENV };
  const ours = cli("showconfig", tree, ["showconfig"]);
  const theirsBefore = BEFORE === null ? [] : [cli("before showconfig", tree, ["showconfig"], BEFORE)];

  const what = `showconfig / modprobe -c (${files} files, ${lines} lines)`;
  const theirs = spawnSync("modprobe", kmodArgs, { env: ENV, maxBuffer: 1 << 28 }).stdout;
  const mine = spawnSync(process.execPath, ours.args, { env: ENV, maxBuffer: 1 << 28 }).stdout;
  const end = theirs.lastIndexOf("\n# End of configuration files");
  const same = end >= 0 && Buffer.compare(theirs.subarray(0, end), mine) === 0;
  const [k, s, b] = interleave([kmod, ours, ...theirsBefore], RUNS, WARMUP, timeOnce);
  ratioRow(what, s!, k!, 3);
  rows.at(-1)!.detail += same ? "; outputs identical" : "; NOTE: the outputs differ, so this compares unlike work";
  if (b) ratioRow(`before: ${what}`, b, k!, null);
}

function benchInitramfs(scratch: string): void {
  const fixture = installedRoot(createFakeRoot(USED));
  try {
    const plan = planInitramfsBench(scratch, fixture.dir, fixture.release ?? "6.1.0-50-amd64");
    if (typeof plan === "string") {
      rows.push({ what: "status --json with a 60 MB initramfs / lsinitramfs", goal: "≤ 1.5x", measured: "—", verdict: "skipped", detail: plan });
      return;
    }
    const [ls, status] = interleave([{ ...plan.lsinitramfs, env: ENV }, cli("status --json (with the image)", fixture.dir, ["status", "--json"])], RUNS, WARMUP, timeOnce);
    ratioRow(plan.what, status!, ls!, 1.5);
  } finally {
    fixture.cleanup();
  }
}

async function benchReview(): Promise<void> {
  if (spawnSync("script", ["--version"]).status !== 0) {
    rows.push({ what: "review: first frame", goal: "< 300 ms", measured: "—", verdict: "skipped", detail: "util-linux script is not installed" });
    return;
  }
  const fixture = installedRoot(createFakeRoot(USED));
  try {
    const { review, node: floor } = await measureFirstFrame(fixture.dir, RUNS, WARMUP);
    const wall = review.map((t) => t.wall);
    rows.push({
      what: "review: first frame (80x24 pty, bundled build)",
      goal: "< 300 ms",
      measured: spread(wall, ms),
      verdict: summarise(wall).median < 300 ? "pass" : "FAIL",
      detail:
        `CPU used by then ${spread(
          review.map((t) => t.cpu),
          ms,
        )}; ` +
        `node printing one line, timed the same way: ${spread(
          floor.map((t) => t.wall),
          ms,
        )} wall, ${spread(
          floor.map((t) => t.cpu),
          ms,
        )} CPU`,
    });
  } finally {
    fixture.cleanup();
  }
}

function printTable(): void {
  const header: Row = { what: "what", goal: "goal", measured: "measured: median (IQR)", verdict: "info", detail: "" };
  const width = (key: "what" | "goal" | "measured"): number => Math.max(...[header, ...rows].map((r) => r[key].length));
  const [w, g, m] = [width("what"), width("goal"), width("measured")];
  const line = (r: Row, verdict: string): string => `${r.what.padEnd(w)}  ${r.goal.padEnd(g)}  ${r.measured.padEnd(m)}  ${verdict}`;
  console.log(line(header, "result"));
  console.log("-".repeat(w + g + m + 14));
  for (const r of rows) console.log(line(r, r.verdict));
  console.log("");
  for (const r of rows) console.log(`${r.what}:\n  ${r.detail}`);
}

async function main(): Promise<void> {
  if (!fs.existsSync(fileURLToPath(new URL("../dist/main.cjs", import.meta.url)))) {
    console.error("bench: dist/ is missing; run `npm run bench` (it builds first)");
    return;
  }
  console.log(
    `fsblacklist benchmark: ${RUNS} measured rounds after ${WARMUP} warm-up rounds, contenders interleaved; ` +
      `${os.cpus().length} CPUs, load ${os.loadavg()[0]!.toFixed(2)}, node ${process.version}, kmod ${kmodVersion() ?? "not installed"}\n`,
  );
  const scratch = makeScratchDir("fsb-bench-");
  try {
    // Each part on its own, so one that cannot run here still leaves the others' rows.
    for (const [name, part] of [
      ["start-up", () => benchStartup()],
      [
        "showconfig",
        () => (kmodVersion() === null ? rows.push({ what: "showconfig / modprobe -c", goal: "≤ 3x", measured: "—", verdict: "skipped", detail: "kmod is not installed" }) : benchShowconfig(scratch)),
      ],
      ["review", () => benchReview()],
      ["initramfs", () => benchInitramfs(scratch)],
    ] as const) {
      try {
        await part();
      } catch (error) {
        rows.push({ what: name, goal: "", measured: "—", verdict: "skipped", detail: `could not run: ${error instanceof Error ? error.message : String(error)}` });
      }
    }
  } finally {
    fs.rmSync(scratch, { recursive: true, force: true });
  }
  printTable();
}

await main();
