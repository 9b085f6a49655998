// Bundled by build.mjs into each file of dist/ that loads one marked codeCache
// (main.cjs loads cli.cjs or hook.cjs, cli.cjs a command's file): loads it with
// the V8 code cache that scripts/code-cache.mjs wrote beside it, when there is
// one; else as any CommonJS file. Node 20 has no compile cache of its own
// (module.enableCompileCache() came with Node 22), and compiling the functions a
// command runs was a fifth of `status` (docs/performance.md). The cache holds
// bytecode, not results: V8 takes it only from the same V8 version and flags,
// and we only for the very build it was made from, else the file compiles as
// without it. Nothing is written at run time.
//
// Code compiled by `vm` cannot import() on Node 20 without a flag: the bundles
// loaded here require the files beside them (build.mjs), and the one ES module
// import is in a file that require() loads (src/tui/import-review.ts).
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { createRequire } = require("node:module");

/** The last line of every bundle (esbuild's footer): `//# fsbBuildId=<random id of the build>`; a cache file starts with the id of its bundle. */
const ID_PREFIX = "\n//# fsbBuildId=";

/** The source as compiled: a CommonJS function like Node's own wrapper. */
function wrap(source) {
  return `(function (exports, require, module, __filename, __dirname) {${source}\n})`;
}

/** The id at the end of a bundle, or null. */
function idOf(source) {
  const at = source.lastIndexOf(ID_PREFIX);
  return at < 0 ? null : source.slice(at + ID_PREFIX.length).trim();
}

/**
 * The bundles this process compiled here, by file name: each file of dist/ has
 * its own copy of this loader, and a bundle must still run once per process.
 * The build's training run (code-cache.mjs) writes the caches from their scripts.
 */
const LOADED = Symbol.for("fsblacklist.loadedBundles");
const loaded = (globalThis[LOADED] ??= new Map());

/** Runs the bundle `file` of `dir` (once per process, as require would) and returns its exports. */
function loadBundle(dir, file) {
  const filename = path.join(dir, file);
  const known = loaded.get(filename);
  if (known !== undefined) return known.module.exports;
  let cache;
  try {
    cache = fs.readFileSync(`${filename}.cache`);
  } catch {
    cache = null;
  }
  // Without a cache of its own, the build's training run still compiles it here, to write one.
  if (cache === null && process.env["FSB_TRAINING_CODE_CACHE"] !== "1") return require(filename);
  const source = fs.readFileSync(filename, "utf8");
  const header = `${idOf(source)}\n`;
  const made = cache !== null && idOf(source) !== null && cache.subarray(0, header.length).toString("latin1") === header;
  const script = new vm.Script(wrap(source), { filename, cachedData: made ? cache.subarray(header.length) : undefined });
  const module = { exports: {} };
  loaded.set(filename, { script, source, module });
  try {
    script.runInThisContext().call(module.exports, module.exports, createRequire(filename), module, filename, dir);
  } catch (error) {
    loaded.delete(filename);
    throw error;
  }
  return module.exports;
}

module.exports = { loadBundle, wrap, idOf, ID_PREFIX, LOADED };
