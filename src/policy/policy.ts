// The shipped policy: blacklist.d/ holds one fragment per module and policy.json,
// the policy's version and its profiles (modprobe reads only *.conf, so the JSON
// file is inert there). Loaded from a host directory, not from under --root: the
// policy travels with the tool.

import * as fs from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import coerce from "semver/functions/coerce.js";
import satisfies from "semver/functions/satisfies.js";
import valid from "semver/functions/valid.js";
import intersects from "semver/ranges/intersects.js";
import { RuntimeFailure, UsageError, errnoCode } from "../errors.ts";
import { normaliseModuleName } from "../kmod/module-name.ts";
import { moduleFromFragmentName, parseFragment, type PolicyEntry, type PolicyProblem } from "./fragment.ts";

export type { PolicyEntry, PolicyProblem } from "./fragment.ts";
export { fragmentName, renderFragment, hookInstallLine, falseInstallLine, fragmentModuleOf, FRAGMENT_MARKER } from "./fragment.ts";

export const POLICY_FILE = "policy.json";

export interface Policy {
  /** Semver of the policy as a whole (policy.json). */
  version: string;
  /** Profile name -> what it is for. */
  profiles: Record<string, string>;
  /** Host directory the policy was read from. */
  dir: string;
  /** Host path of policy.json. */
  versionFile: string;
  /** Sorted by module name. */
  entries: PolicyEntry[];
}

/** A policy that fails validation: a packaging bug, so a runtime failure (exit 1). */
export class InvalidPolicy extends RuntimeFailure {
  readonly problems: readonly PolicyProblem[];

  constructor(dir: string, problems: readonly PolicyProblem[]) {
    const where = (p: PolicyProblem): string => (p.line === null ? p.file : `${p.file}:${p.line}`);
    super(
      `invalid policy in ${dir}:\n${problems.map((p) => `  ${where(p)}: ${p.message}`).join("\n")}`,
      "the policy ships with fsblacklist and is checked by its tests; reinstall the package, or fix the fragment if you maintain the policy",
    );
    this.problems = problems;
  }
}

/**
 * blacklist.d/ of this installation. The bundle runs from dist/ (main.js or
 * dist/chunks/*.js) and the sources from src/policy/ under tsx, so the directory
 * is one or two levels up from this module's file.
 */
export function shippedPolicyDir(): string {
  const here = path.dirname(fileURLToPath(import.meta.url));
  const candidates = [path.resolve(here, "..", "blacklist.d"), path.resolve(here, "..", "..", "blacklist.d")];
  const found = candidates.find((dir) => fs.existsSync(path.join(dir, POLICY_FILE)));
  if (found === undefined) {
    throw new RuntimeFailure(`the shipped policy is missing (no ${POLICY_FILE} in ${candidates.join(" or ")})`, "reinstall fsblacklist");
  }
  return found;
}

function readText(file: string, problems: PolicyProblem[]): string | null {
  try {
    const bytes = fs.readFileSync(file);
    return new TextDecoder("utf-8", { fatal: true }).decode(bytes);
  } catch (error) {
    const code = errnoCode(error);
    problems.push({ file, line: null, message: code ? `cannot read: ${code}` : "not valid UTF-8" });
    return null;
  }
}

function lineOfOffset(text: string, offset: number): number {
  return text.slice(0, offset).split("\n").length;
}

function readPolicyFile(file: string, problems: PolicyProblem[]): { version: string; profiles: Record<string, string> } | null {
  const text = readText(file, problems);
  if (text === null) return null;
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    const position = /position (\d+)/.exec(message);
    problems.push({ file, line: position ? lineOfOffset(text, Number(position[1])) : null, message: `not valid JSON: ${message}` });
    return null;
  }
  const before = problems.length;
  const fail = (message: string): void => {
    problems.push({ file, line: null, message });
  };
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    fail(`expected {"version": "1.0.0", "profiles": {...}}`);
    return null;
  }
  for (const key of Object.keys(raw)) if (key !== "version" && key !== "profiles") fail(`unknown key '${key}'`);
  const { version, profiles } = raw as { version?: unknown; profiles?: unknown };
  if (typeof version !== "string" || valid(version) !== version) fail(`"version" must be a semantic version such as "1.0.0"`);
  const profileMap: Record<string, string> = {};
  if (typeof profiles !== "object" || profiles === null || Array.isArray(profiles)) {
    fail(`"profiles" must map profile names to descriptions`);
  } else {
    for (const [name, description] of Object.entries(profiles)) {
      if (!/^[a-z][a-z0-9-]*$/.test(name)) fail(`profile name ${JSON.stringify(name)} must be lower-case letters, digits and '-'`);
      if (typeof description !== "string" || description.trim() === "") fail(`profile '${name}' needs a description`);
      else profileMap[name] = description;
    }
    if (!("default" in profiles)) fail(`"profiles" must define "default"`);
  }
  return problems.length > before ? null : { version: version as string, profiles: profileMap };
}

/**
 * A policy directory's files, byte for byte, and what loadPolicy made of them.
 * The build writes the shipped policy's next to the bundle: reading and
 * validating the 29 files took ~9 ms of every run (the semver ranges alone
 * ~4 ms), comparing them with this takes well under one.
 */
export interface ValidatedPolicy {
  /** Every file of the directory: name -> text. */
  files: Record<string, string>;
  version: string;
  profiles: Record<string, string>;
  /** As loadPolicy returns them, but `file` is the name within the directory. */
  entries: PolicyEntry[];
}

export const VALIDATED_POLICY_FILE = "validated-policy.json";

/** What the build records for a valid policy directory; throws InvalidPolicy for an invalid one. */
export function describeValidPolicy(dir: string): ValidatedPolicy {
  const policy = loadPolicy(dir, null);
  const files: Record<string, string> = {};
  for (const name of fs.readdirSync(dir)) files[name] = fs.readFileSync(path.join(dir, name), "utf8");
  const entries = policy.entries.map((entry) => ({ ...entry, file: path.basename(entry.file) }));
  return { files, version: policy.version, profiles: policy.profiles, entries };
}

/** The record the build wrote beside this module's file (the bundle in dist/), or null. */
function recordedPolicy(): ValidatedPolicy | null {
  try {
    const file = path.join(path.dirname(fileURLToPath(import.meta.url)), VALIDATED_POLICY_FILE);
    return JSON.parse(fs.readFileSync(file, "utf8")) as ValidatedPolicy;
  } catch {
    return null;
  }
}

/**
 * The policy in `dir` when its files are exactly the recorded ones: the same
 * names, each fragment a regular file, every byte the same. Anything else (and
 * any error) returns null, and loadPolicy reads and validates as always.
 */
function recordedPolicyOf(dir: string, recorded: ValidatedPolicy): Policy | null {
  try {
    const names = fs.readdirSync(dir).sort();
    const expected = Object.keys(recorded.files).sort();
    if (names.length !== expected.length || names.some((name, i) => name !== expected[i])) return null;
    for (const name of names) {
      const file = path.join(dir, name);
      if (name !== POLICY_FILE && !fs.lstatSync(file).isFile()) return null;
      if (!fs.readFileSync(file).equals(Buffer.from(recorded.files[name]!, "utf8"))) return null;
    }
  } catch {
    return null;
  }
  const entries = recorded.entries.map((entry) => ({ ...entry, file: path.join(dir, entry.file) }));
  return { version: recorded.version, profiles: recorded.profiles, dir, versionFile: path.join(dir, POLICY_FILE), entries };
}

/**
 * Reads and validates the policy in `dir`; throws InvalidPolicy listing every
 * problem. Files identical to those of `recorded` (by default the record the
 * build wrote for the shipped policy) were valid when recorded and give the
 * same result: it is returned without parsing them again.
 */
export function loadPolicy(dir: string, recorded: ValidatedPolicy | null = recordedPolicy()): Policy {
  const known = recorded === null ? null : recordedPolicyOf(dir, recorded);
  if (known !== null) return known;
  const problems: PolicyProblem[] = [];
  const versionFile = path.join(dir, POLICY_FILE);
  let names: string[];
  try {
    names = fs.readdirSync(dir).sort();
  } catch (error) {
    throw new RuntimeFailure(`cannot read the policy directory ${dir}: ${errnoCode(error) ?? String(error)}`);
  }
  const meta = names.includes(POLICY_FILE) ? readPolicyFile(versionFile, problems) : null;
  if (!names.includes(POLICY_FILE)) problems.push({ file: versionFile, line: null, message: "missing (it holds the policy version and its profiles)" });

  const entries: PolicyEntry[] = [];
  for (const name of names) {
    if (name === POLICY_FILE) continue;
    const file = path.join(dir, name);
    if (moduleFromFragmentName(name) === null) {
      problems.push({ file, line: null, message: `unexpected file: the policy holds only ${POLICY_FILE} and 60-blacklist_fs-<module>.conf fragments` });
      continue;
    }
    if (!fs.lstatSync(file).isFile()) {
      problems.push({ file, line: null, message: "not a regular file" });
      continue;
    }
    const text = readText(file, problems);
    if (text === null) continue;
    const entry = parseFragment(text, { path: file, fileName: name, policyVersion: meta?.version ?? null, profiles: meta ? new Set(Object.keys(meta.profiles)) : null }, problems);
    if (entry) entries.push(entry);
  }
  checkSharedFilesystems(entries, problems);
  if (problems.length > 0 || meta === null) throw new InvalidPolicy(dir, problems);
  return { version: meta.version, profiles: meta.profiles, dir, versionFile, entries };
}

/** Two entries may serve one filesystem type only for kernels that cannot both apply. */
function checkSharedFilesystems(entries: readonly PolicyEntry[], problems: PolicyProblem[]): void {
  for (const [i, a] of entries.entries()) {
    for (const b of entries.slice(i + 1)) {
      const shared = a.filesystems.filter((fs) => b.filesystems.includes(fs));
      if (shared.length > 0 && intersects(a.kernels ?? "*", b.kernels ?? "*")) {
        problems.push({ file: b.file, line: null, message: `filesystem ${shared.join(", ")} is also served by ${a.module} (${path.basename(a.file)}) on the same kernels` });
      }
    }
  }
}

/** The entries a profile installs; an unknown profile is a configuration error. */
export function entriesForProfile(policy: Policy, profile: string): PolicyEntry[] {
  if (!(profile in policy.profiles)) {
    throw new UsageError(`unknown policy profile '${profile}'`, `set "profile" in the configuration to one of: ${Object.keys(policy.profiles).join(", ")}`);
  }
  return policy.entries.filter((entry) => entry.profiles.includes(profile));
}

/**
 * `keep.always` may name only filesystems (types or modules) of the policy, any
 * profile's: a typo would silently keep nothing. A UsageError naming the file,
 * the key and the nearest name otherwise.
 */
export function checkKeepAlways(config: { keep: { always: readonly string[] }; policyDir: string | null; loadedFrom: string | null }): void {
  const policy = loadPolicy(config.policyDir ?? shippedPolicyDir());
  const known = new Set(policy.entries.flatMap((e) => [normaliseModuleName(e.module), ...e.filesystems]));
  for (const name of config.keep.always) {
    if (known.has(name) || known.has(normaliseModuleName(name))) continue;
    const near = [...known].filter((k) => editDistance(k, name) <= 2).sort();
    throw new UsageError(
      `${config.loadedFrom ?? "configuration"}: 'keep.always' names ${name}, which is no filesystem of the policy${near.length > 0 ? ` (did you mean ${near.join(" or ")}?)` : ""}`,
      "`fsblacklist status` lists the policy's filesystems",
    );
  }
}

function editDistance(a: string, b: string): number {
  let row = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const next = [i];
    for (let j = 1; j <= b.length; j++) next[j] = Math.min(row[j]! + 1, next[j - 1]! + 1, row[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    row = next;
  }
  return row[b.length]!;
}

/**
 * The semver a kernel release compares as: "6.18.44-fc-v657" -> "6.18.44",
 * "6.1.0-50-amd64" -> "6.1.0". null when the release holds no version at all.
 */
export function kernelVersion(release: string): string | null {
  return coerce(release)?.version ?? null;
}

/**
 * Whether an entry's kernel range covers a kernel release. A release we cannot
 * read a version from is treated as covered: blocking a module that is absent
 * costs nothing, missing one that is present would.
 */
export function appliesToKernel(entry: PolicyEntry, release: string): boolean {
  if (entry.kernels === null) return true;
  const version = kernelVersion(release);
  return version === null || satisfies(version, entry.kernels);
}

/** The entry for a module name (`-` and `_` alike) or, failing that, for a filesystem type. */
export function findEntry(policy: Policy, nameOrType: string): PolicyEntry | null {
  const wanted = normaliseModuleName(nameOrType);
  return policy.entries.find((entry) => normaliseModuleName(entry.module) === wanted) ?? policy.entries.find((entry) => entry.filesystems.includes(nameOrType)) ?? null;
}
