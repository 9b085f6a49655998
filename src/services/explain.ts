// `explain`: gathers the facts about one filesystem type (which type, what kmod
// and the running kernel would do with it, what the policy says) and hands them
// to decide/diagnose.ts.
//
// The device or image named on the command line is a path on the host (like
// --config): it is what the admin tried to mount. A mount point is looked up in
// etc/fstab and the mount units under the root.

import * as nodeFs from "node:fs";
import * as path from "node:path";
import type { Context } from "../context.ts";
import { RuntimeFailure, UsageError, errnoCode } from "../errors.ts";
import { diagnose, isKnownType, type ConfigLine, type Diagnosis, type ModprobeOutcome, type Unrecognised } from "../decide/diagnose.ts";
import { parseOsRelease, type OsRelease } from "../decide/module-packages.ts";
import { parseMountMessage, usualMeaning } from "../decide/mount-message.ts";
import type { ConfigEntry, Source } from "../kmod/parse-config.ts";
import { resolveFilesystemType, type Resolution } from "../kmod/resolve.ts";
import { parseMarker } from "../policy/marker.ts";
import { findEntry, fragmentName, loadPolicy, shippedPolicyDir, type PolicyEntry } from "../policy/policy.ts";
import { probeDevice, type BlkidProbe } from "../system/blkid.ts";
import { readFstab } from "../system/fstab.ts";
import { readKernelState } from "../system/kernel-state.ts";
import { readEffectiveConfig } from "../system/modprobe-config.ts";
import { filesystemProviders } from "../kmod/module-index.ts";
import { listInstalledReleases, readModuleIndex } from "../system/module-index-files.ts";
import { readMountUnits } from "../system/mount-units.ts";
import { behaviourFor } from "./modprobe-config.ts";

export interface ExplainInput {
  /** A device, image file or mount point, as typed. */
  target: string | null;
  type: string | null;
  message: string | null;
  /** Directory relative targets are taken from. */
  cwd: string;
}

export interface ExplainReport extends Diagnosis {
  /** The kernel release judged, null when none could be found. */
  kernel: string | null;
  /** How the type was found: "blkid -p disk.img: TYPE=minix", "etc/fstab:3", "--type", ... */
  typeFrom: string | null;
  mountError: { kind: string; line: string; meaning: string } | null;
  /** Facts the admin should know that are not evidence for the cause. */
  notes: string[];
}

// Filesystem type names as mount(8) passes them; "fuse.sshfs" asks the kernel for "fuse".
// Never a leading '-': the type is echoed into commands we suggest (mount -t, modprobe).
const FSTYPE = /^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,55}$/;

export async function explain(ctx: Context, input: ExplainInput): Promise<ExplainReport> {
  if (input.target === null && input.type === null && input.message === null) {
    throw new UsageError("name a device, image file or mount point, or give --type or --message", "e.g. fsblacklist explain /dev/sdb1, or fsblacklist explain --message \"$(mount /dev/sdb1 /mnt 2>&1)\"");
  }
  if (input.message !== null && input.message.trim() === "") throw new UsageError("--message is empty: pass the text mount printed");
  if (input.type !== null && !FSTYPE.test(input.type)) {
    throw new UsageError(`invalid --type ${JSON.stringify(input.type)}: a filesystem type has only letters, digits and '_', '-', '.', '+', and does not start with '-' or '.'`);
  }

  const message = input.message === null ? null : parseMountMessage(input.message);
  const notes: string[] = [];
  let fstype: string | null = input.type;
  let typeFrom: string | null = input.type === null ? null : "--type";
  if (fstype === null && message?.fstype != null && FSTYPE.test(message.fstype)) {
    fstype = message.fstype;
    typeFrom = `mount's message: ${message.line}`;
  }

  let unrecognised: Unrecognised | null = null;
  let usage: string | null = null;
  if (input.target !== null) {
    const found = await identifyTarget(ctx, input.target, input.cwd);
    if (fstype === null) {
      if (found.ambivalent) {
        throw new UsageError(
          `${found.from}, and mount refuses to guess between them ("more filesystems detected")`,
          "name the type with --type (wipefs DEVICE lists the signatures)",
        );
      }
      if (found.type === null) unrecognised = found.unrecognised;
      fstype = found.type;
      usage = found.usage;
      typeFrom = found.from;
    } else if (found.ambivalent || (found.type !== null && found.type !== fstype)) {
      notes.push(`${found.from}, but mount was asked for ${fstype}`);
    }
  }
  if (fstype === null && unrecognised === null) {
    const said = message === null ? "" : ` (mount's "${message.line}" usually means: ${usualMeaning(message)})`;
    throw new UsageError(`cannot tell the filesystem type${said}`, "name the device or image file, or give the type with --type");
  }

  const kernelType = fstype === null ? null : requestedType(fstype);
  const state = readKernelState(ctx.fs);
  const installed = listInstalledReleases(ctx.fs);
  const release = state.release ?? installed[installed.length - 1] ?? null;
  if (!state.running) {
    notes.push(
      release === null
        ? "no running kernel and no kernel modules under the root: judged from the configuration alone"
        : `no running kernel under the root: judged for ${release}, the newest kernel installed there`,
    );
  }
  const index = release === null ? null : readModuleIndex(ctx.fs, release);
  const config = readEffectiveConfig(ctx.fs, { behaviour: behaviourFor(ctx), release, cmdline: state.running });
  const policyEntry = fstype === null ? null : loadPolicyEntry(ctx, kernelType!, notes);

  let modprobe: ModprobeOutcome = { kind: "no-module" };
  if (kernelType !== null) {
    const resolution = resolveFilesystemType(kernelType, { entries: config.entries, index, loaded: state.loaded, kernelBlacklist: state.kernelBlacklist });
    modprobe = outcomeOf(resolution, config.entries, state.cmdline);
  }

  if (kernelType !== fstype) notes.push(`mount -t ${fstype} asks the kernel for ${kernelType}`);
  const diagnosis = diagnose({
    fstype: kernelType,
    unrecognised,
    usage,
    release,
    running: state.running,
    moduleSupport: state.moduleSupport,
    autoload: state.autoload,
    registered: kernelType !== null && state.registered.has(kernelType),
    moduleIndex: index !== null,
    modprobe,
    kernelBlacklist: state.kernelBlacklist,
    policy:
      policyEntry === null
        ? null
        : { name: policyEntry.filesystems.includes(kernelType!) ? kernelType! : policyEntry.module, module: policyEntry.module, kernels: policyEntry.kernels, reason: policyEntry.reason },
    knownType: kernelType !== null && (isKnownType(kernelType) || (index !== null && filesystemProviders(index, kernelType).length > 0)),
    allow: allowLifts(ctx, modprobe),
    installLineIsOurs: installLineIsOurs(ctx, modprobe),
    message,
    os: readOsRelease(ctx),
  });

  return {
    ...diagnosis,
    kernel: release,
    typeFrom,
    mountError: message === null ? null : { kind: message.kind, line: message.line, meaning: usualMeaning(message) },
    notes,
  };
}

/** The type the kernel is asked for: FUSE subtypes ("fuse.sshfs") are served by fuse itself. */
function requestedType(fstype: string): string {
  const dot = fstype.indexOf(".");
  return dot > 0 && fstype.startsWith("fuse") ? fstype.slice(0, dot) : fstype;
}

interface Identified {
  type: string | null;
  /** blkid saw more than one signature (only a given type can settle it). */
  ambivalent: boolean;
  usage: string | null;
  unrecognised: Unrecognised | null;
  from: string;
}

/** A device or image on the host, or else a mount point known to the root's fstab or mount units. */
async function identifyTarget(ctx: Context, target: string, cwd: string): Promise<Identified> {
  const hostPath = path.resolve(cwd, target);
  let stat: nodeFs.Stats | null = null;
  try {
    stat = nodeFs.statSync(hostPath);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT" && errnoCode(error) !== "ENOTDIR") throw new UsageError(`${target}: ${errnoCode(error) ?? String(error)}`);
  }
  if (stat !== null && !stat.isDirectory()) return probe(target, hostPath);

  const mountPoint = ctx.fs.isHostRoot ? hostPath : path.posix.resolve("/", target);
  const known = await fromMountConfig(ctx, normaliseMountPoint(mountPoint), normaliseMountPoint(target));
  if (known !== null) return known;
  if (stat !== null) {
    throw new UsageError(`${target} is a directory, and neither etc/fstab nor a mount unit mounts anything there`, "name the device or image file, or give the type with --type");
  }
  throw new UsageError(`${target}: no such file or device, and no mount point of that name in etc/fstab or a mount unit`);
}

async function probe(shown: string, hostPath: string): Promise<Identified> {
  try {
    nodeFs.accessSync(hostPath, nodeFs.constants.R_OK);
  } catch {
    throw new UsageError(`cannot read ${shown}: permission denied`, "run fsblacklist explain as root to read a device, or give the type with --type");
  }
  const result: BlkidProbe = await probeDevice(hostPath);
  switch (result.kind) {
    case "detected":
      return {
        type: result.type,
        ambivalent: false,
        usage: result.usage === "filesystem" ? null : result.usage,
        unrecognised: null,
        from: `blkid -p ${shown}: TYPE=${result.type}`,
      };
    case "unrecognised":
      return { type: null, ambivalent: false, usage: null, unrecognised: { kind: "no-signature", path: shown }, from: `blkid -p ${shown}: no filesystem` };
    case "partition-table":
      return {
        type: null,
        ambivalent: false,
        usage: null,
        unrecognised: { kind: "partition-table", path: shown, ptType: result.ptType },
        from: `blkid -p ${shown}: PTTYPE=${result.ptType}`,
      };
    case "ambivalent":
      return { type: null, ambivalent: true, usage: null, unrecognised: null, from: `blkid -p ${shown}: more than one filesystem signature` };
  }
}

function normaliseMountPoint(value: string): string {
  return value.length > 1 ? value.replace(/\/+$/, "") : value;
}

/** The type etc/fstab or a mount unit gives a mount point (or a source), probing the device when it says "auto". */
async function fromMountConfig(ctx: Context, mountPoint: string, asTyped: string): Promise<Identified | null> {
  const matches = (value: string | null): boolean => value !== null && (normaliseMountPoint(value) === mountPoint || value === asTyped);
  for (const entry of readFstab(ctx.fs)) {
    if (!matches(entry.target) && !matches(entry.source)) continue;
    const described = `${entry.where}: ${entry.source} ${entry.target} ${entry.fstype}`;
    if (entry.types.length > 0) return { type: entry.types[0]!, ambivalent: false, usage: null, unrecognised: null, from: described };
    return probeSource(ctx, entry.source, described);
  }
  for (const unit of readMountUnits(ctx.fs)) {
    if (!matches(unit.where) && !matches(unit.what)) continue;
    const described = `${unit.path}: What=${unit.what ?? ""} Where=${unit.where ?? ""}${unit.type === null ? "" : ` Type=${unit.type}`}`;
    if (unit.type !== null && unit.type !== "auto") return { type: unit.type, ambivalent: false, usage: null, unrecognised: null, from: described };
    if (unit.what === null) return null;
    return probeSource(ctx, unit.what, described);
  }
  return null;
}

/** fstab's "auto": find the device under the root (UUID=, LABEL=, ... through dev/disk/by-*) and probe it. */
async function probeSource(ctx: Context, source: string, described: string): Promise<Identified> {
  const tag = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.+)$/.exec(source);
  const devicePath = tag ? `dev/disk/by-${tag[1]!.toLowerCase()}/${tag[2]!.replace(/^"(.*)"$/, "$1")}` : source.startsWith("/") ? source : null;
  const resolved = devicePath === null ? null : ctx.fs.resolve(devicePath);
  if (resolved === null || resolved.kind === "dangling" || resolved.kind === "directory") {
    throw new UsageError(`${described}: no type given, and the device ${source} is not present to probe`, "give the type with --type");
  }
  const probed = await probe(source, resolved.hostPath);
  return { ...probed, from: `${described}; ${probed.from}` };
}

/** Turns kmod's resolution of fs-T into what the diagnosis needs, with the deciding lines as text. */
export function outcomeOf(resolution: Resolution, entries: readonly ConfigEntry[], cmdline: string | null): ModprobeOutcome {
  if (resolution.modules.length === 0) return { kind: "no-module" };
  const usable = resolution.modules.find((m) => m.result !== "blocked");
  if (usable !== undefined) {
    return usable.result === "in-kernel" ? { kind: "in-kernel", module: usable.module, builtin: usable.builtin } : { kind: "loads", module: usable.module };
  }
  const first = resolution.modules[0]!;
  const block = first.block!;
  switch (block.cause) {
    case "blacklisted":
    case "cmdline-blacklisted": {
      if (block.source === null) return { kind: "kernel-blacklisted", module: first.module, refused: block.module };
      const lines = entries
        .filter((e) => e.kind === "blacklist" && resolution.modules.some((m) => m.module === e.module))
        .map((e) => configLine(e.source, entries, cmdline, e.kind === "blacklist" ? e.module : ""));
      return { kind: "blacklisted", module: first.module, lines };
    }
    case "install-blocked":
      return { kind: "install-blocked", module: first.module, line: configLine(block.source!, entries, cmdline, block.module) };
    case "dependency-blocked":
      return { kind: "dependency-blocked", module: first.module, dependency: block.module, line: configLine(block.source!, entries, cmdline, block.module) };
    case "module-missing":
      return { kind: "module-missing", module: first.module, missing: block.module };
  }
}

/** "file:line" and the line as kmod understood it; for the command line, the token itself. */
function configLine(source: Source, entries: readonly ConfigEntry[], cmdline: string | null, module: string): ConfigLine {
  if (source.file === "proc/cmdline") {
    const token = (cmdline ?? "").split(/\s+/).find((word) => word.startsWith("modprobe.blacklist=") && word.slice(19).split(",").includes(module));
    return { where: "proc/cmdline", text: token ?? `modprobe.blacklist=${module}` };
  }
  const entry = entries.find((e) => e.source.file === source.file && e.source.line === source.line);
  const text =
    entry === undefined
      ? ""
      : entry.kind === "blacklist"
        ? `blacklist ${entry.module}`
        : entry.kind === "install"
          ? `install ${entry.module} ${entry.command}`
          : "";
  return { where: `${source.file}:${source.line}`, text: Buffer.from(text, "latin1").toString("utf8") };
}

/**
 * Whether `fsblacklist allow` lifts the blacklist lines in files: it writes the
 * fragment's name into the admin directory, which masks every same-named file,
 * unless the admin already has a file of that name (never touched).
 */
function allowLifts(ctx: Context, outcome: ModprobeOutcome): { lifts: true } | { lifts: false; reason: string } {
  if (outcome.kind !== "blacklisted") return { lifts: true };
  for (const line of outcome.lines) {
    if (line.where === "proc/cmdline") continue;
    const file = line.where.replace(/:\d+$/, "");
    if (path.posix.basename(file) !== fragmentName(outcome.module)) {
      return { lifts: false, reason: `${line.where} is not an fsblacklist fragment: fsblacklist allow cannot lift it, so the fix comments that line out` };
    }
    const adminFile = path.posix.join(ctx.config.adminDir, fragmentName(outcome.module));
    if (!isOurs(ctx, adminFile)) {
      return { lifts: false, reason: `${adminFile} belongs to the administrator: fsblacklist never changes it, so the fix comments the line out` };
    }
  }
  return { lifts: true };
}

/** The admin file of that name is absent or carries our marker. */
function isOurs(ctx: Context, adminFile: string): boolean {
  const resolved = ctx.fs.resolve(adminFile);
  if (resolved.kind === "dangling") return true;
  if (resolved.kind !== "file") return false;
  return parseMarker(ctx.fs.readText(adminFile) ?? "") !== null;
}

function installLineIsOurs(ctx: Context, outcome: ModprobeOutcome): boolean {
  if (outcome.kind !== "install-blocked" && outcome.kind !== "dependency-blocked") return false;
  const owner = outcome.kind === "install-blocked" ? outcome.module : outcome.dependency;
  const file = outcome.line.where.replace(/:\d+$/, "");
  if (path.posix.basename(file) !== fragmentName(owner)) return false;
  return isOurs(ctx, path.posix.join(ctx.config.adminDir, fragmentName(owner)));
}

function loadPolicyEntry(ctx: Context, fstype: string, notes: string[]): PolicyEntry | null {
  try {
    return findEntry(loadPolicy(ctx.config.policyDir ?? shippedPolicyDir()), fstype);
  } catch (error) {
    if (!(error instanceof RuntimeFailure)) throw error;
    // The diagnosis stands without the policy; only removed-from-kernel needs it.
    notes.push(`the policy could not be read (${error.message.split("\n")[0]}): kernel ranges were not checked`);
    return null;
  }
}

function readOsRelease(ctx: Context): OsRelease | null {
  const text = ctx.fs.readText("etc/os-release") ?? ctx.fs.readText("usr/lib/os-release");
  return text === null ? null : parseOsRelease(text);
}
