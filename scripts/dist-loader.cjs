// Bundled into dist/main.cjs by build.mjs: loads dist/cli.cjs or dist/hook.cjs
// with the V8 code cache that scripts/code-cache.mjs wrote beside it, when there
// is one; else as any CommonJS file. Node 20 has no compile cache of its own
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

/** Runs the bundle `file` of `dir` (once per process, as require would) and returns its exports. */
function loadBundle(dir, file) {
  const filename = path.join(dir, file);
  let cache;
  try {
    cache = fs.readFileSync(`${filename}.cache`);
  } catch {
    return require(filename);
  }
  const source = fs.readFileSync(filename, "utf8");
  const header = `${idOf(source)}\n`;
  const made = idOf(source) !== null && cache.subarray(0, header.length).toString("latin1") === header;
  const script = new vm.Script(wrap(source), { filename, cachedData: made ? cache.subarray(header.length) : undefined });
  const module = { exports: {} };
  script.runInThisContext().call(module.exports, module.exports, createRequire(filename), module, filename, dir);
  return module.exports;
}

module.exports = { loadBundle, wrap, idOf, ID_PREFIX };
