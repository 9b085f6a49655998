// The bundle as `npm run build` leaves it in dist/ (run the build first).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { runRecordingLoads } from "../helpers/loads.ts";

const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));
/** The files main.cjs compiles with their code cache: cli.cjs, hook.cjs and each command's. */
const CACHED = readdirSync(DIST)
  .filter((name) => name.endsWith(".cjs.cache"))
  .map((name) => name.slice(0, -".cache".length));

test("every CommonJS file of dist/ runs in strict mode, as the ES modules it was built from did", () => {
  const files = readdirSync(DIST).filter((name) => name.endsWith(".cjs"));
  assert.ok(files.includes("main.cjs") && files.includes("cli.cjs"), files.join(", "));
  for (const name of files) {
    // Node runs a CommonJS file as the body of a function: only a "use strict"
    // that comes before any other statement makes it strict.
    const first = readFileSync(path.join(DIST, name), "utf8").split("\n", 1)[0];
    assert.equal(first, '"use strict";', `${name} starts with ${JSON.stringify(first)}`);
  }
});

test("the bundles main.cjs compiles with a code cache have no import(): on Node 20 such code cannot run one", () => {
  assert.ok(CACHED.includes("status-command.cjs"), CACHED.join(", "));
  for (const name of CACHED) {
    const source = readFileSync(path.join(DIST, name), "utf8");
    assert.doesNotMatch(source, /\bimport\(/, `${name} has an import()`);
  }
  // The review UI, an ES module, is imported by a file that Node loads itself.
  assert.match(readFileSync(path.join(DIST, "import-review.cjs"), "utf8"), /\bimport\("\.\/review\.mjs"\)/);
});

/** The files of dist/ that the bundled command loads for `args`, by name. */
function distFilesLoaded(args: readonly string[]): { status: number; stderr: string; files: string[] } {
  const run = runRecordingLoads(args);
  const files = run.loaded.filter((url) => path.dirname(fileURLToPath(url)) === path.resolve(DIST)).map((url) => path.basename(fileURLToPath(url)));
  return { status: run.status, stderr: run.stderr, files: [...new Set(files)].sort() };
}

test("a command loads its own file of dist/ and no other command's; --version loads none", () => {
  const root = createFakeRoot();
  try {
    const commands = (files: string[]): string[] => files.filter((name) => name.endsWith("-command.cjs"));
    const version = distFilesLoaded(["--version"]);
    assert.equal(version.status, 0, version.stderr);
    assert.deepEqual(commands(version.files), []);
    assert.ok(version.files.includes("cli.cjs"), version.files.join(", "));
    const status = distFilesLoaded(["--root", root.dir, "status", "--json"]);
    assert.equal(status.status, 0, status.stderr);
    assert.deepEqual(commands(status.files), ["status-command.cjs"], status.files.join(", "));
  } finally {
    root.cleanup();
  }
});
