// One modprobe.d file, parsed byte for byte the way libkmod does (libkmod-config.c).
//
// Text is handled as "binary strings" (latin1: one char per byte) so that
// whatever bytes a file holds come out of `showconfig` unchanged.

import type { KmodBehaviour } from "./kmod-version.ts";

export interface Source {
  /** Root-relative path of the file, or "proc/cmdline". */
  file: string;
  /** Line number as kmod counts it (the last physical line of a continued line); 0 for the command line. */
  line: number;
  /** The first physical line of a directive continued with a backslash: where a reader (and a fix) finds it. */
  firstLine?: number;
}

/** Where a person finds the directive: its first physical line. */
export function firstLineOf(source: Source): number {
  return source.firstLine ?? source.line;
}

export type ConfigEntry =
  | { kind: "blacklist"; module: string; source: Source }
  | { kind: "install" | "remove"; module: string; command: string; source: Source }
  | { kind: "alias"; pattern: string; module: string; source: Source }
  | { kind: "options"; module: string; options: string; source: Source }
  | { kind: "softdep"; module: string; pre: string[]; post: string[]; rendered: string; source: Source }
  | { kind: "weakdep"; module: string; deps: string[]; rendered: string; source: Source };

export interface Diagnostic {
  /** Root-relative path (text). */
  file: string;
  line?: number;
  /** A binary string like the configuration text it quotes (file names in it are UTF-8 bytes too). */
  message: string;
}

export interface ParsedFile {
  entries: ConfigEntry[];
  diagnostics: Diagnostic[];
}

/**
 * kmod's `underscores()`, which works in place: `-` becomes `_` except inside
 * `[...]`, and it stops at an unmatched bracket (failure), leaving the dashes
 * before it converted and the rest as it was (kmod's messages show that text).
 */
export function underscoresInPlace(field: string): { text: string; ok: boolean } {
  // Most fields (all but a few of a kernel's 25,000 aliases) have nothing to change.
  if (!/[-[\]]/.test(field)) return { text: field, ok: true };
  let out = "";
  for (let i = 0; i < field.length; i++) {
    const c = field[i]!;
    if (c === "-") out += "_";
    else if (c === "]") return { text: out + field.slice(i), ok: false };
    else if (c === "[") {
      const close = field.indexOf("]", i);
      if (close < 0) return { text: out + field.slice(i), ok: false };
      out += field.slice(i, close + 1);
      i = close;
    } else out += c;
  }
  return { text: out, ok: true };
}

/** kmod's `underscores()`: the normalised field, or null when it is invalid (unmatched bracket). */
export function underscores(field: string): string | null {
  if (!/[-[\]]/.test(field)) return field;
  const result = underscoresInPlace(field);
  return result.ok ? result.text : null;
}

/** Logical lines as kmod's freadline_wrapped() returns them, with its line numbers. */
export function* logicalLines(text: string, behaviour: KmodBehaviour): Generator<{ text: string; line: number; first: number }> {
  let line = 0;
  let buf = "";
  let consumed = 0;
  let i = 0;
  // Jump from one newline or backslash to the next instead of walking byte by
  // byte: a 20 MB file must not take seconds.
  let nextNewline = text.indexOf("\n");
  let nextBackslash = text.indexOf("\\");
  while (true) {
    if (nextNewline >= 0 && nextNewline < i) nextNewline = text.indexOf("\n", i);
    if (nextBackslash >= 0 && nextBackslash < i) nextBackslash = text.indexOf("\\", i);
    const special = nextNewline < 0 ? nextBackslash : nextBackslash < 0 ? nextNewline : Math.min(nextNewline, nextBackslash);
    if (special < 0) {
      buf += text.slice(i);
      i = text.length;
      if (buf.length === 0) return;
      const first = line + 1;
      consumed++;
      line += consumed;
      yield { text: buf, line, first };
      return;
    }
    buf += text.slice(i, special);
    i = special + 1;
    if (text[special] === "\n") {
      const first = line + 1;
      consumed++;
      line += consumed;
      yield { text: buf, line, first };
      buf = "";
      consumed = 0;
    } else if (i >= text.length) {
      if (behaviour.backslashAtEofAddsByte) buf += "\xff";
    } else {
      // A backslash keeps the byte after it, except that a newline there joins lines.
      const next = text[i++]!;
      if (next === "\n") consumed++;
      else buf += next;
    }
  }
}

function isBlank(s: string, at: number): boolean {
  const c = s.charCodeAt(at);
  return c === 0x20 || c === 0x09;
}

/** glibc strtok_r over a string with the delimiters " \t": returns [token, rest] or null. */
function strtok(s: string): [string, string] | null {
  let start = 0;
  while (start < s.length && isBlank(s, start)) start++;
  if (start >= s.length) return null;
  let end = start;
  while (end < s.length && !isBlank(s, end)) end++;
  if (end >= s.length) return [s.slice(start), ""];
  return [s.slice(start, end), s.slice(end + 1)];
}

/** strtok_r(NULL, "\0"): the remainder as it is, or null when nothing is left. */
function remainder(rest: string): string | null {
  return rest.length > 0 ? rest : null;
}

/** C's isspace() in the C locale: space, \t, \n, \v, \f, \r. */
function isCSpace(c: number): boolean {
  return c === 0x20 || (c >= 0x09 && c <= 0x0d);
}

/**
 * Splits a softdep/weakdep value into words the way kmod does. Its scanner has
 * quirks we must reproduce: a single leading blank stays glued to the first
 * word, and a trailing word is dropped only when the line ends in a blank.
 */
function kmodWords(value: string): string[] {
  const words: string[] = [];
  let p = 0;
  let wasSpace = false;
  for (let s = 0; ; s++) {
    const atEnd = s >= value.length;
    if (!atEnd) {
      if (!isCSpace(value.charCodeAt(s))) {
        wasSpace = false;
        continue;
      }
      if (wasSpace) {
        p = s + 1;
        continue;
      }
      wasSpace = true;
      if (p >= s) continue;
    }
    if (!atEnd || !wasSpace) words.push(value.slice(p, s));
    p = s + 1;
    if (atEnd) break;
  }
  return words;
}

/** The parse of a softdep value, including kmod's rendering for `modprobe -c`. */
export function parseSoftdep(value: string): { pre: string[]; post: string[]; rendered: string } {
  // kmod stores all dependency words in one buffer in line order and renders
  // "pre:" as the span from the first to the last pre word, so post words that
  // stand between two pre words show up in both halves. We keep that buffer.
  // The buffer as two parallel lists (objects per word and the arrays to search
  // them were most of the cost of 4,000 softdep lines in the showconfig profile).
  const words: string[] = [];
  const isPre: boolean[] = [];
  let mode: "none" | "pre" | "post" = "none";
  for (const word of kmodWords(value)) {
    if (word === "pre:") mode = "pre";
    else if (word === "post:") mode = "post";
    else if (mode !== "none") {
      words.push(word);
      isPre.push(mode === "pre");
    }
  }
  const span = (pre: boolean): string => {
    const first = isPre.indexOf(pre);
    return first < 0 ? "" : words.slice(first, isPre.lastIndexOf(pre) + 1).join(" ");
  };
  const preSpan = span(true);
  const postSpan = span(false);
  const rendered = (preSpan ? `pre: ${preSpan}` : "") + (postSpan ? `post: ${postSpan}` : "");
  return {
    pre: words.filter((_, i) => isPre[i]),
    post: words.filter((_, i) => !isPre[i]),
    rendered,
  };
}

export function parseWeakdep(value: string): { deps: string[]; rendered: string } {
  const deps = kmodWords(value);
  return { deps, rendered: deps.join(" ") };
}

function badLine(diagnostics: Diagnostic[], file: string, line: number, cmd: string): void {
  diagnostics.push({ file, line, message: `ignoring bad line starting with '${cmd}'` });
}

/** The module field (underscored) and the rest of a line after the command. */
function moduleAndRest(afterCmd: string): { module: string | null; rest: string | null } {
  const tok = strtok(afterCmd);
  if (!tok) return { module: null, rest: null };
  return { module: underscores(tok[0]), rest: remainder(tok[1]) };
}

/** Parses one file's text (a latin1 "binary string"). `file` is the root-relative path for messages. */
export function parseConfigText(text: string, file: string, behaviour: KmodBehaviour): ParsedFile {
  const entries: ConfigEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  for (const logical of logicalLines(text, behaviour)) {
    // A NUL byte ends the C string kmod works on.
    const nul = logical.text.indexOf("\0");
    const lineText = nul >= 0 ? logical.text.slice(0, nul) : logical.text;
    if (lineText === "" || lineText[0] === "#") continue;
    const first = strtok(lineText);
    if (!first) continue;
    const [cmd, afterCmd] = first;
    const source: Source = logical.first === logical.line ? { file, line: logical.line } : { file, line: logical.line, firstLine: logical.first };
    const bad = (): void => badLine(diagnostics, file, logical.line, cmd);

    switch (cmd) {
      case "alias": {
        const aliasTok = strtok(afterCmd);
        const modTok = aliasTok ? strtok(aliasTok[1]) : null;
        const pattern = aliasTok ? underscores(aliasTok[0]) : null;
        const module = modTok ? underscores(modTok[0]) : null;
        if (pattern === null || module === null) bad();
        else entries.push({ kind: "alias", pattern, module, source });
        break;
      }
      case "blacklist": {
        const tok = strtok(afterCmd);
        const module = tok ? underscores(tok[0]) : null;
        if (module === null) bad();
        else entries.push({ kind: "blacklist", module, source });
        break;
      }
      case "options": {
        const { module, rest } = moduleAndRest(afterCmd);
        if (module === null || rest === null) bad();
        else entries.push({ kind: "options", module, options: rest.replaceAll("\t", " "), source });
        break;
      }
      case "install":
      case "remove": {
        const { module, rest } = moduleAndRest(afterCmd);
        if (module === null || rest === null) bad();
        else entries.push({ kind: cmd, module, command: rest, source });
        break;
      }
      case "softdep": {
        const { module, rest } = moduleAndRest(afterCmd);
        if (module === null || rest === null) bad();
        else entries.push({ kind: "softdep", module, ...parseSoftdep(rest), source });
        break;
      }
      case "weakdep": {
        if (!behaviour.weakdep) {
          bad();
          break;
        }
        const { module, rest } = moduleAndRest(afterCmd);
        if (module === null || rest === null) bad();
        else entries.push({ kind: "weakdep", module, ...parseWeakdep(rest), source });
        break;
      }
      case "include":
      case "config":
        diagnostics.push({ file, message: `command ${cmd} is deprecated and not parsed anymore` });
        break;
      default:
        bad();
    }
  }
  return { entries, diagnostics };
}
