// readModuleIndex parses modules.alias only when every alias is asked for;
// aliasesStartingWith() reads just the lines that can match a name starting with
// one character. These tests hold the shortcut to the full parse, line for line.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { RootFs } from "../../src/system/root-fs.ts";
import { aliasesStartingWith, readModuleIndex, type IndexedAlias, type ModuleIndex } from "../../src/system/module-index.ts";
import { FIXTURE_KERNELS_DIR, FIXTURE_RELEASES } from "../helpers/fake-root.ts";
import { makeScratchDir } from "../helpers/tree-generator.ts";

const RELEASE = "1.0.0-test";

function indexOf(root: string, aliasText: string): () => ModuleIndex {
  const dir = path.join(root, "lib/modules", RELEASE);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "modules.dep"), "kernel/fs/jfs/jfs.ko:\n");
  writeFileSync(path.join(dir, "modules.alias"), aliasText);
  return () => readModuleIndex(new RootFs(root), RELEASE)!;
}

/** What the shortcut must return: the fully parsed aliases that can match a name starting with `first`. */
function expected(index: ModuleIndex, first: string): IndexedAlias[] {
  return index.aliases.filter((a) => a.pattern[0] === first || [undefined, "*", "?", "[", "\\"].includes(a.pattern[0]));
}

function assertSame(fresh: () => ModuleIndex, firsts: Iterable<string>): void {
  const parsed = fresh();
  for (const first of firsts) {
    const unparsed = fresh();
    assert.deepEqual(aliasesStartingWith(unparsed, first), expected(parsed, first), `names starting with ${JSON.stringify(first)}`);
    // And once the index is parsed, from the parsed aliases.
    void unparsed.aliases;
    assert.deepEqual(aliasesStartingWith(fresh(), first), aliasesStartingWith(unparsed, first));
  }
}

test("aliasesStartingWith reads odd lines as the full parse does: blanks, tabs, CR, dashes, brackets, wildcards, missing fields", (t) => {
  const root = makeScratchDir("fsb-module-index-");
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const text = [
    "# Aliases extracted from modules themselves.",
    "alias fs-jfs jfs",
    "alias\tfs-tab\tjfs",
    "alias  fs-two   spaces extra fields",
    "alias fs-cr jfs\r",
    "alias fs-nomodule",
    "alias fs-emptymodule ",
    "alias fs-emptymodule2 \t",
    " alias fs-leading jfs",
    "aliasfs-glued jfs",
    "aliases fs-plural jfs",
    "alias -dash jfs",
    "alias _under jfs",
    "alias [f]s-bracket jfs",
    "alias [fs-unclosed jfs",
    "alias ]fs-close jfs",
    "alias *wild jfs",
    "alias ?wild jfs",
    "alias \\fs-escaped jfs",
    "alias fs-a-b-c jfs",
    "alias fs-[a-b]-x jfs",
    "alias pci:v00001234d* jfs",
    "alias x\u2028alias fs-ls jfs",
    "alias fs-last jfs",
  ].join("\n");
  const fresh = indexOf(root, text);
  assert.ok(fresh().aliases.length > 10);
  assertSame(fresh, ["f", "_", "-", "x", "p", "*", "?", "[", "]", "\\", "a", "\u2028", "é"]);
});

test("aliasesStartingWith matches the full parse of every fixture kernel for every first character", (t) => {
  const root = makeScratchDir("fsb-module-index-");
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const release of FIXTURE_RELEASES) {
    const text = readFileSync(path.join(FIXTURE_KERNELS_DIR, release, "modules.alias"), "utf8");
    const fresh = indexOf(root, text);
    const firsts = new Set(fresh().aliases.map((a) => a.pattern[0]!));
    assert.ok(firsts.has("f") && firsts.size > 3, release);
    assertSame(fresh, [...firsts, "_", "z"]);
  }
});
