// The optional last step of `npm run build` (skip it with --no-code-cache): V8
// code caches for the bundles main.cjs loads, which scripts/dist-loader.cjs
// hands to V8 when they were made for that very build.
//
// Why: Node 20 has no compile cache, and compiling the functions a command runs
// was a fifth of `status` (docs/performance.md). Its end: Node 22's
// `module.enableCompileCache()` does this for every file; when `engines` no
// longer includes Node 20, this file and dist-loader.cjs go, and main.ts calls that.
//
// Each cache is made in a process of its own that compiles the bundle as a run
// does (lazily) and runs the commands of TRAINING against a small root built
// from a fixture kernel: the cache then holds the functions those commands use
// and not the rest (half the size of compiling every function, and ~2.5 ms less
// to deserialise in every run). A function that is not in it compiles on first
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

/** What each bundle's cache is trained on: a list of argument lists. */
const TRAINING = {
  "cli.cjs": (root) => [
    ["--version"],
    ["--root", root, "apply"],
    ["--root", root, "status", "--json"],
    ["--root", root, "status"],
    ["--root", root, "status", "jfs", "vfat"],
    ["--root", root, "apply", "--dry-run", "--json"],
    ["--root", root, "showconfig"],
    ["--root", root, "explain", "--type", "minix"],
    ["--root", root, "block", "hfs"],
    ["--root", root, "reset", "hfs"],
  ],
  "hook.cjs": () => [["jfs"]],
};

const train = `
  const { readFileSync, writeFileSync } = require("node:fs");
  const { createRequire } = require("node:module");
  const { Script } = require("node:vm");
  const { wrap, idOf } = require(${JSON.stringify(LOADER)});
  const [path, runs] = [require("node:path").resolve(process.argv[1]), JSON.parse(process.argv[2])];
  const source = readFileSync(path, "utf8");
  const script = new Script(wrap(source), { filename: path });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(path), module, path, require("node:path").dirname(path));
  const sink = { write() {}, isTTY: false };
  const io = { stdout: sink, stderr: sink, env: { PATH: process.env.PATH, NO_COLOR: "1" }, uid: 0, cwd: process.cwd() };
  (async () => {
    for (const args of runs) {
      const code = module.exports.runCli ? await module.exports.runCli(args, io).catch((e) => (e && e.exitCode) ?? String(e)) : await module.exports.runFromModprobe(args, io);
      if (code !== 0) throw new Error("training run " + JSON.stringify(args) + " ended with " + code);
    }
    writeFileSync(path + ".cache", Buffer.concat([Buffer.from(idOf(source) + "\\n", "latin1"), script.createCachedData()]));
  })().catch((error) => {
    console.error(error);
    process.exit(1);
  });
`;

/** Writes `<file>.cache` beside each of `files` in `dir`; a training run that fails fails the build. */
export function writeCodeCaches(dir, files) {
  const root = trainingRoot();
  try {
    for (const file of files) {
      const made = spawnSync(process.execPath, ["-e", train, join(dir, file), JSON.stringify(TRAINING[file](root))], { encoding: "utf8" });
      if (made.status !== 0) throw new Error(`build: the code cache of ${file} failed: ${made.stderr}`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
}
