// The product's rule for a name typed on the command line (`status iso9660`,
// `allow vxfs`): which module it means. kmod has no such rule; this one asks the
// kernel's index first and the policy's names second.

import { UsageError } from "../errors.ts";
import { filesystemProviders, filesystemTypesOf, type ModuleIndex } from "../kmod/module-index.ts";
import { moduleNameProblem } from "../kmod/module-name.ts";

export interface NamedFilesystem {
  /** What the user typed. */
  input: string;
  module: string;
  /** Filesystem types the module provides on this kernel (from its fs-* aliases). */
  types: string[];
  via: "module" | "alias" | "builtin" | "builtin-alias" | "policy";
}

/**
 * Resolves a name given on the command line, a filesystem type or a module name
 * ("iso9660" -> isofs, "vxfs" -> freevxfs, "ext3" -> ext4), through the kernel's
 * index first, then through the names the policy knows (a kernel may lack the
 * module). Null when neither knows it.
 */
export function resolveFilesystemName(input: string, index: ModuleIndex | null, known: readonly { module: string; types: readonly string[] }[]): NamedFilesystem | null {
  const name = input.replaceAll("-", "_");
  const withTypes = (module: string, via: NamedFilesystem["via"]): NamedFilesystem => ({
    input,
    module,
    types: index === null ? [] : filesystemTypesOf(index, module),
    via,
  });
  if (index !== null) {
    if (index.modules.has(name)) return withTypes(name, "module");
    if (index.builtin.has(name)) return withTypes(name, "builtin");
    const provider = filesystemProviders(index, name)[0];
    if (provider !== undefined) return withTypes(provider, "alias");
    const builtinAlias = index.builtinAliases.find((a) => a.pattern === `fs_${name}`);
    if (builtinAlias) return withTypes(builtinAlias.module, "builtin-alias");
  }
  const fromPolicy = known.find((k) => k.module === name) ?? known.find((k) => k.types.some((t) => t === input || t.replaceAll("-", "_") === name));
  if (fromPolicy) {
    const types = index === null ? [...fromPolicy.types] : [...new Set([...filesystemTypesOf(index, fromPolicy.module), ...fromPolicy.types])];
    return { input, module: fromPolicy.module, types, via: "policy" };
  }
  return null;
}

/** Validates a name given on the command line; throws a usage error naming it. */
export function checkModuleName(name: string, what = "module name"): string {
  const problem = moduleNameProblem(name);
  if (problem !== null) throw new UsageError(`invalid ${what} ${JSON.stringify(name)}: ${problem}`);
  return name;
}
