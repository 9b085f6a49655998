// kmod's binary module indexes (modules.alias.bin, modules.dep.bin,
// modules.builtin.bin, modules.builtin.alias.bin): the trie depmod writes and
// libkmod searches ("index v2", libkmod/libkmod-index.c). Finding a name reads
// only the nodes on its path, plus the subtrees whose keys hold a wildcard
// there, so a lookup costs microseconds where scanning the text twins of these
// files costs milliseconds. Pure: bytes in, strings out (latin1, byte for byte).
//
// Format, integers 32-bit big-endian: magic 0xB007F457, version (major 2 in the
// high half), the root's node word. A node word is a file offset (low 28 bits)
// with flags in the top bits saying which fields the node has; offset 0 is "no
// node". At the offset: PREFIX, the rest of the key label as a NUL-terminated
// string; CHILDS, a first and a last character and one node word per character
// from first to last; VALUES, a count and per value a priority and a
// NUL-terminated string, written in ascending priority.
//
// Corruption is found where it is read and thrown as IndexFormatError (callers
// fall back to the text files). depmod writes a tree, children before their
// parent (tools/depmod.c index_write__node), in 7-bit characters: a child at or
// after its parent, a node reached through two parents (a cycle or shared
// subtree, which could make a wildcard search loop or explode) and a child
// range outside 0-127 are refused like a field that runs past the end.

import { Buffer } from "node:buffer";
import { fnmatch } from "./fnmatch.ts";

export class IndexFormatError extends Error {
  override name = "IndexFormatError";
}

export interface WildMatch {
  value: string;
  priority: number;
}

export interface IndexEntry {
  key: string;
  value: string;
  priority: number;
}

export interface BinIndex {
  /**
   * The values stored under exactly `key` (no wildcard matching), in file
   * order: ascending priority, as depmod wrote them. kmod's exact lookup,
   * index_mm_search (modprobe maps the indexes, so this is the one it uses),
   * returns only the first of them: modules.dep.bin's "path: deps" line,
   * modules.builtin.bin's empty string. depmod stores one value per key unless
   * a name was given twice.
   */
  lookup(key: string): string[];
  /** lookup() with each value's priority (modules.dep.bin: the line's position in modules.dep). */
  lookupWithPriority(key: string): WildMatch[];
  /**
   * kmod's index_mm_searchwild: the values of every key that equals `name` or
   * is a pattern matching it, in the order modprobe tries the modules. The
   * part of a key before its first `*`, `?` or `[` is compared byte for byte
   * (a backslash there is an ordinary character); from that character on, the
   * rest of the key is matched against the rest of the name with fnmatch.
   * Keys are met node by node along the name: the subtrees under a node's
   * `*`, `?` and `[` children (in a subtree, children in character order
   * before the node itself), then at the name's end the node's own values;
   * addValue says how that becomes the result's order.
   */
  searchWild(name: string): WildMatch[];
  /** Every key starting with `prefix` (compared literally) and its values, in key order, as libkmod's index dump lists them. */
  entries(prefix?: string): IndexEntry[];
}

const MAGIC = 0xb007f457;
const MAJOR_VERSION = 2;
const HEADER_SIZE = 12;
const PREFIX = 0x80000000;
const VALUES = 0x40000000;
const CHILDS = 0x20000000;
const OFFSET_MASK = 0x0fffffff;
const UNKNOWN_FLAG = 0x10000000;
const CHILD_MAX = 128;
const STAR = 0x2a;
const QUESTION = 0x3f;
const BRACKET = 0x5b;
/** kmod searches the children for these, in this order, at every node of a name's path. */
const WILDCARDS = [STAR, QUESTION, BRACKET];

/** Where one node's fields are; positions into the file. */
interface TrieNode {
  pos: number;
  prefixStart: number;
  /** Position of the prefix's NUL (prefixStart when the node has no prefix). */
  prefixEnd: number;
  /** Child characters; first > last when the node has no children. */
  first: number;
  last: number;
  childTable: number;
  /** Position of the value count; -1 without values. */
  values: number;
}

/** Reads an index; throws IndexFormatError for a wrong magic or major version, or a file too short for its header. */
export function parseIndexBin(bytes: Uint8Array): BinIndex {
  return new TrieIndex(bytes);
}

class TrieIndex implements BinIndex {
  readonly #bytes: Uint8Array;
  readonly #text: Buffer;
  readonly #rootWord: number;

  constructor(bytes: Uint8Array) {
    this.#bytes = bytes;
    this.#text = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
    if (bytes.length < HEADER_SIZE) throw new IndexFormatError(`file of ${bytes.length} bytes is shorter than the index header`);
    const magic = this.#u32(0);
    if (magic !== MAGIC) throw new IndexFormatError(`magic 0x${hex(magic)} instead of 0x${hex(MAGIC)}: not a kmod index`);
    const version = this.#u32(4);
    // kmod checks only the major version: a minor change stays readable.
    if (version >>> 16 !== MAJOR_VERSION) throw new IndexFormatError(`index version 0x${hex(version)}: only major version ${MAJOR_VERSION} is known`);
    this.#rootWord = this.#u32(8);
  }

  lookup(name: string): string[] {
    return this.lookupWithPriority(name).map((match) => match.value);
  }

  lookupWithPriority(name: string): WildMatch[] {
    const key = cString(name);
    let node = this.#node(this.#rootWord, -1);
    let i = 0;
    while (node !== null) {
      for (let at = node.prefixStart; at < node.prefixEnd; at++, i++) {
        if (this.#bytes[at] !== key.charCodeAt(i)) return [];
      }
      if (i === key.length) {
        const values: WildMatch[] = [];
        this.#readValues(node, (value, priority) => values.push({ value, priority }));
        return values;
      }
      node = this.#child(node, key.charCodeAt(i++), null);
    }
    return [];
  }

  searchWild(name: string): WildMatch[] {
    const key = cString(name);
    const out: WildMatch[] = [];
    const parents = new Map<number, number>();
    let node = this.#node(this.#rootWord, -1);
    let i = 0;
    while (node !== null) {
      for (let at = node.prefixStart; at < node.prefixEnd; at++, i++) {
        const c = this.#bytes[at]!;
        if (c === STAR || c === QUESTION || c === BRACKET) {
          this.#searchSubtree(node, at, "", key.slice(i), out, parents);
          return out;
        }
        if (c !== key.charCodeAt(i)) return out;
      }
      for (const wildcard of WILDCARDS) {
        const child = this.#child(node, wildcard, parents);
        if (child !== null) this.#searchSubtree(child, child.prefixStart, String.fromCharCode(wildcard), key.slice(i), out, parents);
      }
      if (i === key.length) {
        this.#readValues(node, (value, priority) => addValue(out, value, priority));
        return out;
      }
      node = this.#child(node, key.charCodeAt(i++), parents);
    }
    return out;
  }

  /**
   * kmod's index_mm_searchwild_all: every key of the subtree under `top` (the
   * pattern so far being `lead` and `top`'s prefix from `from`) whose pattern
   * matches `subkey`, children first in character order, then the node itself.
   * Iterative, so a deep file cannot overflow the stack.
   */
  #searchSubtree(top: TrieNode, from: number, lead: string, subkey: string, out: WildMatch[], parents: Map<number, number>): void {
    const stack = [{ node: top, pattern: lead + this.#latin1(from, top.prefixEnd), next: top.first }];
    while (stack.length > 0) {
      const frame = stack[stack.length - 1]!;
      const { node } = frame;
      let child: TrieNode | null = null;
      while (child === null && frame.next <= node.last) child = this.#child(node, frame.next++, parents);
      if (child !== null) {
        const pattern = frame.pattern + String.fromCharCode(frame.next - 1) + this.#latin1(child.prefixStart, child.prefixEnd);
        stack.push({ node: child, pattern, next: child.first });
        continue;
      }
      stack.pop();
      if (node.values >= 0 && fnmatch(frame.pattern, subkey)) {
        this.#readValues(node, (value, priority) => addValue(out, value, priority));
      }
    }
  }

  entries(prefix = ""): IndexEntry[] {
    const want = cString(prefix);
    let node = this.#node(this.#rootWord, -1);
    let key = "";
    while (node !== null) {
      const label = this.#latin1(node.prefixStart, node.prefixEnd);
      const rest = want.slice(key.length);
      if (!(label.startsWith(rest) || rest.startsWith(label))) return [];
      key += label;
      if (key.length >= want.length) return this.#dump(node, key);
      const c = want.charCodeAt(key.length);
      node = this.#child(node, c, null);
      key += String.fromCharCode(c);
    }
    return [];
  }

  /** Pre-order, children in character order: keys in ascending byte order. */
  #dump(top: TrieNode, topKey: string): IndexEntry[] {
    const found: IndexEntry[] = [];
    const seen = new Set<number>();
    const stack = [{ node: top, key: topKey }];
    while (stack.length > 0) {
      const { node, key } = stack.pop()!;
      if (seen.has(node.pos)) throw new IndexFormatError(`node at offset ${node.pos} is reached twice: the index is not a tree`);
      seen.add(node.pos);
      this.#readValues(node, (value, priority) => found.push({ key, value, priority }));
      for (let c = node.last; c >= node.first; c--) {
        const child = this.#child(node, c, null);
        if (child !== null) stack.push({ node: child, key: key + String.fromCharCode(c) + this.#latin1(child.prefixStart, child.prefixEnd) });
      }
    }
    return found;
  }

  /**
   * The child for character `c`. `parents` (when given) records the edge each
   * node was reached by: a search may walk one subtree again through the same
   * edge (a name holding a wildcard character), never through another one.
   */
  #child(parent: TrieNode, c: number, parents: Map<number, number> | null): TrieNode | null {
    if (c < parent.first || c > parent.last) return null;
    const child = this.#node(this.#u32(parent.childTable + 4 * (c - parent.first)), parent.pos);
    if (child !== null && parents !== null) {
      const edge = parent.pos * CHILD_MAX + c;
      const known = parents.get(child.pos);
      if (known !== undefined && known !== edge) {
        const other = Math.floor(known / CHILD_MAX);
        throw new IndexFormatError(`node at offset ${child.pos} has two parents (${other} and ${parent.pos}, or two characters of one): the index is not a tree`);
      }
      parents.set(child.pos, edge);
    }
    return child;
  }

  /** Decodes the node a word points to (null for "no node") and checks that its fields lie in the file. */
  #node(word: number, parentPos: number): TrieNode | null {
    const pos = word & OFFSET_MASK;
    if (pos === 0) return null;
    const size = this.#bytes.length;
    if ((word & UNKNOWN_FLAG) !== 0) throw new IndexFormatError(`node word 0x${hex(word)} has an unknown flag`);
    if (pos < HEADER_SIZE || pos > size) throw new IndexFormatError(`node offset ${pos} is outside the file (${size} bytes)`);
    if (parentPos >= 0 && pos >= parentPos) throw new IndexFormatError(`node at offset ${pos} is not before its parent at ${parentPos}: the index is not a tree`);
    let at = pos;
    let prefixEnd = pos;
    if ((word & PREFIX) !== 0) {
      prefixEnd = this.#stringEnd(pos, "prefix", pos);
      at = prefixEnd + 1;
    }
    let first = 1;
    let last = 0;
    let childTable = at;
    if ((word & CHILDS) !== 0) {
      this.#need(at, 2, "child range", pos);
      first = this.#bytes[at]!;
      last = this.#bytes[at + 1]!;
      if (first > last || last >= CHILD_MAX) throw new IndexFormatError(`node at offset ${pos}: child range ${first}-${last} is not within 0-127`);
      childTable = at + 2;
      at = childTable + 4 * (last - first + 1);
      this.#need(childTable, at - childTable, "child table", pos);
    }
    let values = -1;
    if ((word & VALUES) !== 0) {
      this.#need(at, 4, "value count", pos);
      values = at;
    }
    return { pos, prefixStart: pos, prefixEnd, first, last, childTable, values };
  }

  #readValues(node: TrieNode, each: (value: string, priority: number) => void): void {
    if (node.values < 0) return;
    const count = this.#u32(node.values);
    let at = node.values + 4;
    // Each value takes at least 5 bytes: a corrupt count fails here, not after a long loop.
    if (count > (this.#bytes.length - at) / 5) throw new IndexFormatError(`node at offset ${node.pos}: ${count} values do not fit in the file`);
    for (let n = 0; n < count; n++) {
      this.#need(at, 4, "value priority", node.pos);
      const priority = this.#u32(at);
      const end = this.#stringEnd(at + 4, "value", node.pos);
      each(this.#latin1(at + 4, end), priority);
      at = end + 1;
    }
  }

  #stringEnd(start: number, what: string, nodePos: number): number {
    const end = this.#bytes.indexOf(0, start);
    if (end < 0) throw new IndexFormatError(`node at offset ${nodePos}: ${what} at offset ${start} is not terminated`);
    return end;
  }

  #need(at: number, length: number, what: string, nodePos: number): void {
    if (at + length > this.#bytes.length) throw new IndexFormatError(`node at offset ${nodePos}: ${what} runs past the end of the file`);
  }

  #u32(at: number): number {
    const b = this.#bytes;
    return ((b[at]! << 24) | (b[at + 1]! << 16) | (b[at + 2]! << 8) | b[at + 3]!) >>> 0;
  }

  #latin1(start: number, end: number): string {
    if (end - start < 16) {
      let s = "";
      for (let at = start; at < end; at++) s += String.fromCharCode(this.#bytes[at]!);
      return s;
    }
    return this.#text.toString("latin1", start, end);
  }
}

/**
 * kmod's add_value: the results stay sorted by ascending priority, and a value
 * goes before those of equal priority already there. Equal priorities come
 * from one module in modules.alias.bin (the priority is the module's position
 * in modules.dep), but every built-in alias has priority 0: there the modules
 * come out in the reverse of the order the search met them.
 */
function addValue(out: WildMatch[], value: string, priority: number): void {
  let low = 0;
  let high = out.length;
  while (low < high) {
    const mid = (low + high) >>> 1;
    if (out[mid]!.priority < priority) low = mid + 1;
    else high = mid;
  }
  out.splice(low, 0, { value, priority });
}

/** The bytes kmod sees for a name: a C string (up to a NUL), UTF-8, one character per byte. */
function cString(name: string): string {
  const nul = name.indexOf("\0");
  const c = nul < 0 ? name : name.slice(0, nul);
  return /[^\x00-\x7f]/.test(c) ? Buffer.from(c, "utf8").toString("latin1") : c;
}

function hex(n: number): string {
  return n.toString(16).padStart(8, "0");
}
