// The module index of one kernel release: what depmod wrote under
// lib/modules/<release>/ (modules.alias, modules.dep, modules.builtin,
// modules.builtin.modinfo). kmod reads the .bin twins of the first two, tries
// in which finding a name reads a few nodes (kmod/index-bin.ts); so do we, for
// modules by name and for alias requests. The text files serve what a trie
// does not keep (the order of a module's own aliases, for its filesystem
// types) and stand in for a .bin that is missing or damaged.
// modules.softdep is read as part of the modprobe configuration
// (system/modprobe-config.ts), because kmod merges it there.
// Pure: system/module-index-files.ts reads the files and hands them over.

import * as path from "node:path";
import { underscores } from "./parse-config.ts";
import { fnmatch } from "./fnmatch.ts";
import { IndexFormatError, type BinIndex } from "./index-bin.ts";

export interface IndexedAlias {
  /** The pattern as kmod matches it (dashes turned into underscores outside brackets). */
  pattern: string;
  /** The pattern as written in the file, e.g. "fs-ocfs2_dlmfs". */
  raw: string;
  module: string;
}

export interface IndexedModule {
  name: string;
  /** Path relative to the module directory, as modules.dep lists it. */
  path: string;
  /** Module names it needs, in modules.dep order (the list is already transitive). */
  deps: string[];
}

/**
 * The modules of modules.dep by name. A real kernel lists ~4,000 of them and
 * status asks about a few dozen: a name maps to where its line starts, and a
 * line is read when its module is first asked for (building an object per
 * module was ~10 ms of `status` and most of its garbage).
 */
export interface ModuleTable {
  has(name: string): boolean;
  get(name: string): IndexedModule | undefined;
  /** Module names in modules.dep order (the first line of a name wins, as in kmod's index). */
  keys(): IterableIterator<string>;
  /** A module's position in modules.dep, which orders the modules that one alias leads to; undefined when it is not there. */
  rank(name: string): number | undefined;
}

export interface ModuleIndex {
  release: string;
  /** Root-relative directory: lib/modules/<release>. */
  dir: string;
  /**
   * modules.alias in file order. A real kernel has ~26,000 of them and parsing
   * them all cost status ~40 ms: readModuleIndex parses them on first use, and
   * lookups of one name go through aliasesStartingWith(), which does not.
   */
  readonly aliases: IndexedAlias[];
  modules: ModuleTable;
  /**
   * The modules an alias request for `name` (normalised, as kmod's underscores()
   * leaves it) leads to, in the order modprobe tries them: kmod's search of
   * modules.alias.bin, or without a usable one, the modules.alias patterns that
   * match, in modules.dep order (the priority depmod gives them in the .bin).
   */
  aliasTargets(name: string): string[];
  /**
   * The plain `fs-<type>` aliases of modules.alias (no wildcard), by module in
   * modules.dep order, then by type: from the .bin's `fs_` keys (with `-` as
   * `_`, as kmod matches them), else from the text.
   */
  readonly filesystemAliases: readonly { type: string; module: string }[];
  /**
   * The built-in modules an alias request for `name` leads to when nothing else
   * matched, in modprobe's order: kmod's search of modules.builtin.alias.bin
   * (where ties, all of priority 0, come out in reverse of the order the search
   * meets them), or without a usable one, the matching `alias=` entries of
   * modules.builtin.modinfo in file order.
   */
  builtinAliasTargets(name: string): string[];
  /** Modules compiled into the kernel (modules.builtin). */
  builtin: Set<string>;
  /** `alias=` entries of built-in modules (modules.builtin.modinfo), e.g. fs-ext3 -> ext4. */
  builtinAliases: IndexedAlias[];
}

/** kmod's modname_normalize: the basename up to the first dot, dashes as underscores. */
export function moduleNameFromPath(modulePath: string): string {
  const base = modulePath.endsWith("/") ? path.posix.basename(modulePath) : modulePath.slice(modulePath.lastIndexOf("/") + 1);
  const dot = base.indexOf(".");
  const name = dot < 0 ? base : base.slice(0, dot);
  return name.includes("-") ? name.replaceAll("-", "_") : name;
}

/** A module of modules.dep, read from its line: `path: dependency paths`. */
class DepLine implements IndexedModule {
  #deps: string[] | null = null;
  readonly #text: string;

  constructor(
    readonly name: string,
    readonly path: string,
    depsText: string,
  ) {
    this.#text = depsText;
  }

  get deps(): string[] {
    this.#deps ??= this.#text
      .split(/[ \t]+/)
      .filter(Boolean)
      .map(moduleNameFromPath);
    return this.#deps;
  }
}

const isBlank = (code: number): boolean => code <= 32 || code >= 127;

/** modules.dep as a ModuleTable: one pass that finds each line's module name, nothing more. */
class DepTable implements ModuleTable {
  readonly #text: string;
  /** Name -> offset of its line. */
  readonly #starts = new Map<string, number>();
  readonly #read = new Map<string, IndexedModule>();

  constructor(text: string) {
    this.#text = text;
    for (let start = 0; start < text.length; ) {
      let end = text.indexOf("\n", start);
      if (end < 0) end = text.length;
      const colon = text.indexOf(":", start);
      if (colon >= 0 && colon < end) {
        // The name straight from the text; a path with blanks around it or a trailing '/' (never written by depmod) the long way.
        let name: string;
        if (isBlank(text.charCodeAt(start)) || isBlank(text.charCodeAt(colon - 1)) || text.charCodeAt(colon - 1) === 47) name = moduleNameFromPath(text.slice(start, colon).trim());
        else {
          const base = Math.max(text.lastIndexOf("/", colon - 1) + 1, start);
          const dot = text.indexOf(".", base);
          const raw = text.slice(base, dot < 0 || dot > colon ? colon : dot);
          name = raw.includes("-") ? raw.replaceAll("-", "_") : raw;
        }
        if (!this.#starts.has(name)) this.#starts.set(name, start);
      }
      start = end + 1;
    }
  }

  has(name: string): boolean {
    return this.#starts.has(name);
  }

  get(name: string): IndexedModule | undefined {
    let module = this.#read.get(name);
    if (module !== undefined) return module;
    const start = this.#starts.get(name);
    if (start === undefined) return undefined;
    let end = this.#text.indexOf("\n", start);
    if (end < 0) end = this.#text.length;
    const colon = this.#text.indexOf(":", start);
    module = new DepLine(name, this.#text.slice(start, colon).trim(), this.#text.slice(colon + 1, end));
    this.#read.set(name, module);
    return module;
  }

  keys(): IterableIterator<string> {
    return this.#starts.keys();
  }

  rank(name: string): number | undefined {
    return this.#starts.get(name);
  }
}

/**
 * modules.dep.bin as a ModuleTable: a module's line is found in the trie by its
 * name (the value is the modules.dep line, the priority its position). Damage
 * found on the way switches to the text table for good.
 */
class BinDepTable implements ModuleTable {
  #bin: BinIndex | null;
  #text: DepTable | null = null;
  readonly #readText: () => DepTable;
  readonly #read = new Map<string, { module: IndexedModule; rank: number } | null>();

  constructor(bin: BinIndex, readText: () => DepTable) {
    this.#bin = bin;
    this.#readText = readText;
  }

  has(name: string): boolean {
    return this.#use(
      (found) => found(name) !== null,
      (text) => text.has(name),
    );
  }

  get(name: string): IndexedModule | undefined {
    return this.#use(
      (found) => found(name)?.module,
      (text) => text.get(name),
    );
  }

  rank(name: string): number | undefined {
    return this.#use(
      (found) => found(name)?.rank,
      (text) => text.rank(name),
    );
  }

  keys(): IterableIterator<string> {
    return this.#use(
      (_found, bin) =>
        bin
          .entries()
          .sort((a, b) => a.priority - b.priority)
          .map((e) => e.key)
          [Symbol.iterator](),
      (text) => text.keys(),
    );
  }

  #use<R>(fromBin: (found: (name: string) => { module: IndexedModule; rank: number } | null, bin: BinIndex) => R, fromText: (text: DepTable) => R): R {
    const bin = this.#bin;
    if (bin !== null) {
      try {
        return fromBin((name) => this.#find(bin, name), bin);
      } catch (error) {
        if (!(error instanceof IndexFormatError)) throw error;
        this.#bin = null;
        this.#read.clear();
      }
    }
    this.#text ??= this.#readText();
    return fromText(this.#text);
  }

  #find(bin: BinIndex, name: string): { module: IndexedModule; rank: number } | null {
    let found = this.#read.get(name);
    if (found !== undefined) return found;
    const line = bin.lookupWithPriority(name)[0];
    const colon = line === undefined ? -1 : line.value.indexOf(":");
    found = colon < 0 ? null : { module: new DepLine(name, line!.value.slice(0, colon).trim(), line!.value.slice(colon + 1)), rank: line!.priority };
    this.#read.set(name, found);
    return found;
  }
}

/**
 * The files depmod wrote for one release, as read from disk. A .bin is null when
 * it is missing or not a binary index; the text of modules.dep and
 * modules.alias is read only when a .bin cannot answer.
 */
export interface IndexFiles {
  modulesDep: () => string;
  modulesDepBin: BinIndex | null;
  modulesAlias: () => string;
  modulesAliasBin: BinIndex | null;
  modulesBuiltinAliasBin: BinIndex | null;
  modulesBuiltin: string | null;
  modulesBuiltinModinfo: Buffer | null;
}

/** The index of `release` (in `dir`, root-relative) over the files read from it. */
export function moduleIndexFrom(release: string, dir: string, files: IndexFiles): ModuleIndex {
  const depText = (): DepTable => new DepTable(files.modulesDep());
  const depBin = files.modulesDepBin;
  const modules = depBin === null ? depText() : new BinDepTable(depBin, depText);

  // The text is read only when the .bin cannot answer.
  const aliases: LazyAliases = { read: files.modulesAlias, text: null, parsed: null };
  let aliasBin = files.modulesAliasBin;
  let filesystemAliases: { type: string; module: string }[] | null = null;
  let builtinAliasBin = files.modulesBuiltinAliasBin;

  const builtin = new Set<string>();
  for (const line of (files.modulesBuiltin ?? "").split("\n")) {
    if (line.trim() !== "") builtin.add(moduleNameFromPath(line.trim()));
  }

  const builtinAliases: IndexedAlias[] = [];
  for (const field of (files.modulesBuiltinModinfo?.toString("latin1") ?? "").split("\0")) {
    const match = /^([^.=]+)\.alias=(.+)$/s.exec(field);
    if (!match) continue;
    const pattern = underscores(match[2]!);
    if (pattern !== null) builtinAliases.push({ pattern, raw: match[2]!, module: match[1]! });
  }

  const index: ModuleIndex = {
    release,
    dir,
    get aliases() {
      aliases.parsed ??= parseAliases((aliases.text ??= aliases.read()));
      return aliases.parsed;
    },
    modules,
    aliasTargets(name) {
      if (aliasBin !== null) {
        try {
          return aliasBin.searchWild(name).map((match) => match.value);
        } catch (error) {
          if (!(error instanceof IndexFormatError)) throw error;
          aliasBin = null;
        }
      }
      const rank = (module: string): number => modules.rank(module) ?? Number.MAX_SAFE_INTEGER;
      const matches = (name === "" ? index.aliases : aliasesStartingWith(index, name[0]!)).filter((a) => fnmatch(a.pattern, name));
      if (matches.length > 1) matches.sort((a, b) => rank(a.module) - rank(b.module));
      return matches.map((a) => a.module);
    },
    builtinAliasTargets(name) {
      if (builtinAliasBin !== null) {
        try {
          return builtinAliasBin.searchWild(name).map((match) => match.value);
        } catch (error) {
          if (!(error instanceof IndexFormatError)) throw error;
          builtinAliasBin = null;
        }
      }
      return builtinAliases.filter((a) => fnmatch(a.pattern, name)).map((a) => a.module);
    },
    get filesystemAliases() {
      if (filesystemAliases !== null) return filesystemAliases;
      const plain = (type: string): boolean => !/[*?[\\]/.test(type);
      if (aliasBin !== null) {
        try {
          const found = aliasBin.entries("fs_").filter((e) => plain(e.key));
          // Keys come in byte order; a stable sort by priority puts modules in modules.dep order.
          found.sort((a, b) => a.priority - b.priority);
          return (filesystemAliases = found.map((e) => ({ type: e.key.slice(3), module: e.value })));
        } catch (error) {
          if (!(error instanceof IndexFormatError)) throw error;
          aliasBin = null;
        }
      }
      const rank = (module: string): number => modules.rank(module) ?? Number.MAX_SAFE_INTEGER;
      const found = aliasesStartingWith(index, "f")
        .filter((a) => a.raw.startsWith("fs-") && plain(a.raw))
        .map((a) => ({ type: a.pattern.slice(3), module: a.module }));
      // As the .bin gives them: by module, then by key.
      found.sort((a, b) => rank(a.module) - rank(b.module) || (a.type < b.type ? -1 : a.type > b.type ? 1 : 0));
      return (filesystemAliases = found);
    },
    builtin,
    builtinAliases,
  };
  lazyAliases.set(index, aliases);
  return index;
}

function parseAliases(text: string): IndexedAlias[] {
  const aliases: IndexedAlias[] = [];
  for (const line of text.split("\n")) {
    const [keyword, raw, module] = line.split(/[ \t]+/);
    if (keyword !== "alias" || raw === undefined || module === undefined) continue;
    const pattern = underscores(raw);
    if (pattern !== null) aliases.push({ pattern, raw, module });
  }
  return aliases;
}

/** modules.alias of an index, read when first needed, and its aliases once parsed. */
interface LazyAliases {
  read: () => string;
  text: string | null;
  parsed: IndexedAlias[] | null;
}
const lazyAliases = new WeakMap<ModuleIndex, LazyAliases>();
const candidatesCache = new WeakMap<ModuleIndex, Map<string, readonly IndexedAlias[]>>();
/** A pattern starting with one of these (or an empty one) can match a name whatever its first character. */
const isWild = (c: string | undefined): boolean => c === undefined || c === "*" || c === "?" || c === "[" || c === "\\";

/**
 * The aliases of modules.alias that can match a name starting with `first`, in
 * file order: those whose pattern starts with `first` or with a wildcard, a
 * bracket or a backslash (fnmatch compares the first character otherwise).
 * Before the aliases are parsed, only the lines that can qualify are: a line is
 * `alias PATTERN MODULE` with fields split on blanks, as parseAliases reads it,
 * and a pattern's first character is the field's, but for a '-' that becomes '_'.
 */
export function aliasesStartingWith(index: ModuleIndex, first: string): readonly IndexedAlias[] {
  let byFirst = candidatesCache.get(index);
  if (byFirst === undefined) candidatesCache.set(index, (byFirst = new Map()));
  let found = byFirst.get(first);
  if (found !== undefined) return found;
  const lazy = lazyAliases.get(index);
  const qualifies = (alias: IndexedAlias): boolean => alias.pattern[0] === first || isWild(alias.pattern[0]);
  if (lazy === undefined || lazy.parsed !== null) found = index.aliases.filter(qualifies);
  else {
    // A line that starts with "alias", blanks, a field starting with one of these, blanks and a field.
    const firsts = [first, "*", "?", "[", "\\", ...(first === "_" ? ["-"] : [])];
    const set = firsts.map((c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`).join("");
    const lines = new RegExp(`(?<![^\\n])alias[ \\t]+([${set}][^ \\t\\n]*)[ \\t]+([^ \\t\\n]*)`, "g");
    const scanned: IndexedAlias[] = [];
    for (const [, raw, module] of (lazy.text ??= lazy.read()).matchAll(lines)) {
      const pattern = underscores(raw!);
      if (pattern === null) continue;
      const alias = { pattern, raw: raw!, module: module! };
      if (qualifies(alias)) scanned.push(alias);
    }
    found = scanned;
  }
  byFirst.set(first, found);
  return found;
}

// A real kernel has ~25,000 aliases and ~4,000 modules: asking per module would
// scan every alias each time (seconds for `status`), so one pass serves them all.
const typesByIndex = new WeakMap<ModuleIndex, Map<string, string[]>>();

/**
 * Every module with a filesystem type, and its types: its plain `fs-<type>`
 * aliases in modules.alias and modules.builtin.modinfo. A module's own name
 * comes first when it is one of its types (the row `status nfs` shows is "nfs",
 * not "nfs4"), then the others in byte order, whichever file they came from.
 */
export function filesystemModules(index: ModuleIndex): ReadonlyMap<string, readonly string[]> {
  let byModule = typesByIndex.get(index);
  if (byModule === undefined) {
    byModule = new Map();
    const builtin = index.builtinAliases.filter((a) => a.raw.startsWith("fs-") && !/[*?[\\]/.test(a.raw)).map((a) => ({ type: a.pattern.slice(3), module: a.module }));
    for (const { type, module } of [...index.filesystemAliases, ...builtin]) {
      const types = byModule.get(module);
      if (types === undefined) byModule.set(module, [type]);
      else if (!types.includes(type)) types.push(type);
    }
    for (const [module, types] of byModule) types.sort((a, b) => (a === module ? -1 : b === module ? 1 : a < b ? -1 : a > b ? 1 : 0));
    typesByIndex.set(index, byModule);
  }
  return byModule;
}

/** The modules whose plain `fs-<type>` alias names `type`, in modules.dep order (modules.alias only, not built-in ones). */
export function filesystemProviders(index: ModuleIndex, type: string): string[] {
  const modules: string[] = [];
  for (const alias of index.filesystemAliases) if (alias.type === type && !modules.includes(alias.module)) modules.push(alias.module);
  return modules;
}

/** Filesystem types a module provides: its `fs-<type>` aliases (plain ones, not wildcards). */
export function filesystemTypesOf(index: ModuleIndex, module: string): string[] {
  return [...(filesystemModules(index).get(module) ?? [])];
}
