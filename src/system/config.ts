// fsblacklist's own configuration: etc/fsblacklist/config.yaml under the root, or
// --config FILE. Loaded with cosmiconfig, but never from the current directory
// and never by executing code: only YAML and JSON loaders, no meta-config lookup.

import { realpathSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../errors.ts";
import { RootFs } from "./root-fs.ts";
import { modprobeDirs } from "../kmod/config-files.ts";
import { detectKmodVersion } from "./kmod-detect.ts";
import { kmodBehaviour, NEWEST_KNOWN_KMOD } from "../kmod/kmod-version.ts";
import { KEEP_SIGNALS, type Config, type KeepSignal } from "../model.ts";
import { checkPlaces } from "./config-check.ts";

export const DEFAULT_CONFIG_PATH = "etc/fsblacklist/config.yaml";

export function defaultConfig(): Config {
  return {
    vendorDir: "usr/lib/modprobe.d",
    adminDir: "etc/modprobe.d",
    stateFile: "var/lib/fsblacklist/state.json",
    profile: "default",
    policyDir: null,
    keep: { signals: [...KEEP_SIGNALS], always: [] },
    initramfs: { mode: "report", underRoot: false },
    kmodVersion: null,
    loadedFrom: null,
  };
}

/**
 * Loads the configuration. `explicit` (from --config) is a host path, relative to
 * the caller's `cwd`; without it, etc/fsblacklist/config.yaml under the root is
 * used when it exists.
 */
export async function loadConfig(fs: RootFs, explicit: { path: string; cwd: string } | undefined): Promise<Config> {
  let hostPath: string;
  let shownPath: string;
  if (explicit !== undefined) {
    hostPath = path.resolve(explicit.cwd, explicit.path);
    shownPath = explicit.path;
  } else {
    const resolved = fs.resolve(DEFAULT_CONFIG_PATH);
    if (resolved.kind === "dangling") return withRootDefaults(fs, defaultConfig(), {}, null);
    if (resolved.kind !== "file") throw new UsageError(`${DEFAULT_CONFIG_PATH} is not a regular file`);
    hostPath = resolved.hostPath;
    shownPath = DEFAULT_CONFIG_PATH;
  }
  const ext = path.extname(hostPath);
  if (![".yaml", ".yml", ".json"].includes(ext)) {
    throw new UsageError(`${shownPath}: configuration must be a .yaml, .yml or .json file`);
  }
  // The configuration under the root may only import files under the root.
  const raw = await loadWithCosmiconfig(hostPath, shownPath, explicit === undefined ? fs.root : null);
  return withRootDefaults(fs, validateConfig(raw, shownPath), raw, hostPath, shownPath);
}

/**
 * Defaults that depend on the target: the vendor directory must be one the
 * installed kmod reads (Debian's kmod 30 ignores usr/lib/modprobe.d).
 */
function withRootDefaults(fs: RootFs, config: Config, raw: unknown, hostPath: string | null, shownPath = DEFAULT_CONFIG_PATH): Config {
  const setByFile = raw !== null && typeof raw === "object" && Object.hasOwn(raw, "vendorDir");
  const behaviour = kmodBehaviour(config.kmodVersion ?? detectKmodVersion(fs) ?? NEWEST_KNOWN_KMOD);
  if (!setByFile) {
    config.vendorDir = behaviour.readsUsrLib ? "usr/lib/modprobe.d" : "lib/modprobe.d";
  } else if (!kmodReads(fs, config.vendorDir, modprobeDirs(behaviour))) {
    // Fragments kmod never reads would look installed and protect nothing.
    throw new UsageError(`${shownPath}: vendorDir ${config.vendorDir} is not a directory kmod ${behaviour.version} reads`, `kmod ${behaviour.version} reads ${modprobeDirs(behaviour).join(", ")}`);
  }
  // Only places a configuration file chose are refused: the defaults on a root
  // laid out oddly (lib/modprobe.d a link to etc/modprobe.d) are the root's own
  // business, and status or showconfig must still describe such a root.
  const placed = raw !== null && typeof raw === "object" && ["vendorDir", "adminDir", "stateFile"].some((key) => Object.hasOwn(raw, key));
  if (placed) checkPlaces(fs, config, behaviour, shownPath, hostPath);
  return config;
}

/** Whether `dir` is (or, through links such as a merged /usr, is the same directory as) one kmod reads. */
function kmodReads(fs: RootFs, dir: string, readDirs: readonly string[]): boolean {
  if (readDirs.includes(RootFs.normalise(dir))) return true;
  const target = fs.resolve(dir);
  return target.kind === "directory" && readDirs.some((read) => fs.resolve(read).hostPath === target.hostPath);
}

const CONFIG_EXTENSIONS = [".yaml", ".yml", ".json"];

/**
 * Checks a loaded file's `$import` entries before cosmiconfig reads them: only
 * YAML or JSON (code is refused without being read), and, for the configuration
 * under the root, nothing that resolves outside the root.
 */
function checkImports(filepath: string, shown: string, loaded: unknown, confineTo: string | null): void {
  if (loaded === null || typeof loaded !== "object" || !Object.hasOwn(loaded, "$import")) return;
  const imports = (loaded as { $import: unknown }).$import;
  for (const entry of Array.isArray(imports) ? imports : [imports]) {
    if (typeof entry !== "string") continue; // cosmiconfig rejects it with its own message
    const target = path.resolve(path.dirname(filepath), entry);
    if (!CONFIG_EXTENSIONS.includes(path.extname(target))) {
      throw new UsageError(`${shown}: $import ${entry}: only .yaml, .yml or .json files can be imported (refusing to execute code as configuration)`);
    }
    if (confineTo === null) continue;
    let real: string;
    try {
      real = realpathSync(target);
    } catch {
      continue; // missing: cosmiconfig reports it
    }
    if (real !== confineTo && !real.startsWith(confineTo === "/" ? "/" : `${confineTo}/`)) {
      throw new UsageError(`${shown}: $import ${entry} leads outside the root`);
    }
  }
}

/**
 * A relative policyDir is relative to the directory of the file that sets it,
 * as `$import` is (each file before cosmiconfig merges them), never to the
 * current directory.
 */
function anchorPolicyDir(filepath: string, loaded: unknown): void {
  if (loaded === null || typeof loaded !== "object" || Array.isArray(loaded)) return;
  const settings = loaded as Record<string, unknown>;
  const value = settings["policyDir"];
  if (typeof value === "string" && value !== "" && !path.isAbsolute(value)) settings["policyDir"] = path.resolve(path.dirname(filepath), value);
}

async function loadWithCosmiconfig(hostPath: string, shownPath: string, confineTo: string | null): Promise<unknown> {
  // The Explorer is cosmiconfig's own loader without the meta-config lookup that
  // the `cosmiconfig()` factory performs in the current directory (which would
  // load `.config/config.js` from wherever the admin happens to stand).
  const { Explorer } = commonJs(await import("cosmiconfig/dist/Explorer.js"));
  const { loadYaml, loadJson } = commonJs(await import("cosmiconfig/dist/loaders.js"));
  const refuse = (filepath: string): never => {
    throw new UsageError(`${filepath}: refusing to execute code as configuration; use YAML or JSON`);
  };
  const realRoot = confineTo === null ? null : realpathSync(confineTo);
  // An imported file under the root is named root-relative, like the main one.
  const shown = (filepath: string): string => {
    const relative = confineTo === null ? ".." : path.relative(confineTo, filepath);
    return relative.startsWith("..") ? filepath : relative;
  };
  const checked =
    (load: (filepath: string, content: string) => unknown) =>
    (filepath: string, content: string): unknown => {
      const loaded = load(filepath, content);
      checkImports(filepath, filepath === hostPath ? shownPath : shown(filepath), loaded, realRoot);
      anchorPolicyDir(filepath, loaded);
      return loaded;
    };
  const yaml = checked(loadYaml);
  const json = checked(loadJson);
  const explorer = new Explorer({
    moduleName: "fsblacklist",
    searchPlaces: [],
    ignoreEmptySearchPlaces: true,
    cache: false,
    transform: (result) => result,
    loaders: { ".yaml": yaml, ".yml": yaml, ".json": json, ".js": refuse, ".cjs": refuse, ".mjs": refuse, ".ts": refuse },
    metaConfigFilePath: null,
    mergeImportArrays: true,
    mergeSearchPlaces: false,
    searchStrategy: "none",
  });
  try {
    const result = await explorer.load(hostPath);
    return result?.config ?? {};
  } catch (error) {
    if (error instanceof UsageError) throw error;
    const message = error instanceof Error ? error.message : String(error);
    const code = (error as NodeJS.ErrnoException).code;
    if (code === "ENOENT") throw new UsageError(`${shownPath}: no such configuration file`);
    throw new UsageError(`${shownPath}${describeParseError(error, message)}`);
  }
}

/** A terminal colour sequence (ESC [ ... m). */
const COLOUR = new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, "g");

/**
 * ": line:column: reason" for a syntax error. cosmiconfig prefixes the parser's
 * message with "YAML Error in <host path>:", which says neither where nor what.
 */
function describeParseError(error: unknown, message: string): string {
  const yamlError = error as { reason?: unknown; mark?: { line?: unknown; column?: unknown } };
  if (typeof yamlError.reason === "string" && typeof yamlError.mark?.line === "number" && typeof yamlError.mark.column === "number") {
    return `:${yamlError.mark.line + 1}:${yamlError.mark.column + 1}: ${yamlError.reason}`;
  }
  // Skip the "... Error in <path>:" line and code frames ("> 1 | ...", "    |   ^"),
  // which the parser colours when it thinks colour is wanted (a terminal, CI=true, FORCE_COLOR).
  const reason = message
    .replace(COLOUR, "")
    .split("\n")
    .slice(/^(YAML|JSON) Error in /.test(message) ? 1 : 0)
    .map((line) => line.trim())
    .find((line) => line !== "" && !/^>?\s*\d*\s*\|/.test(line));
  return `: ${reason?.replace(/ while parsing .*$/, "") ?? "cannot be parsed"}`;
}

/** A CommonJS module's exports: the bundle (esbuild) gives them only as the default export, Node also by name. */
function commonJs<T extends object>(namespace: T): T {
  const exports = (namespace as { default?: unknown }).default;
  return typeof exports === "object" && exports !== null ? (exports as T) : namespace;
}

function fail(file: string, key: string, expected: string): never {
  throw new UsageError(`${file}: '${key}' must be ${expected}`);
}

function relativeDir(value: unknown, file: string, key: string): string {
  if (typeof value !== "string" || value === "" || value.includes("\0")) fail(file, key, "a path");
  const normalised = value.replace(/^\/+/, "");
  if (normalised.split("/").includes("..")) fail(file, key, "a path without '..'");
  return normalised;
}

export function validateConfig(raw: unknown, file: string): Config {
  const config = defaultConfig();
  config.loadedFrom = file;
  if (raw === null || raw === undefined) return config;
  if (typeof raw !== "object" || Array.isArray(raw)) throw new UsageError(`${file}: expected a mapping of settings`);
  const known = new Set(["vendorDir", "adminDir", "stateFile", "profile", "policyDir", "keep", "initramfs", "kmodVersion"]);
  for (const [key, value] of Object.entries(raw)) {
    if (!known.has(key)) throw new UsageError(`${file}: unknown setting '${key}'`, `known settings: ${[...known].join(", ")}`);
    switch (key) {
      case "vendorDir":
      case "adminDir":
      case "stateFile":
        config[key] = relativeDir(value, file, key);
        break;
      case "policyDir":
        if (typeof value !== "string" || value === "") fail(file, key, "a directory path");
        config.policyDir = value;
        break;
      case "profile":
        if (typeof value !== "string" || !/^[a-z][a-z0-9-]*$/.test(value)) fail(file, key, "a profile name such as 'default' or 'cis'");
        config.profile = value;
        break;
      case "kmodVersion":
        if (typeof value !== "number" || !Number.isInteger(value) || value < 1) fail(file, key, "a kmod version number such as 30");
        config.kmodVersion = value;
        break;
      case "keep": {
        if (typeof value !== "object" || value === null || Array.isArray(value)) fail(file, key, "a mapping");
        for (const [sub, subValue] of Object.entries(value)) {
          if (sub === "signals") {
            if (!Array.isArray(subValue) || !subValue.every((s) => KEEP_SIGNALS.includes(s as KeepSignal))) {
              fail(file, "keep.signals", `a list of: ${KEEP_SIGNALS.join(", ")}`);
            }
            config.keep.signals = subValue as KeepSignal[];
          } else if (sub === "always") {
            if (!Array.isArray(subValue) || !subValue.every((s) => typeof s === "string")) fail(file, "keep.always", "a list of filesystem names");
            config.keep.always = subValue as string[];
          } else throw new UsageError(`${file}: unknown setting 'keep.${sub}'`);
        }
        break;
      }
      case "initramfs": {
        if (value === "report" || value === "regenerate") {
          config.initramfs.mode = value;
          break;
        }
        if (typeof value !== "object" || value === null || Array.isArray(value)) fail(file, key, "a mapping");
        for (const [sub, subValue] of Object.entries(value)) {
          if (sub === "mode") {
            if (subValue !== "report" && subValue !== "regenerate") fail(file, "initramfs.mode", "'report' or 'regenerate'");
            config.initramfs.mode = subValue;
          } else if (sub === "underRoot") {
            if (typeof subValue !== "boolean") fail(file, "initramfs.underRoot", "true or false");
            config.initramfs.underRoot = subValue;
          } else throw new UsageError(`${file}: unknown setting 'initramfs.${sub}'`);
        }
        break;
      }
    }
  }
  return config;
}
