// Reads depmod's files of a kernel release under the root (lib/modules/<release>/)
// and the releases installed there. What the files mean and how kmod searches
// them is kmod/module-index.ts.

import coerce from "semver/functions/coerce.js";
import compareVersions from "semver/functions/compare.js";
import { parseIndexBin, type BinIndex } from "../kmod/index-bin.ts";
import { moduleIndexFrom, type ModuleIndex } from "../kmod/module-index.ts";
import type { RootFs } from "./root-fs.ts";

export const MODULES_ROOT = "lib/modules";

/** Reads lib/modules/<release>/ under the root; null when that release has no modules.dep. */
export function readModuleIndex(fs: RootFs, release: string): ModuleIndex | null {
  const dir = `${MODULES_ROOT}/${release}`;
  if (!fs.exists(`${dir}/modules.dep`)) return null;
  return moduleIndexFrom(release, dir, {
    modulesDep: () => fs.readText(`${dir}/modules.dep`) ?? "",
    modulesDepBin: readBin(fs, `${dir}/modules.dep.bin`),
    modulesAlias: () => fs.readText(`${dir}/modules.alias`) ?? "",
    modulesAliasBin: readBin(fs, `${dir}/modules.alias.bin`),
    modulesBuiltinAliasBin: readBin(fs, `${dir}/modules.builtin.alias.bin`),
    modulesBuiltin: fs.readText(`${dir}/modules.builtin`),
    modulesBuiltinModinfo: fs.readBytes(`${dir}/modules.builtin.modinfo`),
  });
}

/** A binary index under the root, or null when it is missing, unreadable or not one (the text twin serves then). */
function readBin(fs: RootFs, file: string): BinIndex | null {
  try {
    const bytes = fs.readBytes(file);
    return bytes === null ? null : parseIndexBin(bytes);
  } catch {
    return null;
  }
}

/** Kernel releases installed under the root (directories with a modules.dep), oldest first. */
export function listInstalledReleases(fs: RootFs): string[] {
  const entries = fs.listDir(MODULES_ROOT) ?? [];
  const releases = entries.filter((e) => e.kind === "directory" && fs.exists(`${MODULES_ROOT}/${e.name}/modules.dep`)).map((e) => e.name);
  return releases.sort(compareReleases);
}

/** Orders kernel releases as versions ("6.12.1" after "6.9.3"), never as text. */
export function compareReleases(a: string, b: string): number {
  const va = coerce(a);
  const vb = coerce(b);
  if (va && vb) {
    const byVersion = compareVersions(va, vb);
    if (byVersion !== 0) return byVersion;
  }
  return a < b ? -1 : a > b ? 1 : 0;
}
