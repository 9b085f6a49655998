// `npm run build`: bundles the command into dist/ as the files of BUNDLES, most
// of them CommonJS: on Node 20 (no compile cache) every ES module costs a
// resolve, a load and a link (docs/performance.md, "What is in dist/").
//
// Each bundle is one esbuild build of its entry. An import of another bundle's
// module (`stands for`) from a bundle that is not that one becomes a require of
// that file (one small plugin, below), so those modules are loaded when first
// used and exist once per process. Two steps follow, both short:
//   - validated-policy.json: blacklist.d/ as this build validated it;
//   - the code caches of the bundles marked codeCache (scripts/code-cache.mjs),
//     for Node 20 only, optional (`--no-code-cache`): read that file's header.
//
// The new build is written beside dist/ and moved in file by file, main.cjs
// last, so a CLI that is running (or a test) never sees a half-built dist/.
import { build } from "esbuild";
import { randomBytes } from "node:crypto";
import { readdirSync, realpathSync, renameSync, rmSync, statSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join, resolve } from "node:path";
import { writeCodeCaches } from "./code-cache.mjs";

/** The command modules of src/commands/ (modprobe-hook is hook.cjs), each a file of dist/ the command table loads when it runs. */
const COMMANDS = readdirSync("src/commands")
  .filter((name) => name.endsWith(".ts") && name !== "modprobe-hook.ts")
  .map((name) => name.slice(0, -".ts".length));
// commander requires child_process when it loads, for executable subcommands,
// which we do not have: ~2.4 ms of every run, with the net and stream modules
// it brings. cli.cjs and the commands get a spawn that loads it on first use.
const childProcessOnDemand = { alias: { "node:child_process": "./src/system/child-process-on-demand.ts" } };

/**
 * The files of dist/. `entry` is a module, or `contents` a line of code
 * standing for the `modules` it requires; `from` lists who gets the file
 * instead of their own copy (default: every other file); `format` is CommonJS
 * unless it says "esm"; `options` are esbuild's, for this file only.
 */
const BUNDLES = [
  // src/main.ts alone: takes cli.cjs or hook.cjs (a process never loads both).
  { out: "main.cjs", entry: "src/main.ts" },
  // The command table and commander; a command's file is loaded when it runs, so `--version` loads none.
  { out: "cli.cjs", entry: "src/cli.ts", from: ["src/main.ts"], codeCache: true, options: childProcessOnDemand },
  // Each command with all it runs (the context included: src/cli.ts creates it through the command's module).
  // The modules they share are in each of them: a process runs one command.
  ...COMMANDS.map((name) => ({ out: `${name}-command.cjs`, entry: `src/commands/${name}.ts`, from: ["src/cli.ts"], codeCache: true, options: childProcessOnDemand })),
  // `modprobe-hook MODULE`, inside every `modprobe` of a blacklisted module, without the command table (and through it).
  { out: "hook.cjs", entry: "src/commands/modprobe-hook.ts", from: ["src/main.ts", "src/cli.ts"], codeCache: true },
  // One copy for all of them, so that main.ts's `instanceof FsbError` holds for errors thrown anywhere.
  { out: "errors.cjs", entry: "src/errors.ts" },
  // Where a process is spawned.
  { out: "execa.cjs", contents: 'module.exports = require("execa");', modules: ["execa"] },
  // When a configuration file exists: cosmiconfig's Explorer and loaders (src/system/config.ts), with js-yaml.
  {
    out: "cosmiconfig.cjs",
    contents: 'module.exports = { ...require("cosmiconfig/dist/Explorer.js"), ...require("cosmiconfig/dist/loaders.js") };',
    modules: ["cosmiconfig/dist/Explorer.js", "cosmiconfig/dist/loaders.js"],
  },
  // The review UI: Ink, React and yoga, an ES module (yoga has top-level await) ...
  { out: "review.mjs", entry: "src/tui/run-review.tsx", format: "esm" },
  // ... imported from a file Node loads itself (src/tui/import-review.ts says why).
  { out: "import-review.cjs", entry: "src/tui/import-review.ts" },
];

/** The path with links resolved (node_modules may be one); as it is when it does not exist (a package name, an extensionless require). */
const real = (path) => {
  try {
    return realpathSync(path);
  } catch {
    return path;
  }
};
for (const bundle of BUNDLES) {
  bundle.modules = (bundle.modules ?? [bundle.entry]).map(real);
  if (bundle.from !== undefined) bundle.from = bundle.from.map(real);
}

/** Imports of another bundle's modules become requires of that file; bundles that are code-cached are required through the loader. */
const filesOfTheirOwn = (self) => ({
  name: "files-of-their-own",
  setup(b) {
    b.onResolve({ filter: /.*/ }, (args) => {
      const key = args.path.startsWith(".") ? real(resolve(args.resolveDir, args.path)) : args.path;
      const other = BUNDLES.find((o) => o !== self && o.modules.includes(key) && (o.from === undefined || o.from.includes(real(args.importer))));
      if (other === undefined) return undefined;
      if (other.codeCache) return { path: other.out, namespace: "loader" };
      return { path: `./${other.out}`, external: true };
    });
    b.onLoad({ filter: /.*/, namespace: "loader" }, (args) => ({
      contents: `module.exports = require(${JSON.stringify(real("scripts/dist-loader.cjs"))}).loadBundle(__dirname, ${JSON.stringify(args.path)});`,
      resolveDir: ".",
    }));
  },
});

// Ends every bundle, so that a code cache can name the bundle it was made for.
const buildId = randomBytes(32).toString("hex");
const common = {
  bundle: true,
  platform: "node",
  target: "node20",
  jsx: "automatic",
  // cosmiconfig requires TypeScript only to load .ts configuration, which we
  // refuse; bundled, its 10 MB were parsed by every run with a config.yaml.
  external: ["typescript"],
  define: { "process.env.NODE_ENV": '"production"' },
  legalComments: "none",
  logLevel: "warning",
  footer: { js: `//# fsbBuildId=${buildId}` },
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
// Code that main.cjs compiles with its code cache cannot import() on Node 20
// (scripts/dist-loader.cjs): there esbuild makes every import() a require.
const cached = { supported: { "dynamic-import": false } };
const esm = {
  ...common,
  format: "esm",
  // Bundled CommonJS dependencies (React) call require().
  banner: { js: "import { createRequire as __fsbCreateRequire } from 'node:module'; const require = __fsbCreateRequire(import.meta.url);" },
  // Ink imports its React devtools only with DEV=true; they are not a
  // dependency, and without the file Ink says how to install them.
  external: [...common.external, "./devtools.js"],
  // Ink's cli-cursor imports restore-cursor, which writes "show the cursor" to
  // stderr at every exit, a terminal or not; ours does it only for a terminal.
  alias: { "restore-cursor": "./src/tui/restore-cursor.ts" },
};

const staging = `dist/.staging-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
await Promise.all(
  BUNDLES.map((bundle) =>
    build({
      ...(bundle.format === "esm" ? esm : cjs),
      ...(bundle.codeCache ? cached : {}),
      ...bundle.options,
      ...(bundle.contents ? { stdin: { contents: bundle.contents, resolveDir: ".", sourcefile: "entry.js" } } : { entryPoints: [bundle.entry] }),
      outfile: join(staging, bundle.out),
      plugins: [filesOfTheirOwn(bundle)],
    }),
  ),
);

// The shipped policy as validated now (src/policy/policy.ts, ValidatedPolicy):
// a run whose blacklist.d/ is byte for byte this one skips parsing it again.
const check = join(staging, "policy-check.cjs");
await build({ ...cjs, entryPoints: ["src/policy/policy.ts"], outfile: check });
const { describeValidPolicy, VALIDATED_POLICY_FILE } = createRequire(import.meta.url)(resolve(check));
try {
  writeFileSync(join(staging, VALIDATED_POLICY_FILE), JSON.stringify(describeValidPolicy("blacklist.d")));
} catch (error) {
  console.warn(`build: blacklist.d/ is not valid, so every run will validate it (and fail): ${error.message}`);
}
rmSync(check);

if (!process.argv.includes("--no-code-cache")) {
  writeCodeCaches(
    staging,
    BUNDLES.filter((b) => b.codeCache).map((b) => b.out),
  );
}

const fresh = readdirSync(staging);
for (const file of fresh.filter((f) => f !== "main.cjs")) renameSync(join(staging, file), join("dist", file));
renameSync(join(staging, "main.cjs"), "dist/main.cjs");
rmSync(staging, { recursive: true, force: true });
// Files of earlier builds and staging directories of failed ones; a run that
// started before this build may still read them for a moment.
for (const name of readdirSync("dist")) {
  const path = join("dist", name);
  if (!fresh.includes(name) && Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { recursive: true, force: true });
}
