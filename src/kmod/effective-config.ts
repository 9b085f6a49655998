// The effective modprobe configuration: every file kmod would read, in its
// order, then the kernel command line. Pure; see system/modprobe-config.ts for
// the part that reads the files.

import { parseConfigText, type ConfigEntry, type Diagnostic, type ParsedFile } from "./parse-config.ts";
import { parseKernelCmdline } from "./cmdline.ts";
import { compareFileNames, selectConfigFiles, type ListedDir, type SelectedFile } from "./config-files.ts";
import type { KmodBehaviour } from "./kmod-version.ts";

export interface ConfigInputs {
  dirs: readonly ListedDir[];
  /**
   * Contents (latin1 binary strings) by root-relative path; null when it cannot
   * be read. `raw` names the file by its bytes when its name as text does not
   * spell them (SelectedFile.rawName).
   */
  readFile: (path: string, raw?: { dir: string; name: Buffer }) => string | null;
  /** lib/modules/<release>/modules.softdep (and modules.weakdep), if present. */
  moduleDirFiles: readonly { name: "modules.softdep" | "modules.weakdep"; path: string }[];
  cmdline: string | null;
  behaviour: KmodBehaviour;
  /**
   * Files parsed by earlier builds over the same files (a decision that reads
   * the configuration several times, system/modprobe-config.ts ConfigReads),
   * by path: a file whose text and kmod are the same is not parsed again.
   */
  parsed?: Map<string, { text: string; version: number; parsed: ParsedFile }>;
}

export interface EffectiveConfig {
  files: SelectedFile[];
  entries: ConfigEntry[];
  diagnostics: Diagnostic[];
  behaviour: KmodBehaviour;
}

/** Each file kmod reads, parsed, in kmod's order, then the kernel command line; diagnostics as they come. */
function* parsedFiles(inputs: ConfigInputs, files: readonly SelectedFile[], diagnostics: Diagnostic[]): Generator<readonly ConfigEntry[]> {
  // The module directory's softdep/weakdep files take part in the same sort by name.
  const ordered: { name: string; rawName?: Buffer; path: string; dir?: string }[] = [...files];
  for (const extra of inputs.moduleDirFiles) {
    if (extra.name === "modules.weakdep" && !inputs.behaviour.weakdep) continue;
    ordered.push(extra);
  }
  ordered.sort(compareFileNames);

  for (const file of ordered) {
    const text = file.rawName === undefined || file.dir === undefined ? inputs.readFile(file.path) : inputs.readFile(file.path, { dir: file.dir, name: file.rawName });
    if (text === null) continue;
    const parsed = parseOnce(inputs, text, file.path);
    diagnostics.push(...parsed.diagnostics);
    yield parsed.entries;
  }
  if (inputs.cmdline !== null) {
    const fromCmdline = parseKernelCmdline(inputs.cmdline, inputs.behaviour);
    diagnostics.push(...fromCmdline.diagnostics);
    yield fromCmdline.entries;
  }
}

function parseOnce(inputs: ConfigInputs, text: string, path: string): ParsedFile {
  const kept = inputs.parsed?.get(path);
  if (kept !== undefined && kept.text === text && kept.version === inputs.behaviour.version) return kept.parsed;
  const parsed = parseConfigText(text, path, inputs.behaviour);
  if (kept === undefined) inputs.parsed?.set(path, { text, version: inputs.behaviour.version, parsed });
  return parsed;
}

export function buildEffectiveConfig(inputs: ConfigInputs): EffectiveConfig {
  const { files, diagnostics } = selectConfigFiles(inputs.dirs, inputs.behaviour);
  const entries: ConfigEntry[] = [];
  for (const parsed of parsedFiles(inputs, files, diagnostics)) entries.push(...parsed);
  return { files, entries, diagnostics, behaviour: inputs.behaviour };
}

const CATEGORY_ORDER = ["blacklist", "install", "remove", "alias", "options", "softdep", "weakdep"] as const;
const CATEGORY_INDEX = Object.fromEntries(CATEGORY_ORDER.map((kind, i) => [kind, i])) as Record<ConfigEntry["kind"], number>;

function renderEntry(entry: ConfigEntry): string {
  switch (entry.kind) {
    case "blacklist":
      return `blacklist ${entry.module}`;
    case "install":
    case "remove":
      return `${entry.kind} ${entry.module} ${entry.command}`;
    case "alias":
      return `alias ${entry.pattern} ${entry.module}`;
    case "options":
      return `options ${entry.module} ${entry.options}`;
    case "softdep":
    case "weakdep":
      return `${entry.kind} ${entry.module} ${entry.rendered}`;
  }
}

/** The configuration section of `modprobe -c`, byte for byte (as a latin1 string). */
export function renderModprobeC(config: EffectiveConfig): string {
  const rendered = new Rendering();
  rendered.add(config.entries);
  return rendered.text();
}

/**
 * renderModprobeC straight from the files, for `showconfig`: each file's entries
 * are rendered as it is parsed and then dropped. Keeping 40,000 entries of a
 * large configuration alive until the end made every young-generation garbage
 * collection copy them: a quarter of showconfig's profile.
 */
export function renderConfigFiles(inputs: ConfigInputs): { text: string; files: SelectedFile[]; diagnostics: Diagnostic[] } {
  const { files, diagnostics } = selectConfigFiles(inputs.dirs, inputs.behaviour);
  const rendered = new Rendering();
  for (const parsed of parsedFiles(inputs, files, diagnostics)) rendered.add(parsed);
  return { text: rendered.text(), files, diagnostics };
}

/** The lines of `modprobe -c` by category, in file order within each. */
class Rendering {
  // Per category, blocks of lines ending in "\n": one block per add(), joined
  // into a flat string there, so the parsed entries and the file text they
  // point into can go.
  readonly #blocks = CATEGORY_ORDER.map((): string[] => []);

  add(entries: readonly ConfigEntry[]): void {
    const lines = CATEGORY_ORDER.map((): string[] => []);
    for (const entry of entries) lines[CATEGORY_INDEX[entry.kind]]!.push(renderEntry(entry));
    for (let k = 0; k < lines.length; k++) if (lines[k]!.length > 0) this.#blocks[k]!.push(lines[k]!.join("\n") + "\n");
  }

  text(): string {
    return this.#blocks.map((blocks) => blocks.join("")).join("");
  }
}
