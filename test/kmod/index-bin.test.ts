// The binary index reader (src/kmod/index-bin.ts) against what depmod wrote
// for real kernels (the text twins of the .bin files say what is in them), and
// against the real kmod: `modprobe -R NAME` prints the modules a lookup finds,
// in the order modprobe tries them. Corrupt files must end in IndexFormatError,
// never in a hang, another exception or an out-of-bounds read.
//
// FSB_FULL_KERNEL=DIR points the full-size checks at another lib/modules/<release>.
// Under `npm test` the oracle runs, the seeds and the damaged files are a sample
// (test/helpers/tier.ts); test:evidence runs them whole.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { IndexFormatError, parseIndexBin, type BinIndex } from "../../src/kmod/index-bin.ts";
import { fnmatch } from "../../src/kmod/fnmatch.ts";
import { underscores } from "../../src/kmod/parse-config.ts";
import { moduleNameFromPath } from "../../src/kmod/module-index.ts";
import { createFakeRoot, FIXTURE_KERNELS_DIR, FIXTURE_RELEASES } from "../helpers/fake-root.ts";
import { makeScratchDir, prng } from "../helpers/tree-generator.ts";
import { canRunOracle, runModprobe } from "../facts/modprobe-oracle.ts";
import { SAMPLING, sampled } from "../helpers/tier.ts";

const FULL_KERNEL = process.env["FSB_FULL_KERNEL"] ?? "/tmp/kx/linux-image-6.1.0-50-amd64_6.1.176-1_amd64/lib/modules/6.1.0-50-amd64";
const NO_FULL_KERNEL = existsSync(path.join(FULL_KERNEL, "modules.alias.bin"))
  ? false
  : `full kernel metadata not found at ${FULL_KERNEL} (a local check; set FSB_FULL_KERNEL to lib/modules/<release> of an unpacked kernel package)`;
const NO_ORACLE = canRunOracle() ? false : "needs root, unshare and kmod's modprobe";

interface Alias {
  raw: string;
  /** As depmod stores it: dashes as underscores outside brackets. */
  pattern: string;
  module: string;
}

/** One lib/modules/<release> directory: its .bin indexes and the text files depmod wrote beside them. */
interface Kernel {
  dir: string;
  alias: BinIndex;
  dep: BinIndex;
  builtin: BinIndex;
  builtinAlias: BinIndex;
  aliases: Alias[];
  depLines: string[];
  builtinNames: string[];
  builtinAliases: Alias[];
}

function aliasOf(raw: string, module: string): Alias | null {
  const pattern = underscores(raw);
  return pattern === null ? null : { raw, pattern, module };
}

function loadKernel(dir: string): Kernel {
  const bin = (name: string): BinIndex => parseIndexBin(readFileSync(path.join(dir, name)));
  const text = (name: string): string[] =>
    readFileSync(path.join(dir, name), "latin1")
      .split("\n")
      .filter((line) => line !== "");
  const aliases = text("modules.alias").flatMap((line) => {
    const [keyword, raw, module] = line.split(" ");
    const alias = keyword === "alias" ? aliasOf(raw!, module!) : null;
    return alias === null ? [] : [alias];
  });
  const builtinAliases = readFileSync(path.join(dir, "modules.builtin.modinfo"), "latin1")
    .split("\0")
    .flatMap((field) => {
      const match = /^([^.]+)\.alias=(.+)$/s.exec(field);
      const alias = match === null ? null : aliasOf(match[2]!, match[1]!);
      return alias === null ? [] : [alias];
    });
  return {
    dir,
    alias: bin("modules.alias.bin"),
    dep: bin("modules.dep.bin"),
    builtin: bin("modules.builtin.bin"),
    builtinAlias: bin("modules.builtin.alias.bin"),
    aliases,
    depLines: text("modules.dep"),
    builtinNames: text("modules.builtin").map(moduleNameFromPath),
    builtinAliases,
  };
}

const hasWildcard = (pattern: string): boolean => /[*?[]/.test(pattern);

/** A name the pattern matches (`*` as nothing, `?` as "0", a bracket as its first member); null for patterns it cannot expand. */
function concreteName(pattern: string): string | null {
  let name = "";
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === "*") continue;
    if (c === "?") name += "0";
    else if (c === "[") {
      const member = pattern[i + 1];
      const close = pattern.indexOf("]", i + 2);
      if (member === undefined || "!^\\[".includes(member) || close < 0) return null;
      name += member;
      i = close;
    } else if (c === "\\") return null;
    else name += c;
  }
  return fnmatch(pattern, name) ? name : null;
}

/**
 * Which aliases match a name as kmod's trie search decides it, written from the
 * text file: up to the key's first wildcard the name must be equal, and from
 * there fnmatch decides (so a backslash before the first wildcard is literal).
 */
function kmodMatches(pattern: string, name: string): boolean {
  const wild = pattern.search(/[*?[]/);
  if (wild < 0) return pattern === name;
  return pattern.slice(0, wild) === name.slice(0, wild) && fnmatch(pattern.slice(wild), name.slice(wild));
}

/** Module name -> its line number in modules.dep, which is what depmod stores as the priority of its aliases and dep line. */
function depRanks(kernel: Kernel): Map<string, number> {
  return new Map(kernel.depLines.map((line, n) => [moduleNameFromPath(line.slice(0, line.indexOf(":"))), n]));
}

/** What `modprobe -R REQUEST` prints without configuration: kmod's lookup chain over the indexes. */
function expectedResolution(kernel: Kernel, request: string): string[] {
  const name = underscores(request);
  if (name === null) return [];
  if (!name.includes(":") && kernel.dep.lookup(name).length > 0) return [name];
  const aliased = kernel.alias.searchWild(name);
  if (aliased.length > 0) return aliased.map((m) => m.value);
  if (kernel.builtin.lookup(name).length > 0) return [name];
  return kernel.builtinAlias.searchWild(name).map((m) => m.value);
}

function assertIndexMatchesText(kernel: Kernel, label: string, sampleNames?: (names: string[]) => string[]): void {
  const ranks = depRanks(kernel);

  // modules.dep.bin holds each modules.dep line under the module's name, with the line number as priority.
  assert.equal(kernel.dep.entries().length, kernel.depLines.length, `${label}: modules.dep.bin entries`);
  kernel.depLines.forEach((line, n) => {
    const name = moduleNameFromPath(line.slice(0, line.indexOf(":")));
    assert.deepEqual(kernel.dep.lookup(name), [line], `${label}: modules.dep.bin ${name}`);
    assert.equal(ranks.get(name), n);
  });
  const depEntries = kernel.dep.entries();
  assert.deepEqual(
    depEntries.map((e) => e.priority).sort((a, b) => a - b),
    kernel.depLines.map((_, n) => n),
  );

  // Every alias line is stored under its normalised pattern, with its module's modules.dep position as priority.
  const stored = kernel.alias.entries();
  const key = (e: { pattern: string; module: string }): string => `${e.pattern} ${e.module}`;
  assert.deepEqual(stored.map((e) => key({ pattern: e.key, module: e.value })).sort(), kernel.aliases.map(key).sort(), `${label}: modules.alias.bin entries`);
  for (const e of stored) assert.equal(e.priority, ranks.get(e.value), `${label}: priority of ${e.key} ${e.value}`);
  for (const alias of kernel.aliases) assert.ok(kernel.alias.lookup(alias.pattern).includes(alias.module), `${label}: lookup ${alias.pattern}`);

  // Search results: what the text file and kmod's matching rule say, ordered by modules.dep position.
  const names = kernel.aliases.map((a) => (hasWildcard(a.pattern) ? concreteName(a.pattern) : a.pattern)).filter((n): n is string => n !== null);
  assert.ok(names.length >= kernel.aliases.length * 0.95, `${label}: most aliases expand to a name`);
  for (const name of sampleNames ? sampleNames(names) : names) {
    const expected = kernel.aliases
      .filter((a) => kmodMatches(a.pattern, name))
      .sort((a, b) => ranks.get(a.module)! - ranks.get(b.module)!)
      .map((a) => a.module);
    assert.ok(expected.length > 0);
    assert.deepEqual(
      kernel.alias.searchWild(name).map((m) => m.value),
      expected,
      `${label}: searchWild ${name}`,
    );
  }

  assert.equal(kernel.builtin.entries().length, new Set(kernel.builtinNames).size, `${label}: modules.builtin.bin entries`);
  for (const name of kernel.builtinNames) assert.deepEqual(kernel.builtin.lookup(name), [""], `${label}: modules.builtin.bin ${name}`);
  for (const alias of kernel.builtinAliases) {
    assert.ok(kernel.builtinAlias.lookup(alias.pattern).includes(alias.module), `${label}: builtin alias ${alias.pattern}`);
    const name = hasWildcard(alias.pattern) ? concreteName(alias.pattern) : alias.pattern;
    if (name !== null)
      assert.ok(
        kernel.builtinAlias.searchWild(name).some((m) => m.value === alias.module),
        `${label}: builtin alias search ${name}`,
      );
  }
}

test("each fixture kernel's .bin indexes hold exactly what its text files say, and searches find what kmod's rule finds", () => {
  for (const release of FIXTURE_RELEASES) assertIndexMatchesText(loadKernel(path.join(FIXTURE_KERNELS_DIR, release)), release);
});

test("full-size kernel: the .bin indexes hold what the text files say", { skip: NO_FULL_KERNEL }, () => {
  const kernel = loadKernel(FULL_KERNEL);
  assert.ok(kernel.aliases.length > 20000 && kernel.depLines.length > 3000);
  // A search against the text model costs a pass over 26,000 aliases: a spread of 300 names (60 under npm test).
  const spread = SAMPLING ? 60 : 300;
  assertIndexMatchesText(kernel, "full kernel", (names) => names.filter((_, n) => n % Math.ceil(names.length / spread) === 0));
});

/** Requests for the oracle: filesystem types, module names, names that wildcard aliases match, and names nothing matches. */
function requestsFor(kernel: Kernel): string[] {
  // Built-in module names and aliases resolve as plain lookups: a quarter of them (each modprobe run takes a few ms).
  const sample = <T>(items: T[]): T[] => items.filter((_, n) => n % 4 === 0);
  const fsTypes = [...kernel.aliases, ...kernel.builtinAliases].filter((a) => a.raw.startsWith("fs-") && !hasWildcard(a.raw)).map((a) => a.raw);
  const modules = kernel.depLines.map((line) => moduleNameFromPath(line.slice(0, line.indexOf(":"))));
  const wild = [...kernel.aliases, ...kernel.builtinAliases].filter((a) => hasWildcard(a.raw)).map((a) => concreteName(a.raw));
  const plainBuiltinAliases = kernel.builtinAliases.filter((a) => !hasWildcard(a.raw)).map((a) => a.raw);
  // A CPU with every feature some module asks for: many modules match, in modules.dep order.
  const features = [...new Set(kernel.aliases.flatMap((a) => /feature:\*([0-9A-F]{4})\*$/.exec(a.raw)?.[1] ?? []))].sort();
  const misses = [
    "fs-nosuchfs",
    "nosuchmodule",
    "fs-",
    "fs-*",
    "fs_*",
    "char-major-67-*",
    "*",
    "?",
    "[f]s-ext4",
    "fs-ext4]",
    "pci:v0000DEADd0000BEEFsv00000000sd00000000bc00sc00i00",
    "usb:v0000p0000d0000dc00dsc00dp00ic00isc00ip00in00",
  ];
  return [
    ...new Set([
      ...fsTypes,
      ...modules,
      ...sample(kernel.builtinNames),
      ...wild.filter((n): n is string => n !== null),
      ...sample(plainBuiltinAliases),
      `cpu:type:x86,ven0000fam0006mod003A:feature:,${features.join(",")}`,
      ...misses,
    ]),
  ].filter((name) => !name.startsWith("symbol:"));
}

function assertModprobeAgrees(kernel: Kernel, root: string, release: string, requests: string[]): void {
  const [runs] = runModprobe([{ root, release, mode: "lookup", requests }]);
  let found = 0;
  for (const run of runs!) {
    const expected = expectedResolution(kernel, run.request);
    const printed = run.stdout.split("\n").filter((line) => line !== "");
    assert.deepEqual(printed, expected, `modprobe -R ${run.request} (stderr: ${run.stderr.trim()})`);
    assert.equal(run.status === 0, expected.length > 0, `exit status of modprobe -R ${run.request}`);
    if (expected.length > 0) found++;
  }
  assert.ok(found > requests.length / 2, "most requests resolve to something");
}

test("modprobe -R on each fixture kernel resolves every name to the modules the indexes give, in the same order", { skip: NO_ORACLE }, () => {
  for (const release of FIXTURE_RELEASES) {
    const kernel = loadKernel(path.join(FIXTURE_KERNELS_DIR, release));
    const requests = requestsFor(kernel);
    assert.ok(requests.length > 200, `${release}: ${requests.length} requests`);
    const root = createFakeRoot({ kernel: release, running: false });
    try {
      assertModprobeAgrees(kernel, root.dir, release, sampled(requests, 15));
    } finally {
      root.cleanup();
    }
  }
});

test("full-size kernel: modprobe -R agrees on a spread of names", { skip: NO_FULL_KERNEL || NO_ORACLE }, () => {
  const kernel = loadKernel(FULL_KERNEL);
  const release = path.basename(FULL_KERNEL);
  const root = makeScratchDir("fsb-index-bin-");
  try {
    mkdirSync(path.join(root, "lib/modules"), { recursive: true });
    symlinkSync(FULL_KERNEL, path.join(root, "lib/modules", release));
    const requests = requestsFor(kernel);
    assertModprobeAgrees(
      kernel,
      root,
      release,
      // 600 names spread over the kernel, 30 under npm test (each a modprobe run on the full index).
      requests.filter((_, n) => n % Math.ceil(requests.length / (SAMPLING ? 30 : 600)) === 0),
    );
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

/**
 * Built-in aliases all have priority 0, so the order of their matches is the
 * order kmod's search meets them, reversed. A real depmod writes the index from
 * a generated modules.builtin.modinfo (shared aliases, wildcards, brackets,
 * backslashes, dashes) and modprobe -R resolves generated names against it.
 */
test("real depmod and modprobe: built-in aliases sharing names and patterns come out in kmod's order", { skip: NO_ORACLE }, () => {
  const root = makeScratchDir("fsb-index-bin-");
  try {
    for (const seed of sampled([1, 2], 1)) {
      const release = `9.9.${seed}-test`;
      const dir = path.join(root, "lib/modules", release);
      mkdirSync(dir, { recursive: true });
      const random = prng(seed);
      const pick = (from: string): string => from[Math.floor(random() * from.length)]!;
      const word = (alphabet: string, max: number): string => Array.from({ length: 1 + Math.floor(random() * max) }, () => pick(alphabet)).join("");
      const patternOf = (): string => {
        const choice = random();
        if (choice < 0.1) return `${word("fo", 2)}[a-o]${word("o*", 2)}`;
        if (choice < 0.15) return `${word("fo", 2)}[!f]*`;
        if (choice < 0.2) return `f\\${word("o*", 3)}`;
        return word("fo-_*?", 4);
      };
      const modules = Array.from({ length: 12 }, (_, n) => `m${n}`);
      const fields: string[] = [];
      for (let n = 0; n < 60; n++) fields.push(`${modules[Math.floor(random() * modules.length)]!}.alias=${patternOf()}`);
      // A backslash before the first wildcard is an ordinary character to kmod; after it, fnmatch's escape.
      fields.push("m3.alias=fs-foo", "m1.alias=fs-foo", "m7.alias=fs-*", "m2.alias=fs-f?o", "m5.alias=f\\oo", "m6.alias=f\\o*", "m4.alias=f*\\o", "m8.alias=zz\\q", "m3.license=GPL");
      writeFileSync(path.join(dir, "modules.builtin.modinfo"), fields.join("\0") + "\0");
      writeFileSync(path.join(dir, "modules.builtin"), modules.map((m) => `kernel/${m}.ko\n`).join(""));
      writeFileSync(path.join(dir, "modules.order"), "");
      const depmod = spawnSync("depmod", ["-b", root, release], { encoding: "utf8" });
      assert.equal(depmod.status, 0, depmod.stderr);

      const kernel = loadKernel(dir);
      assert.ok(kernel.builtinAlias.entries().length >= 60);
      const requests = new Set(["fs-foo", "fs-fo", "fs_f*o", "m3", "f\\oo", "f\\o*", "fo", "f\\o", "zz\\q", "zzq"]);
      while (requests.size < 150) requests.add(word("fo-_", 5) + (random() < 0.1 ? "*" : ""));
      const [runs] = runModprobe([{ root, release, mode: "lookup", requests: [...requests] }]);
      let multiple = 0;
      for (const run of runs!) {
        const expected = expectedResolution(kernel, run.request);
        assert.deepEqual(
          run.stdout.split("\n").filter((line) => line !== ""),
          expected,
          `seed ${seed}: modprobe -R ${run.request}`,
        );
        if (new Set(expected).size > 2) multiple++;
      }
      assert.ok(multiple > 10, `seed ${seed}: ${multiple} names match three modules or more`);
    }
  } finally {
    rmSync(root, { recursive: true, force: true });
  }
});

// --- Corrupt files -------------------------------------------------------------

const PREFIX = 0x80000000;
const VALUES = 0x40000000;
const CHILDS = 0x20000000;

/**
 * Writes index files node by node, children before their parent as depmod
 * does, and lets a test write what depmod never would: any child word, range
 * or count. node() returns the node's word (offset and flags).
 */
class IndexWriter {
  readonly bytes: number[] = new Array<number>(12).fill(0);

  get offset(): number {
    return this.bytes.length;
  }

  u32(n: number): void {
    this.bytes.push((n >>> 24) & 0xff, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff);
  }

  node({ prefix = "", children = {}, values = [] }: { prefix?: string; children?: Record<string, number>; values?: [number, string][] }): number {
    let word = this.offset;
    if (prefix !== "") {
      for (const c of prefix) this.bytes.push(c.charCodeAt(0));
      this.bytes.push(0);
      word |= PREFIX;
    }
    const codes = Object.keys(children).map((c) => c.charCodeAt(0));
    if (codes.length > 0) {
      const [first, last] = [Math.min(...codes), Math.max(...codes)];
      this.bytes.push(first, last);
      for (let c = first; c <= last; c++) this.u32(children[String.fromCharCode(c)] ?? 0);
      word |= CHILDS;
    }
    if (values.length > 0) {
      this.u32(values.length);
      for (const [priority, value] of values) {
        this.u32(priority);
        for (const c of value) this.bytes.push(c.charCodeAt(0));
        this.bytes.push(0);
      }
      word |= VALUES;
    }
    return word >>> 0;
  }

  finish(root: number, { magic = 0xb007f457, version = 0x00020001 } = {}): Uint8Array {
    const out = Uint8Array.from(this.bytes);
    new DataView(out.buffer).setUint32(0, magic);
    new DataView(out.buffer).setUint32(4, version);
    new DataView(out.buffer).setUint32(8, root);
    return out;
  }
}

/** Runs every query on the index (listing every entry too when `dump`): each must return or throw IndexFormatError, nothing else. */
function outcomes(bytes: Uint8Array, names: readonly string[], dump = true): unknown[] {
  const attempt = (query: () => unknown): unknown => {
    try {
      return query();
    } catch (error) {
      // (The message is built only on failure: formatting a stack costs more than the query.)
      if (!(error instanceof IndexFormatError)) assert.fail(`not an IndexFormatError: ${(error as Error)?.stack ?? String(error)}`);
      return "IndexFormatError";
    }
  };
  let index: BinIndex;
  try {
    index = parseIndexBin(bytes);
  } catch (error) {
    if (!(error instanceof IndexFormatError)) assert.fail(`not an IndexFormatError: ${String(error)}`);
    return ["IndexFormatError"];
  }
  return [...names.flatMap((name) => [attempt(() => index.lookup(name)), attempt(() => index.searchWild(name))]), ...(dump ? [attempt(() => index.entries()), attempt(() => index.entries("f"))] : [])];
}

function assertFormatError(query: () => unknown, pattern: RegExp): void {
  assert.throws(query, (error: unknown) => error instanceof IndexFormatError && pattern.test(error.message));
}

test("the header: wrong magic, another major version or a short file are IndexFormatError; a newer minor version and empty indexes read", () => {
  const w = new IndexWriter();
  const root = w.node({ children: { f: w.node({ prefix: "oo", values: [[0, "m"]] }) } });
  assert.deepEqual(parseIndexBin(w.finish(root)).lookup("foo"), ["m"]);
  assert.deepEqual(parseIndexBin(w.finish(root, { version: 0x00020007 })).lookup("foo"), ["m"]);
  assertFormatError(() => parseIndexBin(w.finish(root, { magic: 0xb007fa57 })), /magic/);
  assertFormatError(() => parseIndexBin(w.finish(root, { version: 0x00010001 })), /version/);
  assertFormatError(() => parseIndexBin(w.finish(root, { version: 0x00030001 })), /version/);
  for (let length = 0; length < 12; length++) assertFormatError(() => parseIndexBin(w.finish(root).subarray(0, length)), /header/);
  // An empty index as depmod writes it (a root with no fields at offset 12) and one without a root.
  for (const empty of [new IndexWriter().finish(12), new IndexWriter().finish(0)]) {
    const index = parseIndexBin(empty);
    assert.deepEqual([index.lookup("foo"), index.searchWild("foo"), index.entries()], [[], [], []]);
  }
});

test("structural damage is IndexFormatError: cycles, shared subtrees, ranges, flags, offsets, unterminated strings, counts", () => {
  const cases: { what: string; build: (w: IndexWriter) => number; query: (index: BinIndex) => unknown; error: RegExp }[] = [
    {
      what: "a child pointing at its own node",
      build: (w) => w.node({ children: { a: w.offset | CHILDS } }),
      query: (index) => index.searchWild("aaaa"),
      error: /not before its parent/,
    },
    {
      what: "a child pointing back at the root",
      build: (w) => {
        const rootAt = w.offset + 8; // after the node below: "x", NUL, a one-character range and its child word
        return w.node({ children: { "*": w.node({ prefix: "x", children: { y: rootAt | CHILDS } }) } });
      },
      query: (index) => index.searchWild("x"),
      error: /not before its parent/,
    },
    {
      // Each node's two children are the same node: 2^40 paths for a wildcard search to walk.
      what: "a shared subtree under a wildcard",
      build: (w) => {
        let node = w.node({ values: [[0, "m"]] });
        for (let n = 0; n < 40; n++) node = w.node({ children: { a: node, b: node } });
        return w.node({ children: { "*": node } });
      },
      query: (index) => index.searchWild("zzz"),
      error: /two parents/,
    },
    {
      what: "a shared subtree listed by entries()",
      build: (w) => {
        let node = w.node({ values: [[0, "m"]] });
        for (let n = 0; n < 40; n++) node = w.node({ children: { a: node, b: node } });
        return node;
      },
      query: (index) => index.entries(),
      error: /reached twice/,
    },
    {
      what: "a child range with first after last",
      build: (w) => {
        const at = w.offset;
        w.bytes.push(0x62, 0x61);
        w.u32(0);
        w.u32(0);
        return at | CHILDS;
      },
      query: (index) => index.lookup("a"),
      error: /child range/,
    },
    {
      what: "a child range beyond 7-bit characters",
      build: (w) => {
        const at = w.offset;
        w.bytes.push(0x7f, 0x80);
        w.u32(0);
        w.u32(0);
        return at | CHILDS;
      },
      query: (index) => index.lookup("a"),
      error: /child range/,
    },
    {
      what: "an unknown flag",
      build: (w) => w.node({ children: { a: w.node({ values: [[0, "m"]] }) | 0x10000000 } }),
      query: (index) => index.lookup("a"),
      error: /unknown flag/,
    },
    {
      what: "a node offset past the end",
      build: (w) => w.node({ children: { a: 0x0fffff00 | VALUES } }),
      query: (index) => index.searchWild("a"),
      error: /outside the file/,
    },
    {
      what: "a node offset inside the header",
      build: (w) => w.node({ children: { a: 4 | VALUES } }),
      query: (index) => index.lookup("a"),
      error: /outside the file/,
    },
    {
      what: "a prefix without its NUL",
      build: (w) => {
        const at = w.offset;
        w.bytes.push(0x61, 0x62);
        return at | PREFIX;
      },
      query: (index) => index.lookup("ab"),
      error: /prefix .* not terminated/,
    },
    {
      what: "a value without its NUL",
      build: (w) => {
        const at = w.offset;
        w.u32(1);
        w.u32(0);
        w.bytes.push(0x6d);
        return at | VALUES;
      },
      query: (index) => index.lookup(""),
      error: /value .* not terminated/,
    },
    {
      what: "a value count larger than the file",
      build: (w) => {
        const at = w.offset;
        w.u32(0xffffffff);
        w.u32(0);
        w.bytes.push(0x6d, 0);
        return at | VALUES;
      },
      query: (index) => index.searchWild(""),
      error: /values do not fit/,
    },
    {
      what: "a child table cut short",
      build: (w) => {
        const at = w.offset;
        w.bytes.push(0x61, 0x7a);
        w.u32(0);
        return at | CHILDS;
      },
      query: (index) => index.lookup("a"),
      error: /child table runs past the end/,
    },
  ];
  for (const { what, build, query, error } of cases) {
    const w = new IndexWriter();
    const bytes = w.finish(build(w));
    assert.throws(
      () => query(parseIndexBin(bytes)),
      (e: unknown) => e instanceof IndexFormatError && error.test(e.message),
      what,
    );
  }
});

test("a valid trie 100,000 nodes deep is searched without running out of stack", () => {
  const w = new IndexWriter();
  let node = w.node({ values: [[5, "deep"]] });
  for (let n = 0; n < 100_000; n++) node = w.node({ children: { a: node } });
  const shallow = w.node({ values: [[1, "shallow"]] });
  const bytes = w.finish(w.node({ children: { "?": node, a: shallow } }));
  const index = parseIndexBin(bytes);
  const deep = "a".repeat(100_000);
  assert.deepEqual(index.searchWild(`x${deep}`), [{ value: "deep", priority: 5 }]);
  assert.deepEqual(index.searchWild(`x${deep}a`), []);
  assert.deepEqual(index.lookup(`?${deep}`), ["deep"]);
  assert.deepEqual(index.searchWild("a"), [{ value: "shallow", priority: 1 }]);
  assert.deepEqual(
    index.entries().map((e) => [e.key.length, e.value]),
    [
      [100_001, "deep"],
      [1, "shallow"],
    ],
  );
});

test("a fixture index truncated at every length, or with any byte changed, returns what the whole file does or throws IndexFormatError", () => {
  const dir = path.join(FIXTURE_KERNELS_DIR, "6.12.100+deb12-amd64");
  for (const file of ["modules.alias.bin", "modules.dep.bin", "modules.builtin.alias.bin"]) {
    const whole = new Uint8Array(readFileSync(path.join(dir, file)));
    const keys = parseIndexBin(whole)
      .entries()
      .map((e) => e.key);
    const names = [...keys.filter((_, n) => n % 40 === 0).map((k) => concreteName(k) ?? k), "fs_ext4", "cpu:type:x86,ven0000fam0006mod003A:feature:,0081,0125", "nothing"];
    const intact = outcomes(whole, names);
    assert.ok(!intact.includes("IndexFormatError"), file);
    // The sample: every 61st length and byte.
    const step = SAMPLING ? 61 : 1;
    for (let length = 0; length < whole.length; length += step) {
      const result = outcomes(whole.subarray(0, length), names);
      result.forEach((r, n) => {
        if (r !== "IndexFormatError") assert.deepEqual(r, intact[n], `${file} truncated to ${length} bytes`);
      });
    }
    // Changed bytes may change what the file says; they must not change how it fails.
    const changed = new Uint8Array(whole);
    for (let at = 0; at < whole.length; at += step) {
      for (const value of [0x00, 0xff, whole[at]! ^ 0x80]) {
        changed[at] = value;
        outcomes(changed, names, at % 16 === 0);
      }
      changed[at] = whole[at]!;
    }
  }
});

test("random bytes behind a valid header, and random node graphs, return something or throw IndexFormatError", () => {
  const random = prng(7);
  const names = ["", "a", "ab", "a*", "ba?", "[a]", "fs_ext4", "*", "\x7f\x80\xff", "é"];
  for (let n = 0; n < 3000; n++) {
    const bytes = new Uint8Array(12 + Math.floor(random() * 300));
    for (let i = 12; i < bytes.length; i++) bytes[i] = random() < 0.3 ? 0 : Math.floor(random() * 256);
    const view = new DataView(bytes.buffer);
    view.setUint32(0, 0xb007f457);
    view.setUint32(4, 0x00020001);
    const flags = [PREFIX, VALUES, CHILDS].reduce((word, flag) => (random() < 0.5 ? word | flag : word), 0);
    view.setUint32(8, (flags | Math.floor(random() * bytes.length)) >>> 0);
    outcomes(bytes, names);
  }
  // Well-formed nodes whose child words point anywhere: back (a tree, or a shared node), at themselves, ahead, past the end.
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  let answered = 0;
  let refused = 0;
  for (let n = 0; n < 1500; n++) {
    const w = new IndexWriter();
    const words: number[] = [];
    for (let k = 1 + Math.floor(random() * 12); k > 0; k--) {
      const children: Record<string, number> = {};
      for (const c of "ab*?[") {
        if (random() < 0.4) children[c] = words.length > 0 && random() < 0.8 ? pick(words) : (pick([PREFIX, VALUES, CHILDS, 0]) | (w.offset + Math.floor(random() * 40) - 10)) >>> 0;
      }
      const prefix = Array.from({ length: Math.floor(random() * 3) }, () => pick([..."ab*?[]\\"])).join("");
      const values = Array.from({ length: Math.floor(random() * 3) }, (_, v): [number, string] => [Math.floor(random() * 4), `m${words.length}.${v}`]);
      words.push(w.node({ prefix, children, values }));
    }
    const results = outcomes(w.finish(random() < 0.9 ? words.at(-1)! : pick(words)), names);
    if (results.includes("IndexFormatError")) refused++;
    if (results.some((r) => Array.isArray(r) && r.length > 0)) answered++;
  }
  assert.ok(answered > 300 && refused > 300, `${answered} graphs answered something, ${refused} were refused`);
});
