// One policy fragment: `60-blacklist_fs-<module>.conf`, a modprobe.d file on its
// own, whose leading comment lines carry the entry's metadata as `# key: value`.
// Parsing is strict because the install line is run by a root shell: the only
// line with shell metacharacters we accept is the one we would write ourselves.

import validRange from "semver/ranges/valid.js";
import minVersion from "semver/ranges/min-version.js";
import valid from "semver/functions/valid.js";
import gt from "semver/functions/gt.js";
import { moduleNameProblem } from "../kmod/module-name.ts";
import { RuntimeFailure } from "../errors.ts";
import { ruleForModule } from "./benchmarks.ts";

export interface PolicyEntry {
  /** Kernel module name, as in the `blacklist` line and the file name. */
  module: string;
  /** Filesystem types the module serves (`vxfs` for freevxfs, `afs` for kafs). */
  filesystems: string[];
  /** What the filesystem is, for people; null when the fragment has none. */
  description: string | null;
  reason: string;
  /** CVE ids and https URLs. */
  references: string[];
  /** Policy version that first listed the entry (semver). */
  since: string;
  /** Semver range of kernel versions the entry applies to; null for all. */
  kernels: string | null;
  profiles: string[];
  /** Host path of the fragment. */
  file: string;
}

export interface PolicyProblem {
  file: string;
  /** 1-based line, or null for a problem with the file as a whole. */
  line: number | null;
  message: string;
}

export const FRAGMENT_MARKER = "# fsblacklist-policy: fragment";
const FRAGMENT_NAME = /^60-blacklist_fs-(.*)\.conf$/;

/** Header keys in the order we write them. */
const KEYS = ["filesystem", "description", "reason", "references", "since", "kernels", "profiles"] as const;
type Key = (typeof KEYS)[number];
const REQUIRED: readonly Key[] = ["filesystem", "reason", "since", "profiles"];

/** Characters a POSIX shell gives a meaning to (plus the line break kmod would join on). */
const SHELL_META = /[;&|<>()$`\\"'*?[\]#~!{}\n\r\t]/;
const CVE_ID = /^CVE-\d{4}-\d{4,}$/;
const URL_REFERENCE = /^https:\/\/[^\s,]+$/;
/** Profiles whose install line refuses loading by name, as the CIS benchmarks write it. */
const FALSE_INSTALL_PROFILES = new Set(["cis", "cis-l1", "cis-l2"]);
/** Profiles that write the benchmark's spelling of a module's name too (overlayfs beside overlay). */
const BENCHMARK_SPELLING_PROFILES = new Set(["cis-l1", "cis-l2"]);

/** Whether a profile writes `install X /bin/false` (loading by name fails) rather than the hook line. */
export function profileRefusesLoading(profile: string): boolean {
  return FALSE_INSTALL_PROFILES.has(profile);
}

/**
 * The directives of a fragment or a block override for a module under a profile.
 * `withInstall` false: the blacklist lines alone, because an administrator's
 * install line matches the module and must stay the one kmod runs (ours, in a
 * file that sorts first, would shadow it). Under a benchmark profile the names
 * are written as the benchmark spells them (usb-storage; kmod reads - and _
 * alike), and where that spelling is another name (overlayfs for overlay) the
 * module's own lines come first, so that kmod enforces what the scanner reads.
 */
export function blockDirectives(module: string, profile: string, withInstall: boolean): string[] {
  const m = checkedModule(module);
  const install = (name: string): string => (FALSE_INSTALL_PROFILES.has(profile) ? falseInstallLine(name) : hookInstallLine(name));
  const rule = BENCHMARK_SPELLING_PROFILES.has(profile) ? ruleForModule(m) : null;
  const names = rule === null ? [m] : normaliseSpelling(rule.spelling) === m ? [rule.spelling] : [m, rule.spelling];
  const lines: string[] = [];
  for (const name of names) {
    lines.push(`blacklist ${name}`);
    if (withInstall) lines.push(install(name));
  }
  return lines;
}

function normaliseSpelling(name: string): string {
  return name.replaceAll("-", "_");
}

export function fragmentName(module: string): string {
  return `60-blacklist_fs-${module}.conf`;
}

/** The module a fragment file name is for, or null when the name is not a fragment's. */
export function moduleFromFragmentName(fileName: string): string | null {
  return FRAGMENT_NAME.exec(fileName)?.[1] ?? null;
}

function checkedModule(module: string): string {
  const problem = moduleNameProblem(module);
  if (problem !== null) throw new RuntimeFailure(`refusing to write an install line for module name ${JSON.stringify(module)}: ${problem}`);
  return module;
}

/**
 * The install line of the default style: `modprobe MODULE` by name asks the hook,
 * and still loads the module when the hook cannot run (an initramfs without Node).
 * kmod replaces $CMDLINE_OPTS with the options of the modprobe command line.
 */
export function hookInstallLine(module: string): string {
  const m = checkedModule(module);
  return `install ${m} /usr/bin/fsblacklist modprobe-hook ${m} 2>/dev/null; /sbin/modprobe --ignore-install ${m} $CMDLINE_OPTS`;
}

/** The CIS benchmarks' install line: loading by name fails. */
export function falseInstallLine(module: string): string {
  return `install ${checkedModule(module)} /bin/false`;
}

/** An install line of someone else's that matches the module and stays the one kmod runs. */
export interface ForeignInstall {
  /** "etc/modprobe.d/hfs.conf:3" */
  where: string;
  /** The directive as written: "install hfs /bin/false". */
  line: string;
}

/**
 * The file we install for an entry under a profile. With `foreign` install
 * lines matching the module, the fragment holds the blacklist line alone and
 * says which line stays in force.
 */
export function renderFragment(entry: PolicyEntry, profile: string, foreign: readonly ForeignInstall[] = []): string {
  const module = checkedModule(entry.module);
  const values: Record<Key, string | null> = {
    filesystem: entry.filesystems.join(", "),
    description: entry.description,
    reason: entry.reason,
    references: entry.references.length > 0 ? entry.references.join(", ") : null,
    since: entry.since,
    kernels: entry.kernels,
    profiles: entry.profiles.join(", "),
  };
  const lines = [FRAGMENT_MARKER];
  for (const key of KEYS) {
    const value = values[key];
    // A value never spans lines: a newline would end the comment and start a
    // directive, and kmod joins a line ending in a backslash with the next one.
    if (value !== null) lines.push(`# ${key}: ${oneLine(value)}`);
  }
  const rule = ruleForModule(module);
  if (rule !== null && FALSE_INSTALL_PROFILES.has(profile)) lines.push(`# benchmarks: ${rule.items.join(", ")} (${rule.id})`);
  for (const f of foreign) lines.push(`# install-in-force: ${oneLine(`${f.where} \`${f.line}\``)}`);
  lines.push(...blockDirectives(module, profile, foreign.length === 0));
  return lines.join("\n") + "\n";
}

function oneLine(value: string): string {
  return value.replace(/[\r\n\\]+/g, " ").trim();
}

/**
 * The module an installed file names when it is one of our fragments (it starts
 * with our marker), else null. Lets callers recognise our files by content.
 */
export function fragmentModuleOf(text: string): string | null {
  if (!text.startsWith(FRAGMENT_MARKER + "\n")) return null;
  for (const line of text.split("\n")) {
    const match = /^blacklist ([^\s]+)$/.exec(line);
    if (match) return moduleNameProblem(match[1]!) === null ? match[1]! : null;
  }
  return null;
}

export interface FragmentContext {
  /** Host path, used in problems. */
  path: string;
  /** Basename, which names the module. */
  fileName: string;
  /** From policy.json; null when it could not be read (then not checked against). */
  policyVersion: string | null;
  profiles: ReadonlySet<string> | null;
}

function splitList(value: string): string[] {
  return value.split(",").map((item) => item.trim());
}

/** Parses and validates one fragment; returns the entry, or null with problems added. */
export function parseFragment(text: string, ctx: FragmentContext, problems: PolicyProblem[]): PolicyEntry | null {
  const before = problems.length;
  const problem = (line: number | null, message: string): void => {
    problems.push({ file: ctx.path, line, message });
  };

  const module = moduleFromFragmentName(ctx.fileName);
  if (module === null) {
    problem(null, `file name must be 60-blacklist_fs-<module>.conf`);
    return null;
  }
  const nameProblem = moduleNameProblem(module);
  if (nameProblem !== null) {
    problem(null, `file name: ${JSON.stringify(module)} is not a module name: it ${nameProblem}`);
    return null;
  }

  const lines = text.split("\n");
  if (lines.at(-1) === "") lines.pop();
  // kmod joins a line ending in a backslash with the next one, so a header comment
  // could swallow a directive (or a directive grow a second half): none allowed.
  lines.forEach((line, index) => {
    if (line.includes("\\")) problem(index + 1, "backslash (kmod would join this line with the next)");
    if (line.includes("\r")) problem(index + 1, "carriage return (the file must use Unix line ends)");
  });
  if (problems.length > before) return null;

  if (lines[0] !== FRAGMENT_MARKER) {
    problem(1, `the first line must be "${FRAGMENT_MARKER}"`);
    return null;
  }

  const header = new Map<Key, { value: string; line: number }>();
  let index = 1;
  for (; index < lines.length && lines[index]!.startsWith("#"); index++) {
    const lineNo = index + 1;
    const match = /^# ([a-z][a-z-]*):(?: (.*))?$/.exec(lines[index]!);
    if (!match) {
      problem(lineNo, `header lines must read "# key: value"`);
      continue;
    }
    const key = match[1]!;
    if (!(KEYS as readonly string[]).includes(key)) {
      problem(lineNo, `unknown header key '${key}' (known: ${KEYS.join(", ")})`);
      continue;
    }
    if (header.has(key as Key)) {
      problem(lineNo, `header key '${key}' appears twice`);
      continue;
    }
    header.set(key as Key, { value: (match[2] ?? "").trim(), line: lineNo });
  }
  const firstBodyLine = index + 1;
  for (const key of REQUIRED) {
    if (!header.get(key)?.value) problem(header.get(key)?.line ?? 1, `missing ${key} (a "# ${key}: ..." header line)`);
  }

  const fsHeader = header.get("filesystem");
  const filesystems = fsHeader?.value ? splitList(fsHeader.value) : [];
  for (const fs of filesystems) {
    const fsProblem = moduleNameProblem(fs);
    if (fsProblem !== null) problem(fsHeader!.line, `filesystem ${JSON.stringify(fs)} ${fsProblem}`);
  }
  if (new Set(filesystems).size !== filesystems.length) problem(fsHeader!.line, "a filesystem is listed twice");

  const description = header.get("description");
  if (description && description.value === "") problem(description.line, "description is empty (leave the line out instead)");

  const refHeader = header.get("references");
  const references = refHeader?.value ? splitList(refHeader.value) : [];
  for (const ref of references) {
    if (!CVE_ID.test(ref) && !URL_REFERENCE.test(ref)) problem(refHeader!.line, `reference ${JSON.stringify(ref)} is neither a CVE id (CVE-2023-52599) nor an https:// URL`);
  }

  const since = header.get("since");
  if (since?.value) {
    if (valid(since.value) !== since.value) {
      problem(since.line, `since ${JSON.stringify(since.value)} is not a semantic version such as 1.0.0`);
    } else if (ctx.policyVersion !== null && gt(since.value, ctx.policyVersion)) {
      problem(since.line, `since ${since.value} is newer than the policy version ${ctx.policyVersion}`);
    }
  }

  const kernels = header.get("kernels");
  if (kernels) {
    if (kernels.value === "") problem(kernels.line, "kernels is empty (leave the line out for every kernel)");
    else if (validRange(kernels.value) === null) problem(kernels.line, `kernels ${JSON.stringify(kernels.value)} is not a semver range such as "<6.13.0"`);
    else if (minVersion(kernels.value) === null) problem(kernels.line, `kernels ${JSON.stringify(kernels.value)} matches no kernel version`);
  }

  const profileHeader = header.get("profiles");
  const profiles = profileHeader?.value ? splitList(profileHeader.value) : [];
  for (const profile of profiles) {
    if (ctx.profiles !== null && !ctx.profiles.has(profile)) problem(profileHeader!.line, `unknown profile ${JSON.stringify(profile)} (policy.json defines: ${[...(ctx.profiles ?? [])].join(", ")})`);
  }
  if (new Set(profiles).size !== profiles.length) problem(profileHeader!.line, "a profile is listed twice");

  parseBody(lines, firstBodyLine, module, problem);

  if (problems.length > before) return null;
  return {
    module,
    filesystems,
    description: description?.value ?? null,
    reason: header.get("reason")!.value,
    references,
    since: since!.value,
    kernels: kernels?.value ?? null,
    profiles,
    file: ctx.path,
  };
}

function parseBody(lines: string[], firstLine: number, module: string, problem: (line: number | null, message: string) => void): void {
  const expectedInstall = hookInstallLine(module);
  let blacklistSeen = false;
  let installSeen = false;
  for (let lineNo = firstLine; lineNo <= lines.length; lineNo++) {
    const line = lines[lineNo - 1]!;
    if (line.trim() === "") continue;
    if (line.startsWith("#")) {
      problem(lineNo, "comments belong in the header at the top of the file");
      continue;
    }
    const directive = line.split(/[ \t]/, 1)[0];
    if (directive === "blacklist") {
      if (blacklistSeen) problem(lineNo, "second blacklist line");
      blacklistSeen = true;
      const meta = SHELL_META.exec(line);
      if (meta) {
        problem(lineNo, `shell metacharacter '${meta[0]}' in the blacklist line`);
        continue;
      }
      const match = /^blacklist ([^ ]+)$/.exec(line);
      if (!match) {
        problem(lineNo, `the blacklist line must read "blacklist ${module}"`);
        continue;
      }
      const named = match[1]!;
      const nameProblem = moduleNameProblem(named);
      if (nameProblem !== null) problem(lineNo, `${JSON.stringify(named)} is not a module name: it ${nameProblem}`);
      else if (named !== module) problem(lineNo, `the blacklist line names '${named}' but the file name is for '${module}'`);
    } else if (directive === "install") {
      if (installSeen) problem(lineNo, "second install line");
      installSeen = true;
      if (line === expectedInstall) continue;
      // Only the exact line we write may reach a shell with metacharacters in it.
      const meta = SHELL_META.exec(line);
      problem(lineNo, meta ? `shell metacharacter '${meta[0]}' in an install line that is not the expected one: "${expectedInstall}"` : `the install line must read "${expectedInstall}"`);
    } else {
      problem(lineNo, `unexpected line: a fragment holds only its header, "blacklist ${module}" and the install line`);
    }
  }
  const lastLine = Math.max(1, lines.length);
  if (!blacklistSeen) problem(lastLine, `missing the line "blacklist ${module}"`);
  if (!installSeen) problem(lastLine, `missing the install line "${expectedInstall}"`);
}
