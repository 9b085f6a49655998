// readModuleIndex parses modules.alias only when every alias is asked for;
// aliasesStartingWith() reads just the lines that can match a name starting with
// one character; modules.dep is read as names and line offsets, a module's line
// when it is asked for. These tests hold the shortcuts to a full parse, line for line.

import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { RootFs } from "../../src/system/root-fs.ts";
import { aliasesStartingWith, moduleNameFromPath, type IndexedAlias, type ModuleIndex } from "../../src/kmod/module-index.ts";
import { readModuleIndex } from "../../src/system/module-index-files.ts";
import { FIXTURE_KERNELS_DIR, FIXTURE_RELEASES } from "../helpers/fake-root.ts";
import { makeScratchDir } from "../helpers/tree-generator.ts";

const RELEASE = "1.0.0-test";

function indexOf(root: string, aliasText: string, depText = "kernel/fs/jfs/jfs.ko:\n"): () => ModuleIndex {
  const dir = path.join(root, "lib/modules", RELEASE);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, "modules.dep"), depText);
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

/** kmod's modname_normalize as first written here: the basename up to the first dot, dashes as underscores. */
function referenceName(modulePath: string): string {
  const base = path.posix.basename(modulePath);
  const dot = base.indexOf(".");
  return (dot < 0 ? base : base.slice(0, dot)).replaceAll("-", "_");
}

test("moduleNameFromPath agrees with the reference on odd paths", () => {
  for (const p of ["", "/", "//", "a", "a/", "a//", "/a/b.c/", "x/.ko", "x/-y-.ko.xz", "a.b/c", "a.b/c-d.e", "\u00a0x.ko", "x/y z.ko"]) {
    assert.equal(moduleNameFromPath(p), referenceName(p), JSON.stringify(p));
  }
});

/** modules.dep parsed whole, line by line: what the module table must answer. */
function fullDepParse(text: string): { name: string; path: string; deps: string[]; rank: number }[] {
  const modules = new Map<string, { name: string; path: string; deps: string[]; rank: number }>();
  let offset = 0;
  for (const line of text.split("\n")) {
    const colon = line.indexOf(":");
    if (colon >= 0) {
      const modulePath = line.slice(0, colon).trim();
      const name = referenceName(modulePath);
      const deps = line
        .slice(colon + 1)
        .split(/[ \t]+/)
        .filter(Boolean)
        .map(referenceName);
      if (!modules.has(name)) modules.set(name, { name, path: modulePath, deps, rank: offset });
    }
    offset += line.length + 1;
  }
  return [...modules.values()];
}

function assertSameModules(index: ModuleIndex, text: string, context: string): void {
  const expected = fullDepParse(text);
  assert.deepEqual(
    [...index.modules.keys()],
    expected.map((m) => m.name),
    `${context}: names in order`,
  );
  for (const m of expected) {
    assert.ok(index.modules.has(m.name), `${context}: has ${m.name}`);
    const got = index.modules.get(m.name);
    assert.deepEqual({ name: got?.name, path: got?.path, deps: got?.deps, rank: index.modules.rank(m.name) }, m, `${context}: ${m.name}`);
  }
  for (const missing of ["", "nosuchmodule", "jfs.ko", "kernel/fs/jfs/jfs.ko"]) {
    if (expected.some((m) => m.name === missing)) continue;
    assert.equal(index.modules.has(missing), false, `${context}: has(${JSON.stringify(missing)})`);
    assert.equal(index.modules.get(missing), undefined);
    assert.equal(index.modules.rank(missing), undefined);
  }
}

test("the module table reads odd modules.dep lines as a full parse does: blanks, CR, dashes, dots, slashes, duplicates", (t) => {
  const root = makeScratchDir("fsb-module-index-");
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const text = [
    "kernel/fs/jfs/jfs.ko.xz:",
    "kernel/fs/fat/vfat.ko: kernel/fs/fat/fat.ko",
    "kernel/fs/fat/fat.ko:",
    "kernel/fs/ocfs2/ocfs2-dlmfs.ko: kernel/fs/ocfs2/ocfs2_stackglue.ko\tkernel/fs/ocfs2/ocfs2-nodemanager.ko.zst",
    "  kernel/fs/lead/leading.ko  : kernel/fs/fat/fat.ko",
    "kernel/fs/trail/trailing.ko\t:",
    "kernel/fs/cr/cr.ko: kernel/fs/fat/fat.ko\r",
    "kernel/fs/jfs/jfs.ko: kernel/fs/fat/fat.ko",
    "noslash.ko:",
    "  leadingnoslash.ko:",
    "kernel/fs/nodot/nodot: x/y.ko",
    "kernel/fs/dir.d/inside:",
    "kernel/fs/slash/ending/:",
    "kernel/a.b-c/d-e.f-g.ko:",
    "kernel/\u00a0nbsp.ko\u00a0:",
    "no colon here",
    ":",
    "",
    "kernel/fs/last/last.ko: kernel/fs/jfs/jfs.ko",
  ].join("\n");
  const index = indexOf(root, "", text)();
  assertSameModules(index, text, "odd lines");
});

test("the module table matches a full parse of every fixture kernel's modules.dep", (t) => {
  const root = makeScratchDir("fsb-module-index-");
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const release of FIXTURE_RELEASES) {
    const text = readFileSync(path.join(FIXTURE_KERNELS_DIR, release, "modules.dep"), "utf8");
    const index = indexOf(root, "", text)();
    assert.ok([...index.modules.keys()].length > 50, release);
    assertSameModules(index, text, release);
  }
});

/** The fixture kernel's files under a root, with or without the .bin twins (or with them damaged). */
function fixtureIndex(root: string, release: string, bins: "with" | "without" | "damaged"): ModuleIndex {
  const dir = path.join(root, bins, release, "lib/modules", release);
  mkdirSync(dir, { recursive: true });
  for (const name of ["modules.dep", "modules.alias", "modules.builtin", "modules.builtin.modinfo", "modules.dep.bin", "modules.alias.bin", "modules.builtin.alias.bin"]) {
    const from = path.join(FIXTURE_KERNELS_DIR, release, name);
    if (name.endsWith(".bin") && bins === "without") continue;
    const bytes = readFileSync(from);
    // A damaged trie: the root node word points past the end of the file, found on the first lookup.
    if (name.endsWith(".bin") && bins === "damaged") bytes.writeUInt32BE(0x0fffffff, 8);
    writeFileSync(path.join(dir, name), bytes);
  }
  return readModuleIndex(new RootFs(path.join(root, bins, release)), release)!;
}

/** Names to ask for: every module, every alias pattern made concrete, every fs- type, and some that match nothing. */
function namesOf(release: string): string[] {
  const dep = readFileSync(path.join(FIXTURE_KERNELS_DIR, release, "modules.dep"), "utf8");
  const alias = readFileSync(path.join(FIXTURE_KERNELS_DIR, release, "modules.alias"), "utf8");
  const names = new Set<string>(["", "nosuchmodule", "fs_nosuchfs", "crc32c", "crypto_crc32c", "fs_", "x"]);
  for (const line of dep.split("\n")) if (line.includes(":")) names.add(moduleNameFromPath(line.slice(0, line.indexOf(":"))));
  const modinfo = readFileSync(path.join(FIXTURE_KERNELS_DIR, release, "modules.builtin.modinfo"), "latin1");
  const builtinPatterns = modinfo.split("\0").flatMap((field) => /^[^.=]+\.alias=(.+)$/s.exec(field)?.[1] ?? []);
  for (const line of [...alias.split("\n"), ...builtinPatterns.map((p) => `alias ${p} x`)]) {
    const raw = line.split(" ")[1];
    if (raw === undefined) continue;
    // A wildcard pattern made into a name it matches: * as "abc", ? as "x", a class as its first member.
    const concrete = raw
      .replace(/\[!?(.)[^\]]*\]/g, "$1")
      .replace(/\*/g, "abc")
      .replace(/\?/g, "x")
      .replaceAll("-", "_");
    names.add(concrete);
  }
  return [...names];
}

test("with the .bin twins, the module table and alias requests answer as from the text files, on every fixture kernel", (t) => {
  const root = makeScratchDir("fsb-module-index-");
  t.after(() => rmSync(root, { recursive: true, force: true }));
  for (const release of FIXTURE_RELEASES) {
    const fromBin = fixtureIndex(root, release, "with");
    const fromText = fixtureIndex(root, release, "without");
    const damaged = fixtureIndex(root, release, "damaged");
    const names = namesOf(release);
    assert.ok(names.length > 200, `${release}: ${names.length} names`);
    let found = 0;
    for (const name of names) {
      const expected = {
        has: fromText.modules.has(name),
        get: fromText.modules.get(name) && { name: fromText.modules.get(name)!.name, path: fromText.modules.get(name)!.path, deps: fromText.modules.get(name)!.deps },
        targets: fromText.aliasTargets(name),
        // The .bin orders ties among built-in aliases (all of priority 0) as kmod does, the text in file order: compared as sets.
        builtin: [...fromText.builtinAliasTargets(name)].sort(),
      };
      if (expected.targets.length > 0) found++;
      for (const [which, index] of [
        ["bin", fromBin],
        ["damaged bin", damaged],
      ] as const) {
        const got = {
          has: index.modules.has(name),
          get: index.modules.get(name) && { name: index.modules.get(name)!.name, path: index.modules.get(name)!.path, deps: index.modules.get(name)!.deps },
          targets: index.aliasTargets(name),
          builtin: [...index.builtinAliasTargets(name)].sort(),
        };
        assert.deepEqual(got, expected, `${release}, ${which}: ${JSON.stringify(name)}`);
      }
    }
    assert.ok(found > 100, `${release}: only ${found} names lead to modules`);
    const builtinFound = names.filter((name) => fromText.builtinAliasTargets(name).length > 0).length;
    assert.ok(builtinFound > 10, `${release}: only ${builtinFound} names lead to built-in modules`);
    assert.ok(fromText.filesystemAliases.length > 20, release);
    assert.deepEqual(fromBin.filesystemAliases, fromText.filesystemAliases, `${release}: fs- aliases`);
    assert.deepEqual(damaged.filesystemAliases, fromText.filesystemAliases, `${release}: fs- aliases, damaged bin`);
    // Ranks order modules the same way (the text table's are offsets, the trie's line numbers).
    const modules = [...fromText.modules.keys()];
    const byBin = [...modules].sort((a, b) => fromBin.modules.rank(a)! - fromBin.modules.rank(b)!);
    assert.deepEqual(byBin, modules, `${release}: modules.dep order`);
    assert.deepEqual([...fromBin.modules.keys()], modules, `${release}: keys in modules.dep order`);
  }
});
