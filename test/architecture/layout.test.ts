// The README's Layout table names every folder and top-level file of the
// repository and of src/, and nothing that is not there.

import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, readdirSync } from "node:fs";
import { fileURLToPath } from "node:url";

const REPO = fileURLToPath(new URL("../..", import.meta.url));
/** What the build, npm and git make or keep: not part of the layout. */
const NOT_LAYOUT = new Set([".git", "node_modules", "dist", "tmp"]);

/** The paths the Layout section's table names in its first column (`src/kmod/`, `bin/`, `README.md`, ...). */
function layoutPaths(readme: string): string[] {
  const section = readme.slice(readme.indexOf("\n## Layout"), readme.indexOf("\n## ", readme.indexOf("\n## Layout") + 1));
  const paths: string[] = [];
  for (const line of section.split("\n")) {
    const first = /^\| ([^|]+) \|/.exec(line)?.[1];
    if (first === undefined) continue;
    for (const named of first.matchAll(/`([^`]+)`/g)) paths.push(named[1]!);
  }
  return paths.sort();
}

function entries(dir: string, prefix: string): string[] {
  return readdirSync(dir, { withFileTypes: true })
    .filter((e) => !NOT_LAYOUT.has(e.name) && !e.name.endsWith(".cpuprofile"))
    .map((e) => `${prefix}${e.name}${e.isDirectory() ? "/" : ""}`);
}

test("the README's Layout table names every folder and top-level file, and only those", () => {
  const named = layoutPaths(readFileSync(`${REPO}/README.md`, "utf8"));
  assert.ok(named.length > 10, `the table names ${named.length} paths`);
  const src = entries(`${REPO}/src`, "src/");
  const top = entries(REPO, "").filter((p) => p !== "src/");
  assert.deepEqual(named, [...src, ...top].sort());
});
