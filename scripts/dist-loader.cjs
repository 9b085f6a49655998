// Bundled into dist/main.cjs by build.mjs: loads dist/cli.cjs or dist/hook.cjs
// with the V8 code cache that the build wrote beside it. Node 20 has no compile
// cache of its own (module.enableCompileCache() came with Node 22), and
// compiling the functions a command runs was a fifth of `status`
// (docs/performance.md). The cache holds bytecode, not results: V8 takes it
// only from the same V8 version and flags, and we only for the very source it
// was made from, else the file compiles as without it. Nothing is written at
// run time.
"use strict";
const fs = require("node:fs");
const path = require("node:path");
const vm = require("node:vm");
const { createRequire } = require("node:module");
const { pathToFileURL } = require("node:url");

/** The last line of a cached bundle: `//# fsbCacheId=<sha-256 of the rest>`; the cache file starts with the same line. */
const ID_PREFIX = "\n//# fsbCacheId=";

/**
 * The source as compiled: a CommonJS function like Node's own wrapper, with
 * `__fsbImport` for the bundle's `import()` of ES modules (build.mjs rewrites
 * them), which code compiled by `vm` cannot do itself on Node 20.
 */
function wrap(source) {
  return `(function (exports, require, module, __filename, __dirname, __fsbImport) {${source}\n})`;
}

/** The id at the end of a bundle, or null. */
function idOf(source) {
  const at = source.lastIndexOf(ID_PREFIX);
  return at < 0 ? null : source.slice(at + ID_PREFIX.length).trim();
}

/** The V8 data of `cacheFile` when it was made for the bundle with this id, else undefined. */
function cachedDataFor(cacheFile, id) {
  let cache;
  try {
    cache = fs.readFileSync(cacheFile);
  } catch {
    return undefined;
  }
  const header = `${id}\n`;
  return id !== null && cache.subarray(0, header.length).toString("latin1") === header ? cache.subarray(header.length) : undefined;
}

/** Runs the bundle `file` of `dir` (once per process, as require would) and returns its exports. */
function loadBundle(dir, file) {
  const filename = path.join(dir, file);
  const source = fs.readFileSync(filename, "utf8");
  const script = new vm.Script(wrap(source), { filename, cachedData: cachedDataFor(`${filename}.cache`, idOf(source)) });
  const module = { exports: {} };
  const importer = (specifier) => import(pathToFileURL(path.join(dir, specifier)).href);
  script.runInThisContext().call(module.exports, module.exports, createRequire(filename), module, filename, dir, importer);
  return module.exports;
}

module.exports = { loadBundle, wrap, idOf, ID_PREFIX };
