// The bundle as `npm run build` leaves it in dist/ (run the build first).

import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync, readFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";

const DIST = fileURLToPath(new URL("../../dist/", import.meta.url));

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
  for (const name of ["cli.cjs", "hook.cjs"]) {
    const source = readFileSync(path.join(DIST, name), "utf8");
    assert.doesNotMatch(source, /\bimport\(/, `${name} has an import()`);
  }
  // The review UI, an ES module, is imported by a file that Node loads itself.
  assert.match(readFileSync(path.join(DIST, "import-review.cjs"), "utf8"), /\bimport\("\.\/review\.mjs"\)/);
});
