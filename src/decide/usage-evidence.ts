// What counts as in use: evidence that the system uses a filesystem (its module
// is loaded, its type is registered or mounted, fstab or a mount unit refers to
// it). `status` shows it; `apply` keeps a filesystem usable when there is any
// (per config.keep.signals, decide/apply-plan.ts). Pure: services/usage.ts reads
// the facts.

import type { KeepSignal } from "../model.ts";
import type { FstabEntry } from "../system/fstab.ts";
import type { KernelState } from "../system/kernel-state.ts";
import { filesystemModules, filesystemTypesOf, type IndexedModule, type ModuleIndex } from "../kmod/module-index.ts";
import type { MountUnit } from "../system/mount-units.ts";

export interface UsageEvidence {
  signal: KeepSignal;
  /** The filesystem type or module the evidence is about ("vfat", "fat"). */
  subject: string;
  /** For people: "vfat mounted at /boot/efi", "fat loaded". */
  text: string;
  /** Root-relative file, with the line where there is one: "etc/fstab:3". */
  where: string;
}

/** The facts usage is judged from. */
export interface UsageFacts {
  kernel: KernelState;
  fstab: FstabEntry[];
  mountUnits: MountUnit[];
}

export interface SystemUsage extends UsageFacts {
  /** fstab entries and mount units whose type mount probes for ("auto" or no Type=): we cannot tell which module they need. */
  untyped: { text: string; where: string }[];
  /**
   * Evidence that `module` is in use: the module itself, or any filesystem type
   * it provides (its fs-<type> aliases in the index, its own name, `types`), or a
   * type of a module that depends on it (vfat needs fat).
   */
  evidenceFor(module: string, types?: readonly string[]): UsageEvidence[];
}

/**
 * The usage the facts show. `index` is the running kernel's module index (null
 * when there is none): it maps types to modules and modules to their dependants.
 */
export function judgeUsage({ kernel, fstab, mountUnits }: UsageFacts, index: ModuleIndex | null): SystemUsage {
  const untyped = [
    ...fstab.filter((e) => e.types.length === 0).map((e) => ({ text: `${e.source} on ${e.target} (type ${e.fstype})`, where: e.where })),
    ...mountUnits.filter((u) => u.type === null).map((u) => ({ text: `${u.what ?? "?"} on ${u.where ?? "?"} (no Type=)`, where: u.path })),
  ];

  const typesOf = (module: string, extra: readonly string[]): string[] => {
    const types = new Set<string>([module, ...extra]);
    if (index !== null) for (const type of filesystemTypesOf(index, module)) types.add(type);
    return [...types];
  };

  // A dependant adds evidence only when it is loaded or one of its types is in
  // use (below); the others need not be found, nor their dependencies read.
  const usedTypes = new Set<string>([...kernel.registered, ...kernel.mounts.map((m) => m.fstype), ...fstab.flatMap((e) => e.types)]);
  for (const unit of mountUnits) if (unit.type !== null) usedTypes.add(unit.type);

  // Those modules that need each module, in index order. Only the telling ones
  // are looked at: loaded, named like a type in use, or providing one; a real
  // kernel has ~4,000 modules and status asks about ~30.
  let dependantsByModule: Map<string, IndexedModule[]> | null = null;
  const dependantsOf = (module: string): readonly IndexedModule[] => {
    if (index === null) return [];
    if (dependantsByModule === null) {
      dependantsByModule = new Map();
      const telling = new Set<string>([...kernel.loaded.keys(), ...usedTypes]);
      for (const [provider, types] of filesystemModules(index)) if (types.some((type) => usedTypes.has(type))) telling.add(provider);
      const inIndex = [...telling].filter((name) => index.modules.has(name));
      inIndex.sort((a, b) => index.modules.rank(a)! - index.modules.rank(b)!);
      for (const name of inIndex) {
        const dependant = index.modules.get(name)!;
        for (const dep of dependant.deps) {
          const list = dependantsByModule.get(dep);
          if (list === undefined) dependantsByModule.set(dep, [dependant]);
          else if (list.at(-1) !== dependant) list.push(dependant);
        }
      }
    }
    return dependantsByModule.get(module) ?? [];
  };

  const evidenceFor = (module: string, types: readonly string[] = []): UsageEvidence[] => {
    const evidence: UsageEvidence[] = [];
    const subjects: { type: string; via: string | null }[] = typesOf(module, types).map((type) => ({ type, via: null }));
    for (const dependant of dependantsOf(module)) {
      for (const type of typesOf(dependant.name, [])) subjects.push({ type, via: dependant.name });
    }
    const needs = (via: string | null): string => (via === null ? "" : ` (${via} needs ${module})`);

    const loadedAt = kernel.loaded.get(module);
    if (loadedAt !== undefined) evidence.push({ signal: "loaded", subject: module, text: `${module} loaded`, where: loadedAt });
    for (const dependant of dependantsOf(module)) {
      const at = kernel.loaded.get(dependant.name);
      if (at !== undefined) {
        evidence.push({ signal: "loaded", subject: dependant.name, text: `${dependant.name} loaded${needs(dependant.name)}`, where: at });
      }
    }
    for (const { type, via } of subjects) {
      if (kernel.registered.has(type)) {
        evidence.push({ signal: "registered", subject: type, text: `${type} registered${needs(via)}`, where: "proc/filesystems" });
      }
      for (const mount of kernel.mounts) {
        if (mount.fstype !== type) continue;
        evidence.push({ signal: "mounted", subject: type, text: `${type} mounted at ${mount.target}${needs(via)}`, where: `proc/self/mountinfo:${mount.line}` });
      }
      for (const entry of fstab) {
        if (!entry.types.includes(type)) continue;
        const role = entry.role === null ? "" : ` (${entry.role === "efi" ? "EFI system partition" : entry.role})`;
        const noauto = entry.noauto ? ", noauto" : "";
        evidence.push({ signal: "fstab", subject: type, text: `${type} ${entry.source} on ${entry.target}${role}${noauto}${needs(via)}`, where: entry.where });
      }
      for (const unit of mountUnits) {
        if (unit.type !== type) continue;
        evidence.push({ signal: "mount-units", subject: type, text: `${type} ${unit.what ?? "?"} on ${unit.where ?? "?"}${needs(via)}`, where: unit.path });
      }
    }
    return evidence;
  };

  return { kernel, fstab, mountUnits, untyped, evidenceFor };
}
