// glibc's fnmatch(pattern, string, 0), the matcher kmod uses for `alias`,
// `install`, `options` and `softdep` patterns and for wildcard aliases in
// modules.alias. Flags 0 means: `*` and `?` match any character including `/`
// and a leading `.`, and a backslash quotes the next character (also inside a
// bracket expression).

const CLASSES: Record<string, (c: string) => boolean> = {
  alnum: (c) => /[A-Za-z0-9]/.test(c),
  alpha: (c) => /[A-Za-z]/.test(c),
  blank: (c) => c === " " || c === "\t",
  cntrl: (c) => c.charCodeAt(0) < 32 || c.charCodeAt(0) === 127,
  digit: (c) => /[0-9]/.test(c),
  graph: (c) => c.charCodeAt(0) > 32 && c.charCodeAt(0) < 127,
  lower: (c) => /[a-z]/.test(c),
  print: (c) => c.charCodeAt(0) >= 32 && c.charCodeAt(0) < 127,
  punct: (c) => /[!-/:-@[-`{-~]/.test(c),
  space: (c) => /[ \t\n\v\f\r]/.test(c),
  upper: (c) => /[A-Z]/.test(c),
  xdigit: (c) => /[0-9A-Fa-f]/.test(c),
};

/**
 * Parses the bracket expression starting at pattern[start] === "[". Returns the
 * index after its closing "]" and whether `c` is in it, or null when the
 * bracket is not closed (then "[" is an ordinary character, as in glibc).
 */
function matchBracket(pattern: string, start: number, c: string): { end: number; matched: boolean } | null {
  let i = start + 1;
  const negate = pattern[i] === "!" || pattern[i] === "^";
  if (negate) i++;
  let matched = false;
  let first = true;
  while (i < pattern.length) {
    let ch = pattern[i]!;
    if (ch === "]" && !first) return { end: i + 1, matched: matched !== negate };
    first = false;
    if (ch === "[" && pattern[i + 1] === ":") {
      const close = pattern.indexOf(":]", i + 2);
      const test = close < 0 ? undefined : CLASSES[pattern.slice(i + 2, close)];
      if (test === undefined) return null;
      if (test(c)) matched = true;
      i = close + 2;
      continue;
    }
    if (ch === "\\") {
      i++;
      if (i >= pattern.length) return null;
      ch = pattern[i]!;
    }
    i++;
    if (pattern[i] === "-" && i + 1 < pattern.length && pattern[i + 1] !== "]") {
      let hi = pattern[i + 1]!;
      i += 2;
      if (hi === "\\") {
        if (i >= pattern.length) return null;
        hi = pattern[i]!;
        i++;
      }
      if (c >= ch && c <= hi) matched = true;
    } else if (c === ch) matched = true;
  }
  return null;
}

function matchFrom(pattern: string, p: number, text: string, t: number): boolean {
  while (p < pattern.length) {
    const ch = pattern[p]!;
    if (ch === "*") {
      while (pattern[p] === "*") p++;
      if (p === pattern.length) return true;
      for (let k = t; k <= text.length; k++) {
        if (matchFrom(pattern, p, text, k)) return true;
      }
      return false;
    }
    if (t >= text.length) return false;
    if (ch === "?") {
      p++;
      t++;
    } else if (ch === "[") {
      const bracket = matchBracket(pattern, p, text[t]!);
      if (bracket === null) {
        if (text[t] !== "[") return false;
        p++;
        t++;
      } else {
        if (!bracket.matched) return false;
        p = bracket.end;
        t++;
      }
    } else if (ch === "\\" && p + 1 < pattern.length) {
      if (text[t] !== pattern[p + 1]) return false;
      p += 2;
      t++;
    } else {
      if (text[t] !== ch) return false;
      p++;
      t++;
    }
  }
  return t === text.length;
}

export function fnmatch(pattern: string, text: string): boolean {
  // Most patterns are plain names (`install jfs ...`): without `*`, `?`, `[` or `\\` a pattern matches only itself.
  if (isPlain(pattern)) return pattern === text;
  return matchFrom(pattern, 0, text, 0);
}

/** No character of the pattern is special to fnmatch. */
function isPlain(pattern: string): boolean {
  for (let i = 0; i < pattern.length; i++) {
    const c = pattern.charCodeAt(i);
    if (c === 42 || c === 63 || c === 91 || c === 92) return false; // * ? [ \
  }
  return true;
}
