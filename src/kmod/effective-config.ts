// The effective modprobe configuration: every file kmod would read, in its
// order, then the kernel command line. Pure; see system/modprobe-config.ts for
// the part that reads the files.

import { parseConfigText, type ConfigEntry, type Diagnostic } from "./parse-config.ts";
import { parseKernelCmdline } from "./cmdline.ts";
import { compareNames, selectConfigFiles, type ListedDir, type SelectedFile } from "./config-files.ts";
import type { KmodBehaviour } from "./kmod-version.ts";

export interface ConfigInputs {
  dirs: readonly ListedDir[];
  /** Contents (latin1 binary strings) by root-relative path; null when it cannot be read. */
  readFile: (path: string) => string | null;
  /** lib/modules/<release>/modules.softdep (and modules.weakdep), if present. */
  moduleDirFiles: readonly { name: "modules.softdep" | "modules.weakdep"; path: string }[];
  cmdline: string | null;
  behaviour: KmodBehaviour;
}

export interface EffectiveConfig {
  files: SelectedFile[];
  entries: ConfigEntry[];
  diagnostics: Diagnostic[];
  behaviour: KmodBehaviour;
}

export function buildEffectiveConfig(inputs: ConfigInputs): EffectiveConfig {
  const { files, diagnostics } = selectConfigFiles(inputs.dirs, inputs.behaviour);
  // The module directory's softdep/weakdep files take part in the same sort by name.
  const ordered: { name: string; path: string }[] = [...files];
  for (const extra of inputs.moduleDirFiles) {
    if (extra.name === "modules.weakdep" && !inputs.behaviour.weakdep) continue;
    ordered.push(extra);
  }
  ordered.sort((a, b) => compareNames(a.name, b.name));

  const entries: ConfigEntry[] = [];
  for (const file of ordered) {
    const text = inputs.readFile(file.path);
    if (text === null) continue;
    const parsed = parseConfigText(text, file.path, inputs.behaviour);
    entries.push(...parsed.entries);
    diagnostics.push(...parsed.diagnostics);
  }
  if (inputs.cmdline !== null) {
    const fromCmdline = parseKernelCmdline(inputs.cmdline, inputs.behaviour);
    entries.push(...fromCmdline.entries);
    diagnostics.push(...fromCmdline.diagnostics);
  }
  return { files, entries, diagnostics, behaviour: inputs.behaviour };
}

const CATEGORY_ORDER = ["blacklist", "install", "remove", "alias", "options", "softdep", "weakdep"] as const;

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
  // One pass into a list per category, in file order within each (seven passes
  // and a string grown line by line cost showconfig of 50,000 lines ~20 ms).
  const lines = new Map<ConfigEntry["kind"], string[]>(CATEGORY_ORDER.map((kind) => [kind, []]));
  for (const entry of config.entries) lines.get(entry.kind)!.push(renderEntry(entry));
  return CATEGORY_ORDER.map((kind) => lines.get(kind)!.join("\n") + (lines.get(kind)!.length > 0 ? "\n" : "")).join("");
}
