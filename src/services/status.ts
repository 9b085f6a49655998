// `status`: every filesystem of the policy (and every filesystem module the
// configuration blocks), its state, what decides it and whether the system uses
// it. Read-only; works as any user.

import * as path from "node:path";
import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { normaliseModuleName } from "../kmod/module-name.ts";
import { blacklistEntryFor, filesystemSurelyLoads, requestBlock, resolveFilesystemType, type Block, type ResolveFacts } from "../kmod/resolve.ts";
import type { EffectiveConfig } from "../kmod/effective-config.ts";
import { judgedKernel } from "../decide/judged-kernel.ts";
import { checkModuleName, resolveFilesystemName } from "../decide/filesystem-name.ts";
import { decideVerdict, type OverrideFile } from "../decide/verdict.ts";
import type { FilesystemStatus, StatusReport } from "../model.ts";
import { entriesForProfile, findEntry, fragmentName, loadPolicy, shippedPolicyDir, type Policy, type PolicyEntry } from "../policy/policy.ts";
import { filesystemModules, filesystemProviders, filesystemTypesOf, type ModuleIndex } from "../kmod/module-index.ts";
import { listInstalledReleases, readModuleIndex } from "../system/module-index-files.ts";
import { ConfigReads, readEffectiveConfig } from "../system/modprobe-config.ts";
import { readKernelState } from "../system/kernel-state.ts";
import { overrideFilesIn, type OverrideFileRead } from "../system/override-file.ts";
import type { SystemUsage } from "../decide/usage-evidence.ts";
import { readSystemUsage } from "./usage.ts";
import { behaviourFor } from "./modprobe-config.ts";
import { moduleInstallLines, type InstallLineReport } from "./foreign-install.ts";
import { availabilityOn, installedKernels, kernelFacts } from "./kernels.ts";
import { checkInitramfsImages, type ImageReport } from "./initramfs-images.ts";
import { rebuildStillOwed } from "../decide/initramfs-compare.ts";
import { readState } from "../system/state-file.ts";
import { RuntimeFailure } from "../errors.ts";
import type { KernelAvailability } from "../decide/kernel-availability.ts";

/** A row of the report: the contract's fields plus the types and a phrase saying why. */
export interface FilesystemStatusDetail extends FilesystemStatus {
  /** Filesystem types the module serves (policy and kernel index). */
  types: string[];
  /** A systemd mount unit refers to it (the evidence in usedBy says which). */
  inMountUnit: boolean;
  why: string;
  /** Every install line matching the module, in kmod's order, the one kmod runs marked. */
  installLines: InstallLineReport[];
  /** A softdep line that makes kmod set every install line of the module aside, or null. */
  installSetAsideBy: string | null;
}

/** `status --all-kernels`: per installed kernel (oldest first), per filesystem name. */
export type KernelsReport = Record<string, Record<string, KernelAvailability>>;

export interface StatusOptions {
  /** Judge this installed kernel instead of the running one (`--kernel`). */
  kernel?: string;
  /** Say what every installed kernel offers for each filesystem (`--all-kernels`). */
  allKernels?: boolean;
}

export interface StatusResult {
  report: Omit<StatusReport, "filesystems"> & { filesystems: FilesystemStatusDetail[]; kernels?: KernelsReport; initramfs?: ImageReport[]; initramfsOwedSince?: string | null };
  /** The effective configuration, for its diagnostics. */
  config: EffectiveConfig;
  /** Root-relative module directory the facts come from, or null. */
  moduleDir: string | null;
}

export function computeStatus(ctx: Context, names: readonly string[] = [], options: StatusOptions = {}): StatusResult {
  const { fs, config: settings } = ctx;
  const policy = loadPolicy(settings.policyDir ?? shippedPolicyDir());
  const profileEntries = entriesForProfile(policy, settings.profile);

  const kernel = readKernelState(fs);
  const chosen = options.kernel === undefined ? null : checkInstalledKernel(ctx, options.kernel);
  // Another kernel than the running one: what proc/ says about built-in types and module support is not about it.
  const judgingOther = chosen !== null && chosen !== kernel.release;
  const release = chosen ?? kernel.release;
  const indexRelease = chosen ?? judgedKernel(kernelFacts(fs, kernel), "this-boot");
  const index = indexRelease === null ? null : readModuleIndex(fs, indexRelease);
  const usage = readSystemUsage(fs, index, kernel);
  const reads = new ConfigReads();
  const config = readEffectiveConfig(fs, { behaviour: behaviourFor(ctx), release: indexRelease, cmdline: kernel.running, reads });
  // The state is what the configuration decides; whether the module is loaded right now is a separate column.
  const facts: ResolveFacts = { entries: config.entries, index, loaded: new Set(), kernelBlacklist: kernel.kernelBlacklist };

  const modules = names.length > 0 ? namedModules(names, index, policy.entries, kernel.registered) : defaultModules(profileEntries, index, facts, config);
  const overrides = overrideFilesIn(fs, settings.adminDir);
  const filesystems = modules.map((module) => {
    const entry = findEntry(policy, module);
    return statusOf(ctx, module, entry, index, facts, usage, judgingOther, { overrides, texts: reads.texts });
  });
  filesystems.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));

  const notes = judgingOther
    ? [`Judging the installed kernel ${release}; loaded, mounted and in use are about the running kernel ${kernel.release ?? "(none)"}.`]
    : notesFor(ctx, usage, release, indexRelease, index);
  const kernels = options.allKernels === true ? kernelsReport(ctx, policy, filesystems) : undefined;
  return {
    report: { kernel: release, notes: [...notes, ...policyNotes(ctx, profileEntries)], filesystems, ...(kernels === undefined ? {} : { kernels }) },
    config,
    moduleDir: index?.dir ?? null,
  };
}

function namedModules(names: readonly string[], index: ModuleIndex | null, entries: readonly PolicyEntry[], registered: ReadonlySet<string>): string[] {
  const known = entries.map((e) => ({ module: e.module, types: e.filesystems }));
  const modules: string[] = [];
  for (const name of names) {
    checkModuleName(name, "filesystem or module name");
    // A type the running kernel has registered is known even without a module index (built in);
    // with no index at all a name cannot be checked, so it is shown (unavailable) rather than refused.
    const found = resolveFilesystemName(name, index, known) ?? (registered.has(name) || index === null ? { module: name } : null);
    if (found === null) {
      throw new UsageError(
        `unknown filesystem or module '${name}': neither the kernel's module index nor the policy knows it`,
        "run `fsblacklist status` without arguments to list the filesystems it knows",
      );
    }
    if (!modules.includes(found.module)) modules.push(found.module);
  }
  return modules;
}

/** The policy's modules, plus every filesystem module the configuration blocks. */
function defaultModules(entries: readonly PolicyEntry[], index: ModuleIndex | null, facts: ResolveFacts, config: EffectiveConfig): string[] {
  const modules = new Set(entries.map((e) => normaliseModuleName(e.module)));
  if (index !== null) {
    for (const [module, types] of filesystemModules(index)) {
      if (modules.has(module) || !index.modules.has(module)) continue;
      if (types.some((type) => filesystemSurelyLoads(type, facts))) continue;
      if (types.every((type) => typeBlock(type, facts) !== null)) modules.add(module);
    }
  } else {
    // Without an index we cannot tell a filesystem module from another; fragments named like ours are.
    for (const entry of config.entries) {
      if (entry.kind === "blacklist" && /^\d+-blacklist_fs-/.test(path.posix.basename(entry.source.file))) modules.add(entry.module);
    }
  }
  return [...modules];
}

// defaultModules resolves every filesystem type of the index and statusOf those
// of the modules it shows again: once per type is enough.
const blocksByFacts = new WeakMap<ResolveFacts, Map<string, Block | null>>();

/** What keeps the kernel's request for a filesystem type from loading a module, or null. */
function typeBlock(type: string, facts: ResolveFacts): Block | null {
  let byType = blocksByFacts.get(facts);
  if (byType === undefined) blocksByFacts.set(facts, (byType = new Map()));
  if (!byType.has(type)) byType.set(type, requestBlock(resolveFilesystemType(type, facts)));
  return byType.get(type)!;
}

/** What computeStatus reads once for all the modules it shows. */
interface ReadOnce {
  overrides: ReturnType<typeof overrideFilesIn>;
  /** The configuration files' texts as the model read them (latin1). */
  texts: ReadonlyMap<string, string>;
}

/** The override file of that module as status shows it: none when there is no file to read (nothing, or a dangling link). */
function overrideOf(found: OverrideFileRead): OverrideFile | null {
  if (found.kind === "none" || found.kind === "dangling") return null;
  return { path: found.path, marker: found.marker };
}

/** computeStatus() and each initramfs image under boot/ compared with it (what `status` shows). */
export async function computeStatusWithImages(ctx: Context, names: readonly string[] = [], options: StatusOptions = {}): Promise<StatusResult> {
  const result = computeStatus(ctx, names, options);
  const filesystems = result.report.filesystems.map((fs) => ({ name: fs.name, module: fs.module ?? fs.name, types: fs.types, systemState: fs.state }));
  const initramfs = await checkInitramfsImages(ctx, { filesystems });
  return { ...result, report: { ...result.report, initramfs, initramfsOwedSince: rebuildStillOwed(recordedOwed(ctx), initramfs) } };
}

/** The rebuild the state file records as owed; status reads, and a state file it cannot read says nothing here. */
function recordedOwed(ctx: Context): string | null {
  try {
    return readState(ctx.fs, ctx.config.stateFile).state?.initramfsOwedSince ?? null;
  } catch (error) {
    if (error instanceof RuntimeFailure) return null;
    throw error;
  }
}

/** The release named by `--kernel`, when modules for it are installed under the root. */
function checkInstalledKernel(ctx: Context, release: string): string {
  if (release !== "" && !release.includes("/") && release !== "." && release !== ".." && ctx.fs.exists(`lib/modules/${release}/modules.dep`)) return release;
  const installed = listInstalledReleases(ctx.fs);
  throw new UsageError(
    `--kernel ${release}: no kernel of that release is installed (no lib/modules/${release}/modules.dep)`,
    installed.length === 0 ? "no kernel modules are installed under lib/modules" : `installed: ${installed.join(", ")}`,
  );
}

function kernelsReport(ctx: Context, policy: Policy, filesystems: readonly FilesystemStatusDetail[]): KernelsReport {
  const report: KernelsReport = {};
  for (const kernel of installedKernels(ctx)) {
    const row: Record<string, KernelAvailability> = {};
    for (const fs of filesystems) row[fs.name] = availabilityOn(ctx, kernel, fs.module ?? fs.name, fs.types, findEntry(policy, fs.module ?? fs.name));
    report[kernel.release] = row;
  }
  return report;
}

function statusOf(
  ctx: Context,
  module: string,
  entry: PolicyEntry | null,
  index: ModuleIndex | null,
  facts: ResolveFacts,
  usage: SystemUsage,
  judgingOther: boolean,
  read: ReadOnce,
): FilesystemStatusDetail {
  const policyTypes = entry?.filesystems ?? [];
  const indexTypes = index === null ? [] : filesystemTypesOf(index, module);
  const types = [...new Set([...policyTypes, ...indexTypes])];
  const kernel = usage.kernel;
  const indexed = index?.modules.get(module);
  const present = indexed !== undefined && ctx.fs.exists(`${index!.dir}/${indexed.path}`);
  // A type the kernel has registered while no loaded module provides it is compiled in.
  const providers = (type: string): string[] => (index === null ? [] : filesystemProviders(index, type));
  const registeredWithoutModule = kernel.running && !judgingOther && [...types, module].some((t) => kernel.registered.has(t) && ![module, ...providers(t)].some((m) => kernel.loaded.has(m)));
  const builtin = (index?.builtin.has(module) ?? false) || registeredWithoutModule;

  let block: Block | null;
  if (index !== null && indexTypes.length > 0) {
    const blocks = indexTypes.map((type) => typeBlock(type, facts));
    block = blocks.every((b) => b !== null) ? blocks[0]! : null;
  } else {
    const source = blacklistEntryFor(module, facts.entries);
    block = source === null ? null : { cause: source.file === "proc/cmdline" ? "cmdline-blacklisted" : "blacklisted", module, source };
  }

  const verdict = decideVerdict({
    builtin,
    present: present || (index === null && !kernel.running),
    moduleSupport: kernel.moduleSupport || !kernel.running || judgingOther,
    block,
    override: overrideOf(read.overrides.read(fragmentName(module))),
  });
  const evidence = usage.evidenceFor(module, types);
  const installs = moduleInstallLines(ctx, facts, module, read.texts);
  return {
    name: types[0] ?? module,
    module,
    state: verdict.state,
    decidedBy: verdict.decidedBy,
    loaded: kernel.loaded.has(module),
    mounted: evidence.some((e) => e.signal === "mounted"),
    inFstab: evidence.some((e) => e.signal === "fstab"),
    inMountUnit: evidence.some((e) => e.signal === "mount-units"),
    present,
    reason: entry?.reason ?? null,
    references: entry?.references ?? [],
    kernels: entry?.kernels ?? null,
    inPolicy: entry !== null,
    usedBy: evidence.map((e) => `${e.text} (${e.where})`),
    why: verdict.why,
    types,
    installLines: installs.lines,
    installSetAsideBy: installs.setAsideBy,
  };
}

function notesFor(ctx: Context, usage: SystemUsage, release: string | null, indexRelease: string | null, index: ModuleIndex | null): string[] {
  const notes: string[] = [];
  const kernel = usage.kernel;
  const under = ctx.fs.isHostRoot ? "" : ` under ${ctx.fs.root}`;
  if (!kernel.running) {
    notes.push(
      `No running kernel${under} (no proc/ of its own): loaded and mounted are unknown, in use means fstab or mount units` +
        (indexRelease === null ? "; no kernel modules are installed there either." : `; module facts are from the installed kernel ${indexRelease}.`),
    );
  } else if (!kernel.moduleSupport) {
    notes.push(
      `The running kernel ${release ?? ""} has no loadable module support: only the filesystems built into it can be mounted, ` +
        "and no modprobe configuration changes that. The states below say so; the policy still applies to kernels with modules.",
    );
  } else {
    if (index === null) notes.push(`No modules for the running kernel ${release ?? ""} under lib/modules: its filesystem modules are unavailable.`);
    if (!kernel.autoload) notes.push("Module auto-loading is off (proc/sys/kernel/modprobe is empty): the kernel loads no filesystem module on its own, blocked or not.");
  }
  if (kernel.kernelBlacklist.length > 0) notes.push(`The kernel command line refuses these modules outright: module_blacklist=${kernel.kernelBlacklist.join(",")}.`);
  return notes;
}

function policyNotes(ctx: Context, entries: readonly PolicyEntry[]): string[] {
  if (entries.length === 0 || entries.some((e) => ctx.fs.exists(path.posix.join(ctx.config.vendorDir, fragmentName(e.module))))) return [];
  return [`The policy's fragments are not installed in ${ctx.config.vendorDir}: \`fsblacklist apply\` (as root) installs them.`];
}
