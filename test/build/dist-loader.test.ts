// scripts/dist-loader.cjs: main.cjs loads cli.cjs or hook.cjs, and cli.cjs a
// command's file, with the V8 code cache the build wrote (scripts/code-cache.mjs),
// and only a cache made for the very build it loads.

import { test } from "node:test";
import assert from "node:assert/strict";
import { copyFileSync, readdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { Script } from "node:vm";
import { makeScratchDir } from "../helpers/tree-generator.ts";

const require = createRequire(import.meta.url);
const { loadBundle, wrap, idOf, ID_PREFIX } = require("../../scripts/dist-loader.cjs") as {
  loadBundle(dir: string, file: string): Record<string, unknown>;
  wrap(source: string): string;
  idOf(source: string): string | null;
  ID_PREFIX: string;
};
const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

function cacheFor(source: string, filename: string): Buffer {
  const data = new Script(wrap(source), { filename }).createCachedData();
  return Buffer.concat([Buffer.from(`${idOf(source)}\n`, "latin1"), data]);
}

test("the code caches the build wrote are the ones V8 takes: cli.cjs, hook.cjs and every command's file", () => {
  const cached = readdirSync(DIST)
    .filter((name) => name.endsWith(".cjs.cache"))
    .map((name) => name.slice(0, -".cache".length));
  const commands = readdirSync(fileURLToPath(new URL("../../src/commands/", import.meta.url)))
    .filter((name) => name.endsWith(".ts") && name !== "modprobe-hook.ts")
    .map((name) => `${name.slice(0, -".ts".length)}-command.cjs`);
  assert.deepEqual(cached.sort(), ["cli.cjs", "hook.cjs", ...commands].sort());
  for (const file of cached) {
    const filename = path.join(DIST, file);
    const source = readFileSync(filename, "utf8");
    const cache = readFileSync(`${filename}.cache`);
    const id = idOf(source);
    assert.ok(id !== null && /^[0-9a-f]{64}$/.test(id), `${file} ends with the id of its build`);
    assert.equal(cache.subarray(0, id.length + 1).toString("latin1"), `${id}\n`, `${file}.cache is for this ${file}`);
    const script = new Script(wrap(source), { filename, cachedData: cache.subarray(id.length + 1) });
    assert.equal(script.cachedDataRejected, false, `V8 ${process.versions.v8} rejects ${file}.cache`);
  }
});

test("a cache made for another source of the same length is not used (V8 itself compares only lengths)", (t) => {
  const dir = makeScratchDir("fsb-dist-loader-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const version = (n: number): string => {
    const body = `"use strict";\nmodule.exports = { answer: ${n} };`;
    return `${body}${ID_PREFIX}${String(n).repeat(64)}\n`;
  };
  const filename = path.join(dir, "bundle.cjs");
  // The cache of version 1 beside version 2, as a build that was interrupted between the two files would leave them.
  writeFileSync(`${filename}.cache`, cacheFor(version(1), filename));
  writeFileSync(filename, version(2));
  assert.equal(version(1).length, version(2).length);
  assert.equal(loadBundle(dir, "bundle.cjs")["answer"], 2);
  // And the matching cache is used: same result, through the cache.
  writeFileSync(`${filename}.cache`, cacheFor(version(2), filename));
  assert.equal(loadBundle(dir, "bundle.cjs")["answer"], 2);
});

test("a bundle loaded with its cache requires the files beside it, and one of those can import() an ES module", async (t) => {
  const dir = makeScratchDir("fsb-dist-loader-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, "esm.mjs"), "export const value = 42;\n");
  writeFileSync(path.join(dir, "import-esm.cjs"), `"use strict";\nexports.load = () => import("./esm.mjs");\n`);
  const source = `"use strict";\nmodule.exports = { load: () => require("./import-esm.cjs").load() };${ID_PREFIX}${"a".repeat(64)}\n`;
  const filename = path.join(dir, "bundle.cjs");
  writeFileSync(filename, source);
  writeFileSync(`${filename}.cache`, cacheFor(source, filename));
  const { load } = loadBundle(dir, "bundle.cjs") as { load(): Promise<{ value: number }> };
  assert.equal((await load()).value, 42);
});

test("a bundle loaded from two files runs once: the second gets the first one's exports", (t) => {
  const dir = makeScratchDir("fsb-dist-loader-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const source = `"use strict";\nmodule.exports = { ran: (globalThis.fsbRuns = (globalThis.fsbRuns ?? 0) + 1), error: class extends Error {} };${ID_PREFIX}${"b".repeat(64)}\n`;
  const filename = path.join(dir, "shared.cjs");
  writeFileSync(filename, source);
  writeFileSync(`${filename}.cache`, cacheFor(source, filename));
  const first = loadBundle(dir, "shared.cjs");
  // Each file of dist/ has a copy of the loader of its own (the build bundles it in).
  copyFileSync(require.resolve("../../scripts/dist-loader.cjs"), path.join(dir, "loader-copy.cjs"));
  const { loadBundle: another } = require(path.join(dir, "loader-copy.cjs")) as { loadBundle: typeof loadBundle };
  assert.notEqual(another, loadBundle);
  assert.equal(another(dir, "shared.cjs"), first, "the second file gets the same exports");
  assert.equal((globalThis as { fsbRuns?: number }).fsbRuns, 1, "the bundle ran once");
});

test("a bundle without a cache (a build with --no-code-cache) is required as any CommonJS file", (t) => {
  const dir = makeScratchDir("fsb-dist-loader-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, "bundle.cjs"), `"use strict";\nmodule.exports = { file: __filename };\n`);
  const loaded = loadBundle(dir, "bundle.cjs");
  assert.equal(loaded["file"], path.join(dir, "bundle.cjs"));
  assert.equal(require(path.join(dir, "bundle.cjs")), loaded, "the same module as require gives");
});
