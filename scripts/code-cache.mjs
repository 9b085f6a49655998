// The optional last step of `npm run build` (skip it with --no-code-cache): V8
// code caches for the bundles marked codeCache (cli.cjs, each command's file,
// hook.cjs), which scripts/dist-loader.cjs hands to V8 when they were made for
// that very build.
//
// Why: Node 20 has no compile cache, and compiling the functions a command runs
// was a fifth of `status` (docs/performance.md). Its end: Node 22's
// `module.enableCompileCache()` does this for every file; when `engines` no
// longer includes Node 20, this file and dist-loader.cjs go, and main.ts calls that.
//
// The caches are made by processes that compile the bundles as a run does
// (lazily) and run the commands of TRAINING against a small root built from a
// fixture kernel: a cache then holds the functions those commands use and not
// the rest (half the size of compiling every function, and ~2.5 ms less to
// deserialise in every run). A function that is not in it compiles on first
// use as without a cache. V8 takes the cache only under the default flags.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";

const LOADER = resolve("scripts/dist-loader.cjs");
const TRAINING_RELEASE = "6.1.0-50-amd64";

/** A root like a small installed system: a fixture kernel's module metadata, jfs loaded, an fstab. */
function trainingRoot() {
  const root = mkdtempSync(join(tmpdir(), "fsblacklist-build-"));
  const put = (file, text) => {
    mkdirSync(join(root, dirname(file)), { recursive: true });
    writeFileSync(join(root, file), text);
  };
  // A source tree without the test fixtures trains without module metadata: the cache then covers less.
  const kernel = `test/fixtures/kernels/${TRAINING_RELEASE}`;
  const names = existsSync(kernel) ? readdirSync(kernel).filter((n) => n.startsWith("modules.")) : [];
  for (const name of names) put(`lib/modules/${TRAINING_RELEASE}/${name}`, readFileSync(join(kernel, name)));
  put("proc/sys/kernel/osrelease", `${TRAINING_RELEASE}\n`);
  put("proc/sys/kernel/modprobe", "/sbin/modprobe\n");
  put("proc/cmdline", "root=/dev/vda1 ro quiet\n");
  put("proc/modules", "jfs 229376 1 - Live 0x0000000000000000\n");
  put("proc/filesystems", "nodev\tsysfs\nnodev\tproc\n\text4\n\tjfs\n");
  put("proc/self/mountinfo", "1 0 254:1 / / rw,relatime - ext4 /dev/vda1 rw\n2 1 0:5 / /proc rw - proc proc rw\n");
  put("sys/module/jfs/initstate", "live\n");
  put("etc/fstab", "/dev/vda1 / ext4 defaults 0 1\n/dev/sdb1 /mnt/old minix noauto 0 0\n");
  return root;
}

/**
 * The training runs: a process starts at one bundle (as main.cjs does) and runs
 * these argument lists, each with the exit code it must end with (null: any);
 * every bundle it compiled through the loader on the way (cli.cjs loads a
 * command's file) gets the cache of what it compiled. A bundle marked codeCache
 * that no run loads fails the build.
 */
const TRAINING = {
  "cli.cjs": (root) => [
    [["--version"], 0],
    [["--root", root, "apply"], 0],
    [["--root", root, "status", "--json"], 0],
    [["--root", root, "status"], 0],
    [["--root", root, "status", "jfs", "vfat"], 0],
    [["--root", root, "apply", "--dry-run", "--json"], 0],
    [["--root", root, "showconfig"], 0],
    [["--root", root, "explain", "--type", "minix"], 0],
    [["--root", root, "block", "hfs"], 0],
    [["--root", root, "reset", "hfs"], 0],
    [["--root", root, "audit", "--benchmark", "cis-l1"], null],
    [["--root", root, "uninstall", "--dry-run"], 0],
    // No terminal: review says what to use instead and exits 2, after loading its file.
    [["--root", root, "review"], 2],
  ],
  "hook.cjs": () => [[["jfs"], 0]],
};

const train = `
  const { writeFileSync } = require("node:fs");
  const path = require("node:path");
  process.env.FSB_TRAINING_CODE_CACHE = "1";
  const { loadBundle, idOf, LOADED } = require(${JSON.stringify(LOADER)});
  const [start, runs, wanted] = [path.resolve(process.argv[1]), JSON.parse(process.argv[2]), JSON.parse(process.argv[3])];
  const exported = loadBundle(path.dirname(start), path.basename(start));
  const sink = { write() {}, isTTY: false };
  const io = { stdout: sink, stderr: sink, env: { PATH: process.env.PATH, NO_COLOR: "1" }, uid: 0, cwd: process.cwd() };
  (async () => {
    for (const [args, expected] of runs) {
      const code = exported.runCli ? await exported.runCli(args, io).catch((e) => (e && e.exitCode) ?? String(e)) : await exported.runFromModprobe(args, io);
      if (expected !== null && code !== expected) throw new Error("training run " + JSON.stringify(args) + " ended with " + code + ", not " + expected);
    }
    const written = [];
    for (const [filename, { script, source }] of globalThis[LOADED]) {
      if (!wanted.includes(path.basename(filename))) continue;
      writeFileSync(filename + ".cache", Buffer.concat([Buffer.from(idOf(source) + "\\n", "latin1"), script.createCachedData()]));
      written.push(path.basename(filename));
    }
    process.stdout.write(JSON.stringify(written));
  })().catch((error) => {
    console.error(error);
    process.exit(1);
  });
`;

/** Writes `<file>.cache` beside each of `files` in `dir`; a training run that fails, or a file no run loads, fails the build. */
export function writeCodeCaches(dir, files) {
  const root = trainingRoot();
  try {
    const written = [];
    for (const [start, runs] of Object.entries(TRAINING)) {
      const made = spawnSync(process.execPath, ["-e", train, join(dir, start), JSON.stringify(runs(root)), JSON.stringify(files)], { encoding: "utf8" });
      if (made.status !== 0) throw new Error(`build: the code caches of the runs from ${start} failed: ${made.stderr}`);
      written.push(...JSON.parse(made.stdout));
    }
    const missed = files.filter((file) => !written.includes(file));
    if (missed.length > 0) throw new Error(`build: no training run loads ${missed.join(", ")} (scripts/code-cache.mjs, TRAINING)`);
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
