// scripts/dist-loader.cjs: main.cjs loads cli.cjs and hook.cjs with the V8 code
// cache the build wrote, and only a cache made for the very source it loads.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync, writeFileSync } from "node:fs";
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

test("the code caches the build wrote are the ones V8 takes for dist/cli.cjs and dist/hook.cjs", () => {
  for (const file of ["cli.cjs", "hook.cjs"]) {
    const filename = path.join(DIST, file);
    const source = readFileSync(filename, "utf8");
    const cache = readFileSync(`${filename}.cache`);
    const id = idOf(source);
    assert.ok(id !== null && /^[0-9a-f]{64}$/.test(id), `${file} ends with its id`);
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

test("a bundle loaded this way can import the ES modules beside it", async (t) => {
  const dir = makeScratchDir("fsb-dist-loader-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  writeFileSync(path.join(dir, "esm.mjs"), "export const value = 42;\n");
  writeFileSync(path.join(dir, "bundle.cjs"), `"use strict";\nmodule.exports = { load: () => __fsbImport("./esm.mjs") };\n`);
  const { load } = loadBundle(dir, "bundle.cjs") as { load(): Promise<{ value: number }> };
  assert.equal((await load()).value, 42);
});
