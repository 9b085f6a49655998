// The one simulator: what kmod reads after a proposed change, and what every
// request then does, resolved by the same kmod/ code as `status`. Nothing is
// written, kept, or printed as a fix before it has been through here (the
// product's "verified outcomes"). Pure: the configuration comes in as read
// (kmod/effective-config.ts ConfigInputs), the change as data.

import { kernelModuleBlacklist } from "../kmod/cmdline.ts";
import { selectConfigFiles, withFiles } from "../kmod/config-files.ts";
import { buildEffectiveConfig, type ConfigInputs, type EffectiveConfig } from "../kmod/effective-config.ts";
import { firstLineOf, type Source } from "../kmod/parse-config.ts";
import { requestBlockers, type RequestBlockers } from "../kmod/blockers.ts";
import type { ResolveFacts } from "../kmod/resolve.ts";

/** The configuration and the kernel as read now. */
export interface SystemNow {
  inputs: ConfigInputs;
  index: ResolveFacts["index"];
  /** Modules live in the running kernel (nothing can block those until the next boot). */
  loaded: ResolveFacts["loaded"];
}

export interface ProposedChange {
  /** Files written (their text, as fsblacklist writes it: UTF-8) or removed (null); "" masks a lower file of that name. */
  files?: ReadonlyMap<string, string | null>;
  /** Directives commented out: each of their physical lines, first to last, gets a leading `#`. */
  commentOut?: readonly Source[];
  /** Another package's file masked by a copy in a higher directory with these directives commented out. */
  masks?: readonly { file: string; into: string; commentOut: readonly Source[] }[];
  /** The kernel command line from the next boot on (the boot loader's configuration changed). */
  cmdline?: string | null;
  /** Judge the next boot: modules loaded now count as not loaded. */
  nextBoot?: boolean;
}

export interface Simulation {
  config: EffectiveConfig;
  facts: ResolveFacts;
  /** Everything between `modprobe REQUEST` and a loaded module after the change. */
  request(request: string): RequestBlockers;
  /** The kernel's request at mount time: `modprobe -q -- fs-TYPE`. */
  filesystem(type: string): RequestBlockers;
}

const NOTHING_LOADED: ReadonlySet<string> = new Set();

export function simulate(now: SystemNow, change: ProposedChange = {}): Simulation {
  const inputs = inputsAfter(now.inputs, change);
  const config = buildEffectiveConfig(inputs);
  const facts: ResolveFacts = {
    entries: config.entries,
    index: now.index,
    loaded: change.nextBoot === true ? NOTHING_LOADED : now.loaded,
    kernelBlacklist: inputs.cmdline === null ? [] : kernelModuleBlacklist(inputs.cmdline),
  };
  const cache = new Map<string, RequestBlockers>();
  const request = (name: string): RequestBlockers => {
    let found = cache.get(name);
    if (found === undefined) {
      found = requestBlockers(name, facts);
      cache.set(name, found);
    }
    return found;
  };
  return { config, facts, request, filesystem: (type) => request(`fs-${type}`) };
}

/** What kmod reads once the change is made. */
export function inputsAfter(inputs: ConfigInputs, change: ProposedChange): ConfigInputs {
  // Latin1 binary strings by path, as kmod's model reads files.
  const texts = new Map<string, string | null>();
  for (const [file, text] of change.files ?? []) texts.set(file, text === null ? null : Buffer.from(text, "utf8").toString("latin1"));
  const edits = new Map<string, Source[]>();
  for (const source of change.commentOut ?? []) edits.set(source.file, [...(edits.get(source.file) ?? []), source]);
  if (edits.size > 0) {
    const selected = selectConfigFiles(inputs.dirs, inputs.behaviour).files;
    for (const [file, sources] of edits) {
      if (texts.has(file)) continue;
      const text = readAsKmod(inputs, file, selected);
      if (text !== null) texts.set(file, commentOutLines(text, sources.flatMap(physicalLines)));
    }
  }
  const written = new Map([...(change.files ?? [])].map(([file, text]) => [file, text] as const));
  for (const mask of change.masks ?? []) {
    const text = readAsKmod(inputs, mask.file);
    if (text === null) continue;
    texts.set(mask.into, commentOutLines(text, mask.commentOut.flatMap(physicalLines)));
    written.set(mask.into, "");
  }
  return {
    ...inputs,
    // Edited files stay where they are; only written or removed ones change the listing.
    dirs: withFiles(inputs.dirs, written),
    readFile: (file, raw) => (texts.has(file) ? texts.get(file)! : raw === undefined ? inputs.readFile(file) : inputs.readFile(file, raw)),
    cmdline: change.cmdline === undefined ? inputs.cmdline : change.cmdline,
  };
}

/** A file's text as the model reads it (by its bytes when its name is not UTF-8). */
function readAsKmod(inputs: ConfigInputs, file: string, selected = selectConfigFiles(inputs.dirs, inputs.behaviour).files): string | null {
  const winner = selected.find((f) => f.path === file);
  return winner?.rawName === undefined ? inputs.readFile(file) : inputs.readFile(file, { dir: winner.dir, name: winner.rawName });
}

/** The physical lines a directive spans (1-based). */
export function physicalLines(source: Source): number[] {
  const lines: number[] = [];
  for (let line = firstLineOf(source); line <= source.line; line++) lines.push(line);
  return lines;
}

/** The text with a `#` put in front of each of these physical lines (what `sed -i 'Ns/^/#/'` does). */
export function commentOutLines(text: string, lines: readonly number[]): string {
  const wanted = new Set(lines);
  return text
    .split("\n")
    .map((line, i) => (wanted.has(i + 1) ? `#${line}` : line))
    .join("\n");
}

/**
 * The kernel command line without `module`'s entries in `modprobe.blacklist=`
 * and `module_blacklist=`: a word left empty goes, the others keep their other
 * names. Words are separated by blanks as the boot loader passes them.
 */
export function cmdlineWithout(cmdline: string, module: string): string {
  const words = cmdline.split(/[ \t\n]+/).filter(Boolean);
  const kept: string[] = [];
  for (const word of words) {
    const m = /^(modprobe\.blacklist|module_blacklist)=(.*)$/.exec(word);
    if (m === null) {
      kept.push(word);
      continue;
    }
    const quoted = /^".*"$/.test(m[2]!);
    const names = (quoted ? m[2]!.slice(1, -1) : m[2]!).split(",");
    const rest = names.filter((name) => name.replaceAll("-", "_") !== module);
    if (rest.length === names.length) kept.push(word);
    else if (rest.some(Boolean)) kept.push(`${m[1]}=${quoted ? `"${rest.join(",")}"` : rest.join(",")}`);
  }
  return kept.join(" ") + (cmdline.endsWith("\n") ? "\n" : "");
}
