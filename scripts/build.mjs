// Bundles the command into dist/ as a few files, most of them CommonJS: on
// Node 20 (no compile cache) every ES module costs a resolve, a load and a link,
// and the code-split ES build made `status` load 18 of them (docs/performance.md).
//
//   main.cjs         src/main.ts alone: picks one of the next two
//   cli.cjs          the command table and every command; a command's modules
//                    are initialised only when it runs (esbuild's lazy wrappers)
//   hook.cjs         the `modprobe-hook MODULE` fast path that main.ts takes
//                    inside every `modprobe MODULE` of a blacklisted module,
//                    without the command table
//   errors.cjs       src/errors.ts, one copy for all of them, so that main.ts's
//                    `instanceof FsbError` holds for errors thrown anywhere
//   review.mjs       the review UI: Ink and React (ES modules only)
//   execa.mjs        execa (ES modules only), where a process is spawned
//   cosmiconfig.cjs  cosmiconfig and its YAML parser, when a configuration file exists
//   ink-devtools.mjs what Ink imports only with DEV=true
//   validated-policy.json  blacklist.d/ as validated by this build (see below)
//
// A process loads cli.cjs or hook.cjs, never both (main.ts takes one path), so
// the code they share is never two live copies; only errors.cjs crosses files.
//
// The new build is written beside dist/ and moved in file by file, main.cjs
// last, so a CLI that is running (or a test) never sees a half-built dist/.
import { build } from "esbuild";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { createRequire } from "node:module";
import { dirname, join, resolve } from "node:path";

const staging = `dist/.staging-${process.pid}`;
rmSync(staging, { recursive: true, force: true });

/** The path with links resolved (node_modules may be one); as it is when it does not exist (an extensionless require). */
const real = (path) => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};

/**
 * Modules that are a file of their own in dist/, by resolved source path or
 * package specifier; `from` limits the redirection to imports by that file.
 */
const SEPARATE = [
  { module: real("src/cli.ts"), file: "./cli.cjs", from: real("src/main.ts") },
  { module: real("src/commands/modprobe-hook.ts"), file: "./hook.cjs", from: real("src/main.ts") },
  { module: real("src/errors.ts"), file: "./errors.cjs" },
  { module: real("src/tui/run-review.tsx"), file: "./review.mjs" },
  { module: real("node_modules/ink/build/devtools.js"), file: "./ink-devtools.mjs" },
  { module: "execa", file: "./execa.mjs" },
  { module: "cosmiconfig/dist/Explorer.js", file: "./cosmiconfig.cjs" },
  { module: "cosmiconfig/dist/loaders.js", file: "./cosmiconfig.cjs" },
];

/** The bundles main.cjs loads with a V8 code cache, through scripts/dist-loader.cjs. */
const CACHED = ["cli.cjs", "hook.cjs"];
const LOADER = real("scripts/dist-loader.cjs");

/**
 * Points imports of SEPARATE modules (other than the file being built) at their
 * file in dist/. A CommonJS file is required through a one-line module, so that
 * `import()` of it becomes esbuild's lazy `require()` instead of a trip through
 * Node's ES module loader.
 */
const separateFiles = (self) => ({
  name: "separate-files",
  setup(b) {
    b.onResolve({ filter: /^(\.|execa$|cosmiconfig\/)/ }, (args) => {
      if (args.namespace === "separate") return { path: args.path, external: true };
      const key = args.path.startsWith(".") ? real(resolve(args.resolveDir, args.path)) : args.path;
      const found = SEPARATE.find((s) => s.module === key && s.file !== self && (s.from === undefined || s.from === real(args.importer)));
      if (found === undefined) return undefined;
      return found.file.endsWith(".cjs") ? { path: found.file, namespace: "separate" } : { path: found.file, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: "separate" }, (args) => ({
      contents: CACHED.includes(args.path.slice(2))
        ? `module.exports = require(${JSON.stringify(LOADER)}).loadBundle(__dirname, ${JSON.stringify(args.path.slice(2))});`
        : `module.exports = require(${JSON.stringify(args.path)});`,
      loader: "js",
      resolveDir: ".",
    }));
  },
});

/**
 * commander requires node:child_process when it loads, for executable
 * subcommands, which we do not have; with the net and dgram modules it brings
 * that was ~2.4 ms of every run. It is required on commander's first spawn
 * instead. The build fails if commander's source no longer reads as expected.
 */
const lazyChildProcess = {
  name: "lazy-child-process",
  setup(b) {
    b.onLoad({ filter: /[\\/]commander[\\/]lib[\\/]command\.js$/ }, (args) => {
      const source = readFileSync(args.path, "utf8");
      const eager = "const childProcess = require('node:child_process');";
      const uses = source.match(/\bchildProcess\.\w+/g) ?? [];
      if (source.split(eager).length !== 2 || uses.some((use) => use !== "childProcess.spawn")) {
        throw new Error(`build: ${args.path} no longer requires node:child_process as lazyChildProcess expects`);
      }
      const lazy = "const childProcess = { spawn: (...args) => require('node:child_process').spawn(...args) };";
      return { contents: source.replace(eager, lazy), loader: "js" };
    });
  },
};

/**
 * Ink's cli-cursor imports restore-cursor, which writes "show the cursor" to
 * stderr at every exit, a terminal or not; src/tui/restore-cursor.ts does it only
 * for a terminal.
 */
const ownRestoreCursor = {
  name: "own-restore-cursor",
  setup(b) {
    b.onResolve({ filter: /^restore-cursor$/ }, () => ({ path: real("src/tui/restore-cursor.ts") }));
  },
};

const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  jsx: "automatic",
  // Ink imports React's devtools only when DEV=true; they are not a dependency.
  // cosmiconfig requires TypeScript only to load .ts configuration, which we
  // refuse; bundled, its 10 MB were parsed by every run with a config.yaml.
  external: ["react-devtools-core", "typescript"],
  define: { "process.env.NODE_ENV": '"production"' },
  legalComments: "none",
  logLevel: "warning",
};
// policy.ts finds blacklist.d/ from its own file's URL. The banner comes before
// esbuild's "use strict", so it says it first: our modules were written as ES
// modules, which are strict, and must stay so.
const cjs = {
  ...common,
  format: "cjs",
  define: { ...common.define, "import.meta.url": "__fsbModuleUrl" },
  banner: { js: "\"use strict\";\nvar __fsbModuleUrl = require('node:url').pathToFileURL(__filename).href;" },
};
// Bundled CommonJS dependencies (React, cross-spawn) call require().
const esm = {
  ...common,
  format: "esm",
  banner: { js: "import { createRequire as __fsbCreateRequire } from 'node:module'; const require = __fsbCreateRequire(import.meta.url);" },
};

/** A bundle whose entry is a line of code (a package's parts that we load together). */
const entry = (contents) => ({ contents, resolveDir: ".", sourcefile: "entry.js" });

const bundles = [
  { ...cjs, entryPoints: ["src/main.ts"], outfile: "main.cjs" },
  { ...cjs, entryPoints: ["src/cli.ts"], outfile: "cli.cjs" },
  { ...cjs, entryPoints: ["src/commands/modprobe-hook.ts"], outfile: "hook.cjs" },
  { ...cjs, entryPoints: ["src/errors.ts"], outfile: "errors.cjs" },
  { ...esm, entryPoints: ["src/tui/run-review.tsx"], outfile: "review.mjs" },
  { ...esm, entryPoints: ["node_modules/ink/build/devtools.js"], outfile: "ink-devtools.mjs" },
  { ...esm, stdin: entry('export { execa } from "execa";'), outfile: "execa.mjs" },
  { ...cjs, stdin: entry('module.exports = { ...require("cosmiconfig/dist/Explorer.js"), ...require("cosmiconfig/dist/loaders.js") };'), outfile: "cosmiconfig.cjs" },
];
await Promise.all(bundles.map(({ outfile, ...options }) => build({ ...options, outfile: join(staging, outfile), plugins: [separateFiles(`./${outfile}`), lazyChildProcess, ownRestoreCursor] })));

// The shipped policy as validated now (src/policy/policy.ts, ValidatedPolicy):
// a run whose blacklist.d/ is byte for byte this one skips parsing it again.
await build({ ...cjs, stdin: entry('module.exports = require("./src/policy/policy.ts");'), outfile: join(staging, "policy-check.cjs") });
const { describeValidPolicy, VALIDATED_POLICY_FILE } = createRequire(import.meta.url)(resolve(staging, "policy-check.cjs"));
try {
  writeFileSync(join(staging, VALIDATED_POLICY_FILE), JSON.stringify(describeValidPolicy("blacklist.d")));
} catch (error) {
  console.warn(`build: blacklist.d/ is not valid, so every run will validate it (and fail): ${error.message}`);
}
rmSync(join(staging, "policy-check.cjs"));

// Code caches for CACHED (scripts/dist-loader.cjs). Their import() of ES modules
// goes through the loader's __fsbImport, and the last line names the source by
// its hash. Each cache is made in a process of its own that compiles the bundle
// as a run does (lazily) and runs the commands of TRAINING against a small root
// built from a fixture kernel: the cache then holds the functions those
// commands use and not the rest (half the size of compiling every function,
// and ~2.5 ms less to deserialise in every run). A function that is not in it
// compiles on first use as without a cache. V8 takes the cache only under the
// default flags and for this source.
const { ID_PREFIX } = createRequire(import.meta.url)(LOADER);
for (const file of CACHED) {
  const path = join(staging, file);
  const imports = /\bimport\(("\.\/[\w-]+\.mjs")\)/g;
  const source = readFileSync(path, "utf8").replace(imports, "__fsbImport($1)");
  if (/\bimport\("/.test(source)) throw new Error(`build: ${file} imports an ES module the code cache loader does not know`);
  writeFileSync(path, `${source}${ID_PREFIX}${createHash("sha256").update(source).digest("hex")}\n`);
}

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
  script.runInThisContext().call(module.exports, module.exports, createRequire(path), module, path, require("node:path").dirname(path), () => Promise.reject(new Error("no ES modules while training")));
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
const root = trainingRoot();
try {
  for (const file of CACHED) {
    const made = spawnSync(process.execPath, ["-e", train, join(staging, file), JSON.stringify(TRAINING[file](root))], { encoding: "utf8" });
    if (made.status !== 0) throw new Error(`build: the code cache of ${file} failed: ${made.stderr}`);
  }
} finally {
  rmSync(root, { recursive: true, force: true });
}

const fresh = readdirSync(staging);
for (const file of fresh.filter((f) => f !== "main.cjs")) renameSync(join(staging, file), join("dist", file));
renameSync(join(staging, "main.cjs"), "dist/main.cjs");
rmSync(staging, { recursive: true, force: true });
// Files of earlier builds (the code-split layout had dist/main.js and dist/chunks/)
// and staging directories of failed ones; a run that started before this build
// may still read them for a moment.
for (const name of readdirSync("dist")) {
  const path = join("dist", name);
  if (!fresh.includes(name) && Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { recursive: true, force: true });
}
