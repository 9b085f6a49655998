// The layer rules of the README's Layout section, read from the imports
// themselves: a forbidden edge or any cycle fails, with the files named.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { cycles, forbiddenEdges, readImports } from "./import-graph.ts";
import { makeScratchDir } from "../helpers/tree-generator.ts";

const SRC = fileURLToPath(new URL("../../src", import.meta.url));

test("no import under src/ crosses a layer the wrong way", () => {
  const { edges } = readImports(SRC);
  assert.ok(edges.length > 100, `read ${edges.length} imports`);
  assert.deepEqual(forbiddenEdges(edges), []);
});

test("no import cycle under src/, type-only imports included", () => {
  assert.deepEqual(cycles(readImports(SRC).edges), []);
});

/** A src/ tree of the given files, for the checks' own tests; removed after the test. */
function tree(t: TestContext, files: Record<string, string>): string {
  const dir = makeScratchDir("fsb-imports-");
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  for (const [file, text] of Object.entries(files)) {
    mkdirSync(path.join(dir, path.dirname(file)), { recursive: true });
    writeFileSync(path.join(dir, file), text);
  }
  return dir;
}

test("the rules name each kind of forbidden edge", (t) => {
  const dir = tree(t, {
    "kmod/a.ts": 'import { x } from "../system/b.ts";\nimport { UsageError } from "../errors.ts";\n',
    "system/b.ts": 'import type { Plan } from "../decide/c.ts";\nexport const x = 1;\n',
    "decide/c.ts": 'import type { RootFs } from "../system/root-fs.ts";\nimport { readFstab } from "../system/fstab.ts";\n',
    "report/d.ts": 'import type { R } from "../services/e.ts";\nimport { computeStatus } from "../services/status.ts";\n',
    "services/e.ts": 'const m = await import("../commands/f.ts");\n',
    "initramfs/g.ts": 'import { modprobeDirs } from "../kmod/config-files.ts";\nimport type { RootFs } from "../system/root-fs.ts";\n',
    "errors.ts": "",
  });
  assert.deepEqual(forbiddenEdges(readImports(dir).edges), [
    "decide/c.ts -> system/fstab.ts: decide imports only types from system",
    "initramfs/g.ts -> system/root-fs.ts: initramfs imports only initramfs, kmod",
    "kmod/a.ts -> system/b.ts: kmod imports only kmod",
    "kmod/a.ts -> errors.ts: kmod imports only kmod",
    "report/d.ts -> services/status.ts: report imports only types from services",
    "services/e.ts -> commands/f.ts: services never imports commands",
    "system/b.ts -> decide/c.ts: system never imports decide",
  ]);
});

test("a cycle is found whatever its length, through type-only imports and `export ... from` too", (t) => {
  const dir = tree(t, {
    "tui/a.ts": 'import type { B } from "./b.ts";\n',
    "tui/b.ts": 'export { c } from "./c.ts";\n',
    "tui/c.ts": 'import {\n  type A,\n} from "./a.ts";\n',
    "tui/d.ts": 'import { a } from "./a.ts";\n',
    "system/self.ts": 'import "./self.ts";\n',
  });
  assert.deepEqual(cycles(readImports(dir).edges), [["system/self.ts"], ["tui/a.ts", "tui/b.ts", "tui/c.ts"]]);
});
