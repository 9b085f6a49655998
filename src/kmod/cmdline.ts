// The kernel command line as libkmod reads it (kmod_config_parse_kcmdline):
// `modprobe.blacklist=a,b` adds blacklist entries verbatim, any other
// `module.param[=value]` adds an options entry. Since kmod 29 quoting follows a
// state machine, including its re-quoting of values that a boot loader mangled;
// before that a simpler scanner split words at spaces only.

import { underscoresInPlace, type ConfigEntry, type Diagnostic } from "./parse-config.ts";
import { kmodBehaviour, type KmodBehaviour } from "./kmod-version.ts";

/** kmod reads at most this many bytes of /proc/cmdline (KCMD_LINE_SIZE - 1). */
const KCMD_LINE_MAX = 4095;
const SOURCE_FILE = "proc/cmdline";

type State = "ignore" | "modname" | "param" | "value" | "complete";

export function parseKernelCmdline(raw: string, behaviour: KmodBehaviour = kmodBehaviour()): { entries: ConfigEntry[]; diagnostics: Diagnostic[] } {
  const entries: ConfigEntry[] = [];
  const diagnostics: Diagnostic[] = [];
  const source = { file: SOURCE_FILE, line: 0 };
  scanOptions(raw, behaviour, (modname, param, value) => {
    if (modname === "modprobe" && param.startsWith("blacklist=")) {
      if (value === null) return;
      for (const name of value.split(",")) entries.push({ kind: "blacklist", module: name, source });
      return;
    }
    const module = underscoresInPlace(modname);
    if (!module.ok) {
      diagnostics.push({
        file: SOURCE_FILE,
        message: `Ignoring bad option on kernel command line while parsing module name: '${module.text}'`,
      });
      // Before kmod 28 the option was stored anyway, under the half-converted name.
      if (behaviour.cmdlineSkipsBadModuleName) return;
    }
    // kmod stores command-line options like file ones: tabs become spaces.
    entries.push({ kind: "options", module: module.text, options: param.replaceAll("\t", " "), source });
  });
  return { entries, diagnostics };
}

/**
 * The `modprobe.blacklist=` option that names `module`, as kmod reads it
 * (`modprobe.blacklist=jfs,minix`, quotes gone), or null when none does.
 */
export function cmdlineBlacklistWord(raw: string, module: string, behaviour: KmodBehaviour = kmodBehaviour()): string | null {
  let word: string | null = null;
  scanOptions(raw, behaviour, (modname, param, value) => {
    if (word === null && modname === "modprobe" && param.startsWith("blacklist=") && value?.split(",").includes(module)) {
      word = `modprobe.blacklist=${value}`;
    }
  });
  return word;
}

/** Each `module.param[=value]` option of the command line, in order, as kmod splits it. */
function scanOptions(raw: string, behaviour: KmodBehaviour, onOption: (modname: string, param: string, value: string | null) => void): void {
  // A mutable byte array, so we can mirror kmod's in-place edits ('\0' and memmove).
  const truncated = raw.slice(0, KCMD_LINE_MAX);
  const nulAt = truncated.indexOf("\0");
  const buf = [...(nulAt >= 0 ? truncated.slice(0, nulAt) : truncated), "\0"];
  const cString = (from: number): string => {
    let end = from;
    while (end < buf.length && buf[end] !== "\0") end++;
    return buf.slice(from, end).join("");
  };
  const emit: Emit = (modnameAt, paramAt, valueAt) => {
    if (paramAt === null) return;
    onOption(cString(modnameAt), cString(paramAt), valueAt === null ? null : cString(valueAt));
  };
  if (behaviour.cmdlineStateMachine) stateMachine(buf, emit);
  else simpleScanner(buf, behaviour.cmdlineQuotes, emit);
}

type Emit = (modnameAt: number, paramAt: number | null, valueAt: number | null) => void;

/** kmod 29 and later. `buf` ends with a NUL, like kmod's buffer. */
function stateMachine(buf: string[], emit: Emit): void {
  let state: State = "modname";
  let quoted = false;
  let quoteStart: number | null = null;
  let modname = 0;
  let param: number | null = null;
  let value: number | null = null;
  let more = true;
  for (let p = 0; more; p++) {
    const c = buf[p]!;
    switch (c) {
      case '"':
        quoted = !quoted;
        if (quoted && state === "modname" && p === modname) {
          quoteStart = p;
          modname = p + 1;
        } else if (state !== "value") {
          state = "ignore";
        }
        break;
      case "\0":
      case " ":
      case "\n":
      case "\t":
      case "\v":
      case "\f":
      case "\r":
        if (c === "\0") more = false;
        if (quoted && state === "value") {
          // blanks are part of a quoted value
        } else if (quoted) {
          state = "ignore";
        } else if (state === "value" || state === "param") {
          buf[p] = "\0";
          state = "complete";
        } else {
          modname = p + 1;
          state = "modname";
          quoteStart = null;
        }
        break;
      case ".":
        if (state === "modname") {
          buf[p] = "\0";
          param = p + 1;
          state = "param";
        } else if (state === "param") {
          state = "ignore";
        }
        break;
      case "=":
        if (state === "param") {
          value = p + 1;
          state = "value";
        } else if (state === "modname") {
          state = "ignore";
        }
        break;
    }

    if (state === "complete") {
      if (quoteStart !== null && quoteStart < modname && value !== null && param !== null) {
        // kmod moves "modname\0param=" one byte left over the opening quote and
        // puts the quote in front of the value instead.
        const moved = buf.slice(modname, value);
        buf.splice(quoteStart, moved.length, ...moved);
        value--;
        modname--;
        param--;
        buf[value] = '"';
      }
      emit(modname, param, value);
      modname = p + 1;
      state = "modname";
      quoteStart = null;
    }
  }
}

/**
 * kmod 20 to 28: words end at a space only, scanning stops at the first newline,
 * the last `=` of a word starts its value, and (from kmod 24) a double-quoted
 * part is skipped whole; a word whose quotes open before its value is ignored.
 */
function simpleScanner(buf: string[], quotes: boolean, emit: Emit): void {
  let modname = 0;
  let param: number | null = null;
  let value: number | null = null;
  let quoted = false;
  let isModule = true;
  let p = 0;
  for (; buf[p] !== "\0" && buf[p] !== "\n"; p++) {
    const c = buf[p]!;
    if (quotes && c === '"') {
      quoted = !quoted;
      if (quoted) isModule = false;
      else if (param !== null && value !== null) isModule = true;
      continue;
    }
    if (quoted) continue;
    if (c === " ") {
      buf[p] = "\0";
      if (isModule) emit(modname, param, value);
      param = null;
      value = null;
      modname = p + 1;
      isModule = true;
    } else if (c === ".") {
      if (param === null) {
        buf[p] = "\0";
        param = p + 1;
      }
    } else if (c === "=") {
      if (param !== null) value = p + 1;
      else isModule = false;
    }
  }
  buf[p] = "\0";
  if (isModule) emit(modname, param, value);
}

/**
 * `module_blacklist=a,b` as the kernel reads it (not kmod: the kernel refuses these modules by any route) (kernel/module/main.c): comma
 * separated names compared exactly with the module's name. Later occurrences
 * replace earlier ones, as for any kernel parameter.
 */
export function kernelModuleBlacklist(cmdline: string): string[] {
  let names: string[] = [];
  for (const word of cmdline.split(/\s+/)) {
    if (word.startsWith("module_blacklist=")) {
      names = word.slice("module_blacklist=".length).replace(/^"|"$/g, "").split(",").filter(Boolean);
    }
  }
  return names;
}
