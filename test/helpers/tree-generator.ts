// A deterministic generator of tricky fake roots for the differential test
// against the real kmod. The same seed always builds the same tree.
//
// A tree has the five modprobe.d directories (some missing, some symbolic links to
// another, one sometimes a plain file), files whose basenames collide across them,
// masks (empty files, links to /dev/null), dangling and looping links, relative
// links to other files of the tree, directories named like config files, hidden
// and non-.conf names, and file contents built from every modprobe.d command with
// odd separators, continuations, CRLF, comments, brackets, globs, NUL and non-UTF-8
// bytes. Some trees also have file names that are not UTF-8 (and links to them,
// and a directory so named), which kmod reads like any other. It may also have a
// kernel command line (proc/cmdline) and a running release with
// lib/modules/<release>/modules.softdep. Links never point outside the tree:
// kmod, not being chrooted, would follow an absolute link to the host.
//
// Contents, paths and link targets are "binary strings" (one char per byte,
// written as latin1) so that any byte can be produced; `utf8()` turns readable
// text into such a string.

import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { MODPROBE_DIRS } from "../../src/kmod/config-files.ts";

/** mulberry32: small, fast and good enough to pick cases; deterministic per seed. */
export function prng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

class Dice {
  constructor(private readonly next: () => number) {}
  chance(p: number): boolean {
    return this.next() < p;
  }
  int(min: number, max: number): number {
    return min + Math.floor(this.next() * (max - min + 1));
  }
  pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.next() * items.length)]!;
  }
  /** Picks by weight: [[weight, value], ...]. */
  weighted<T>(table: readonly (readonly [number, T])[]): T {
    const total = table.reduce((sum, [w]) => sum + w, 0);
    let roll = this.next() * total;
    for (const [w, value] of table) {
      roll -= w;
      if (roll < 0) return value;
    }
    return table[table.length - 1]![1];
  }
  shuffle<T>(items: T[]): T[] {
    for (let i = items.length - 1; i > 0; i--) {
      const j = Math.floor(this.next() * (i + 1));
      [items[i], items[j]] = [items[j]!, items[i]!];
    }
    return items;
  }
}

/** Text as a binary string of its UTF-8 bytes. */
export function utf8(text: string): string {
  return Buffer.from(text, "utf8").toString("latin1");
}

export const KMOD_30_DPKG_STATUS = `Package: kmod
Status: install ok installed
Priority: important
Section: admin
Architecture: amd64
Version: 30+20221128-1
Description: tools for managing Linux kernel modules

`;

// Basenames chosen so that trees collide across directories, sort in surprising
// orders (bytes, not characters: "-" < "_", upper case first, UTF-8 above ASCII)
// and hit every filter (hidden, too short, not .conf, .alias).
const FILE_NAMES = [
  "00-first.conf",
  "10-foo.conf",
  "10_foo.conf",
  "50-bar.conf",
  "60-blacklist_fs-jfs.conf",
  "99-last.conf",
  "a.conf",
  "b.conf",
  "A.conf",
  "Z.conf",
  "blacklist.conf",
  "modules.conf",
  "modules.softdep.conf",
  "modprobe.conf",
  "x.conf",
  "~x.conf",
  "foo.alias",
  "zz.alias",
  ".hidden.conf",
  ".conf",
  "README",
  "foo.conf.bak",
  "foo.conf~",
  "a.con",
  "conf",
  "é.conf",
  "ü-über.conf",
  "ﬀ.conf",
  "😀.conf",
  "sp ace.conf",
].map(utf8);

// Names that are not UTF-8 (binary strings), placed after everything else so that
// a seed's tree is the one it was before they came, plus these. kmod filters,
// sorts and masks them as bytes, like any name.
const RAW_NAMES = [
  "black-\xe9.conf", // Latin-1 "é": after UTF-8 "é" (c3 a9), before "ﬀ" (ef ac 80)
  "\xe9.conf",
  "a\x80.conf", // between a.conf and b.conf
  "\xff.conf", // after every UTF-8 name
  "10-foo\xe9.conf",
  "\xc0\xae.conf", // an overlong "."
  "\xed\xa0\x80.conf", // a UTF-16 surrogate in UTF-8's form
  "\xe2\x82.conf", // a character cut short
  "\\xe9.conf", // UTF-8, with a backslash: must not read like "\xe9.conf" above
  "back\\slash-\xff.conf",
  "\xe9.alias",
  "\xe9.conf.bak", // not .conf
  "\xe9",
  ".\xe9.conf",
];

const MODULES = [
  "jfs",
  "cramfs",
  "snd-hda-intel",
  "snd_hda_intel",
  "usb-storage",
  "nvidia-drm",
  "a-b_c-d",
  "x",
  "fs-jfs",
  "[a-z]-x",
  "snd-[0-9]*",
  "foo[-_]bar",
  "foo[",
  "bar]",
  "[",
  "]",
  "[]",
  "a]b[c",
  "[a-]-[-b]",
  "*",
  "?",
  "mod*-?",
  "m-[a-c]-n-[x",
  utf8("ü-mod"),
  "\xff\xfe-bin",
  "-",
  "--",
];

const ALIAS_PATTERNS = [
  "fs-jfs",
  "fs-*",
  "pci:v*d*sv*sd*bc*sc*i*",
  "usb:v0781p*d*dc*dsc*dp*ic08isc06ip50in*",
  "char-major-10-*",
  "net-pf-[0-9]*",
  "sym-[a-z]-[0-9]",
  "a[b",
  "c]d",
  "[-]",
  "[--]-x",
  "binfmt-*",
  "block-major-8-*",
];

const OPTION_VALUES = ["a=1", "a=1 b=2", 'foo="x y"', "\ttab=1", "x=-1 y-z=a-b", "verbose", "a=1\t\tb=2", "a=1  ", "p=[a-b] q=]", "x=\xff", "#notacomment=1"];

const COMMANDS_TEXT = [
  "/bin/true",
  "/bin/false",
  "/sbin/modprobe --ignore-install jfs $CMDLINE_OPTS",
  "/usr/bin/fsblacklist modprobe-hook jfs || /sbin/modprobe --ignore-install jfs",
  "echo a-b_c",
  "/bin/sh -c 'exit 1'\t",
  "true  ",
];

const SOFTDEP_WORDS = ["pre:", "post:", "pre:", "post:", "a", "b-c", "d_e", "f", "pre:post:", "pre:x", ":", "post", "PRE:"];
const SOFTDEP_BLANKS = [" ", " ", " ", "  ", "\t", " \t", "\v", "\r", "\f"];
const SEPARATORS = [" ", " ", " ", "\t", "  ", " \t ", "\t\t"];

export interface TreeSummary {
  seed: number;
  root: string;
  /** Root-relative paths of everything created (for a failure report). */
  created: string[];
}

class Builder {
  readonly created: string[] = [];
  constructor(
    readonly root: string,
    readonly dice: Dice,
  ) {}

  /** The host path of a root-relative path, both binary strings. */
  private hostBinary(rel: string): string {
    return path.join(utf8(this.root), rel);
  }

  host(rel: string): Buffer {
    return Buffer.from(this.hostBinary(rel), "latin1");
  }

  private parent(rel: string): Buffer {
    return Buffer.from(path.dirname(this.hostBinary(rel)), "latin1");
  }

  writeFile(rel: string, content: string): void {
    fs.mkdirSync(this.parent(rel), { recursive: true });
    fs.writeFileSync(this.host(rel), Buffer.from(content, "latin1"));
    this.created.push(rel);
  }

  /** A link whose target is relative to the link's real directory, so it stays inside the tree. */
  linkTo(rel: string, targetRel: string): void {
    fs.mkdirSync(this.parent(rel), { recursive: true });
    const realDir = fs.realpathSync(this.parent(rel), { encoding: "buffer" }).toString("latin1");
    const target = path.relative(realDir, this.hostBinary(targetRel)) || ".";
    fs.symlinkSync(Buffer.from(target, "latin1"), this.host(rel));
    this.created.push(`${rel} -> ${target}`);
  }

  rawLink(rel: string, target: string): void {
    fs.mkdirSync(this.parent(rel), { recursive: true });
    fs.symlinkSync(Buffer.from(target, "latin1"), this.host(rel));
    this.created.push(`${rel} -> ${target}`);
  }

  mkdir(rel: string): void {
    fs.mkdirSync(this.host(rel), { recursive: true });
    this.created.push(`${rel}/`);
  }

  exists(rel: string): boolean {
    return fs.existsSync(this.host(rel));
  }
}

function sep(d: Dice): string {
  return d.pick(SEPARATORS);
}

/** Sometimes swaps "-" and "_", or drops a backslash escape in, so every field sees both. */
function mangle(d: Dice, word: string): string {
  let out = word;
  if (d.chance(0.2)) out = out.replace(/[-_]/g, (c) => (d.chance(0.5) ? (c === "-" ? "_" : "-") : c));
  if (d.chance(0.04) && out.length > 1) {
    const at = d.int(0, out.length - 1);
    out = out.slice(0, at) + "\\" + out.slice(at);
  }
  return out;
}

function moduleName(d: Dice): string {
  return mangle(d, d.pick(MODULES));
}

function softdepValue(d: Dice): string {
  let out = d.chance(0.15) ? d.pick(SOFTDEP_BLANKS) : "";
  const words = d.int(0, 7);
  for (let i = 0; i < words; i++) {
    out += d.chance(0.6) ? d.pick(SOFTDEP_WORDS) : moduleName(d);
    if (i < words - 1 || d.chance(0.2)) out += d.pick(SOFTDEP_BLANKS);
  }
  return out;
}

/** One logical line (without its line ending). */
function configLine(d: Dice): string {
  const kind = d.weighted([
    [14, "alias"],
    [14, "blacklist"],
    [12, "options"],
    [7, "install"],
    [5, "remove"],
    [12, "softdep"],
    [4, "weakdep"],
    [3, "include"],
    [5, "unknown"],
    [8, "comment"],
    [5, "blank"],
    [3, "garbage"],
    [1, "long"],
  ] as const);
  const lead = d.chance(0.1) ? sep(d) : "";
  const trail = d.chance(0.15) ? d.pick([" ", "\t", "  ", "\r", " \r"]) : "";
  // Any command sometimes loses its arguments.
  const truncate = d.chance(0.08);
  const args = (...parts: string[]): string => {
    const kept = truncate ? parts.slice(0, d.int(0, Math.max(0, parts.length - 1))) : parts;
    return kept.map((p) => sep(d) + p).join("");
  };
  switch (kind) {
    case "alias":
      return lead + "alias" + args(mangle(d, d.pick(ALIAS_PATTERNS)), moduleName(d)) + (d.chance(0.1) ? sep(d) + "extra" : "") + trail;
    case "blacklist":
      return lead + "blacklist" + args(moduleName(d)) + (d.chance(0.1) ? sep(d) + "ignored words" : "") + trail;
    case "options":
      return lead + "options" + args(moduleName(d), d.pick(OPTION_VALUES)) + trail;
    case "install":
    case "remove":
      return lead + kind + args(moduleName(d), d.pick(COMMANDS_TEXT)) + trail;
    case "softdep":
      return lead + "softdep" + args(moduleName(d), softdepValue(d)) + trail;
    case "weakdep":
      return lead + "weakdep" + args(moduleName(d), softdepValue(d)) + trail;
    case "include":
      return lead + d.pick(["include", "config"]) + args("/etc/modprobe.d/other.conf") + trail;
    case "unknown":
      return lead + d.pick(["blacklists", "Alias", "ALIAS", "options:", "remove_", "soft-dep", "#", "-", "\xff"]) + args(moduleName(d)) + trail;
    case "comment":
      return d.pick(["#", "# comment", "#blacklist jfs", " # indented", "\t#tab", "##", "#\\"]) + trail;
    case "blank":
      return d.pick(["", " ", "\t", " \t ", "\r"]);
    case "garbage": {
      let out = "";
      const n = d.int(1, 40);
      for (let i = 0; i < n; i++) out += String.fromCharCode(d.chance(0.3) ? d.pick([0, 0xff, 0x80, 0xc3, 0x0b, 0x0c, 0x0d, 0x09, 0x20]) : d.int(0x21, 0x7e));
      return out;
    }
    case "long": {
      const unit = d.pick(["a", "x-y ", "\t", "pre: b "]);
      return d.pick(["options jfs ", "softdep jfs pre: ", "blacklist ", "alias fs-", ""]) + unit.repeat(d.int(300, 20000));
    }
  }
}

// Token soup: random sequences of the bytes and words that matter to the parsers,
// to reach combinations that the grammar above does not think of.
const CONFIG_SOUP = [
  "alias",
  "blacklist",
  "options",
  "install",
  "remove",
  "softdep",
  "weakdep",
  "include",
  "pre:",
  "post:",
  " ",
  " ",
  " ",
  "\t",
  "\\",
  "\n",
  "\n",
  "\r",
  "#",
  "-",
  "_",
  "[",
  "]",
  "a",
  "b",
  "\0",
  "\xff",
  "\v",
  ":",
];
const CMDLINE_SOUP = ["modprobe", "blacklist", "m", "p", ".", ".", "=", "=", '"', '"', " ", " ", "\t", "\n", ",", "a", "-", "_", "[", "]", "\0"];

function soup(d: Dice, tokens: readonly string[], length: number): string {
  let out = "";
  for (let i = 0; i < length; i++) out += d.pick(tokens);
  return out;
}

/** A file's bytes: logical lines joined with every kind of ending. */
function configText(d: Dice): string {
  if (d.chance(0.12)) return soup(d, CONFIG_SOUP, d.int(1, 120));
  const lines = d.int(0, 14);
  let out = "";
  for (let i = 0; i < lines; i++) {
    let line = configLine(d);
    if (d.chance(0.06) && line.length > 2) {
      // A continuation in the middle of the line.
      const at = d.int(1, line.length - 1);
      line = line.slice(0, at) + d.pick(["\\\n", "\\\n\\\n", "\\\r\n"]) + line.slice(at);
    }
    if (d.chance(0.03)) line += "\0" + configLine(d);
    out += line;
    const last = i === lines - 1;
    out += d.weighted([
      [80, "\n"],
      [8, "\r\n"],
      [6, "\\\n"],
      [last ? 4 : 0, ""],
      [last ? 3 : 0, "\\"],
      [2, "\\\\\n"],
    ] as const);
  }
  if (d.chance(0.03)) out += "\\";
  return out;
}

function kernelCmdline(d: Dice): string {
  if (d.chance(0.25)) return soup(d, CMDLINE_SOUP, d.int(1, 60));
  const words: string[] = [];
  const n = d.int(0, 10);
  const value = (): string => d.pick(["1", "", "a-b", "x=y", "a.b", "a,b", '"a b"', '"a', 'c"d', "'q'", "\xff", `"${d.pick(["x y", "", "a=b c", "x\ty"])}"`]);
  for (let i = 0; i < n; i++) {
    words.push(
      d.weighted([
        [4, () => `modprobe.blacklist=${Array.from({ length: d.int(0, 4) }, () => d.pick(["jfs", "a-b", "x_y", "", '"q"', "[", "c.d"])).join(",")}`],
        [5, () => `${moduleName(d)}.${d.pick(["param", "p-x", "p_y", "dyndbg", ""])}=${value()}`],
        [2, () => `"${moduleName(d)}.${d.pick(["dyndbg", "p"])}=${d.pick(["file a.c +p", "x y", "", "a\tb"])}"`],
        [2, () => `${moduleName(d)}.${d.pick(["param", "p"])}`],
        [2, () => d.pick(["quiet", "ro", "root=/dev/vda1", "BOOT_IMAGE=/boot/vmlinuz", "init=/sbin/init", "console=ttyS0,115200"])],
        [
          3,
          () =>
            d.pick([
              "=x",
              ".x=y",
              "a..b=c",
              "a.b.c=d",
              '"a".b=c',
              'a"b.c=d',
              'a.b"c=d',
              'a.b="c d"e',
              "modprobe.blacklist",
              "modprobe.blacklist=",
              "MODPROBE.blacklist=x",
              "modprobe.blacklisted=x",
              "modprobe.blacklist==x",
              '"modprobe.blacklist=a b"',
              'modprobe.blacklist=a"b c"',
              "foo.",
              ".",
              '"',
              '""',
              'x.y="',
              "m[.x=1",
              "m].x=1",
              "m-[a-].p-q=r-s",
            ]),
        ],
      ] as const)(),
    );
  }
  let out = "";
  for (const w of words) out += w + d.pick([" ", " ", " ", "  ", "\t", "\n"]);
  if (d.chance(0.05)) out += "x".repeat(d.int(3900, 4200)) + " jfs.late=1";
  if (d.chance(0.03)) out += "\0tail.after=nul";
  if (d.chance(0.7)) out += "\n";
  return out;
}

type DirShape = "dir" | "missing" | "link-to-dir" | "file" | "dangling" | "devnull";

/**
 * Builds the tree for `seed` under `root` (which must not exist yet or be empty).
 * Deterministic: the same seed gives the same tree, byte for byte.
 */
export function generateTree(root: string, seed: number): TreeSummary {
  const d = new Dice(prng(seed));
  const b = new Builder(root, d);
  fs.mkdirSync(root, { recursive: true });
  b.writeFile("var/lib/dpkg/status", KMOD_30_DPKG_STATUS);

  // usrmerge: lib is a link to usr/lib, so lib/modprobe.d is usr/lib/modprobe.d again.
  const usrMerged = d.chance(0.1);
  if (usrMerged) {
    b.mkdir("usr/lib");
    b.rawLink("lib", "usr/lib");
  }

  const shapes = new Map<string, DirShape>();
  for (const dir of MODPROBE_DIRS) {
    if (usrMerged && dir === "lib/modprobe.d") continue;
    const shape = d.weighted([
      [74, "dir"],
      [14, "missing"],
      [5, "link-to-dir"],
      [4, "file"],
      [3, "dangling"],
      [1, "devnull"],
    ] as const);
    shapes.set(dir, shape);
  }
  const realDirs = [...shapes].filter(([, s]) => s === "dir").map(([dir]) => dir);
  for (const dir of realDirs) b.mkdir(dir);
  if (usrMerged && shapes.get("usr/lib/modprobe.d") === "dir") realDirs.push("lib/modprobe.d");
  for (const [dir, shape] of shapes) {
    if (shape === "file") b.writeFile(dir, configText(d));
    else if (shape === "dangling") b.linkTo(dir, `${path.dirname(dir)}/modprobe.d.missing`);
    else if (shape === "devnull") b.rawLink(dir, "/dev/null");
    else if (shape === "link-to-dir") {
      const others = realDirs.filter((other) => other !== dir);
      if (others.length > 0) b.linkTo(dir, d.pick(others));
      else {
        b.mkdir(`srv/${dir}`);
        b.linkTo(dir, `srv/${dir}`);
      }
    }
  }

  // Files: a few names, each placed in one or more directories.
  const names = d.shuffle([...FILE_NAMES]).slice(0, d.int(1, 9));
  const everyFile: string[] = [];
  for (const dir of realDirs) for (const name of names) everyFile.push(`${dir}/${name}`);
  const placed: string[] = [];
  for (const name of names) {
    for (const dir of realDirs) {
      if (dir === "lib/modprobe.d" && usrMerged) continue;
      if (!d.chance(0.55)) continue;
      const rel = `${dir}/${name}`;
      const kind = d.weighted([
        [70, "text"],
        [8, "empty"],
        [6, "devnull"],
        [4, "dangling"],
        [6, "link"],
        [3, "directory"],
        [2, "loop"],
        [1, "link-to-dir"],
      ] as const);
      switch (kind) {
        case "text":
          b.writeFile(rel, configText(d));
          placed.push(rel);
          break;
        case "empty":
          b.writeFile(rel, "");
          break;
        case "devnull":
          b.rawLink(rel, "/dev/null");
          break;
        case "dangling":
          b.linkTo(rel, `${dir}/gone-${name}`);
          break;
        case "link": {
          // Another file of the tree (maybe not created: then it dangles), or one outside the directories.
          if (d.chance(0.3)) {
            const shared = `srv/shared-${d.int(1, 3)}.conf`;
            if (!b.exists(shared)) b.writeFile(shared, configText(d));
            b.linkTo(rel, shared);
          } else b.linkTo(rel, d.pick(everyFile));
          break;
        }
        case "directory":
          b.mkdir(rel);
          if (d.chance(0.5)) b.writeFile(`${rel}/inner.conf`, "blacklist inner\n");
          break;
        case "loop":
          if (d.chance(0.5)) b.rawLink(rel, name);
          else {
            b.rawLink(rel, `${name}.loop`);
            b.rawLink(`${rel}.loop`, name);
          }
          break;
        case "link-to-dir":
          b.linkTo(rel, d.pick(realDirs));
          break;
      }
    }
  }
  // Files placed elsewhere in a directory: not candidates, but present.
  if (realDirs.length > 0 && d.chance(0.2)) b.mkdir(`${d.pick(realDirs)}/subdir`);

  if (d.chance(0.7)) b.writeFile("proc/cmdline", kernelCmdline(d));

  if (d.chance(0.35)) {
    const release = d.pick(["6.1.0-50-amd64", "6.18.44-fc-v657", "5.10.0"]);
    b.writeFile("proc/sys/kernel/osrelease", release + "\n");
    const softdep = `lib/modules/${release}/modules.softdep`;
    const shape = d.weighted([
      [80, "file"],
      [10, "none"],
      [4, "directory"],
      [3, "devnull"],
      [3, "dangling"],
    ] as const);
    if (shape === "file") b.writeFile(softdep, "# Soft dependencies extracted from modules themselves.\n" + configText(d));
    else if (shape === "directory") b.mkdir(softdep);
    else if (shape === "devnull") b.rawLink(softdep, "/dev/null");
    else if (shape === "dangling") b.linkTo(softdep, `lib/modules/${release}/gone.softdep`);
    if (d.chance(0.3)) b.writeFile(`lib/modules/${release}/modules.weakdep`, "weakdep jfs crc32c\n" + configText(d));
  }

  const writable = realDirs.filter((dir) => !(usrMerged && dir === "lib/modprobe.d"));
  if (writable.length > 0 && d.chance(0.3)) placeRawNames(b, writable, everyFile);
  return { seed, root, created: b.created };
}

/**
 * Names that are not UTF-8 in the directories, most of them in several (so that
 * they mask each other), as files, masks, links (to each other, to UTF-8 names,
 * into a directory whose own name is not UTF-8), loops and directories; and
 * UTF-8 names linking to them.
 */
function placeRawNames(b: Builder, dirs: readonly string[], everyFile: readonly string[]): void {
  const d = b.dice;
  const names = d.shuffle([...RAW_NAMES]).slice(0, d.int(2, 6));
  const rawFiles = dirs.flatMap((dir) => names.map((name) => `${dir}/${name}`));
  const rawDir = "srv/\xe9-dir";
  const linkTarget = (): string =>
    d.weighted([
      [4, () => d.pick(rawFiles)],
      [2, () => d.pick(everyFile)],
      [1, () => `${rawDir}/${d.pick(["shared.conf", "\xe9.conf", "gone-\xe9.conf"])}`],
    ] as const)();
  if (!b.exists(rawDir)) {
    b.writeFile(`${rawDir}/shared.conf`, configText(d));
    b.writeFile(`${rawDir}/\xe9.conf`, configText(d));
  }
  for (const name of names) {
    for (const dir of dirs) {
      if (!d.chance(0.6)) continue;
      const rel = `${dir}/${name}`;
      const kind = d.weighted([
        [60, "text"],
        [8, "empty"],
        [6, "devnull"],
        [4, "dangling"],
        [14, "link"],
        [3, "loop"],
        [3, "directory"],
        [2, "link-to-dir"],
      ] as const);
      switch (kind) {
        case "text":
          b.writeFile(rel, configText(d));
          break;
        case "empty":
          b.writeFile(rel, "");
          break;
        case "devnull":
          b.rawLink(rel, "/dev/null");
          break;
        case "dangling":
          b.linkTo(rel, `${dir}/gone-${name}`);
          break;
        case "link":
          b.linkTo(rel, linkTarget());
          break;
        case "loop":
          b.rawLink(rel, name);
          break;
        case "directory":
          b.mkdir(rel);
          break;
        case "link-to-dir":
          b.linkTo(rel, d.chance(0.5) ? rawDir : d.pick(dirs));
          break;
      }
    }
  }
  if (d.chance(0.5)) {
    const rel = `${d.pick(dirs)}/${d.pick(["raw-link.conf", "zz-raw-link.conf"])}`;
    if (!b.exists(rel)) b.linkTo(rel, linkTarget());
  }
}

/**
 * A fresh scratch directory for many small trees: on a tmpfs (/dev/shm) when there
 * is one, because creating thousands of tiny files on a disk-backed /tmp costs
 * seconds; FSB_TEST_TMPDIR overrides the choice.
 */
export function makeScratchDir(prefix: string): string {
  const candidates = [process.env["FSB_TEST_TMPDIR"], "/dev/shm", os.tmpdir()].filter((d): d is string => d !== undefined && d !== "");
  for (const base of candidates) {
    try {
      return fs.mkdtempSync(path.join(base, prefix));
    } catch {
      // not there or not writable: try the next one
    }
  }
  throw new Error(`cannot create a scratch directory in any of: ${candidates.join(", ")}`);
}
