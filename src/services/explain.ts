// `explain`: gathers the facts about one filesystem type (which type: the
// options, mount's message, or system/mount-target.ts; what kmod and the running
// kernel would do with it; what the policy says) and hands them to
// decide/modprobe-outcome.ts and decide/diagnose.ts.

import type { Context } from "../context.ts";
import { RuntimeFailure, UsageError } from "../errors.ts";
import { diagnose, isKnownType, type Diagnosis, type ModprobeOutcome, type Unrecognised } from "../decide/diagnose.ts";
import { judgedKernel } from "../decide/judged-kernel.ts";
import { adminFileFor, allowLifts, installLineIsOurs, outcomeOf, requestedType } from "../decide/modprobe-outcome.ts";
import { parseOsRelease, type OsRelease } from "../decide/module-packages.ts";
import { parseMountMessage, usualMeaning } from "../decide/mount-message.ts";
import { filesystemProviders } from "../kmod/module-index.ts";
import { resolveFilesystemType } from "../kmod/resolve.ts";
import { findEntry, loadPolicy, shippedPolicyDir, type PolicyEntry } from "../policy/policy.ts";
import { readKernelState } from "../system/kernel-state.ts";
import { readEffectiveConfig } from "../system/modprobe-config.ts";
import { readModuleIndex } from "../system/module-index-files.ts";
import { identifyTarget } from "../system/mount-target.ts";
import { readOverrideFile } from "../system/override-file.ts";
import { availabilityOn, installedKernels, kernelFacts } from "./kernels.ts";
import { kernelHasFilesystem } from "../decide/kernel-availability.ts";
import { behaviourFor } from "./modprobe-config.ts";
import { moduleInstallLines, type InstallLineReport } from "./foreign-install.ts";
import { configInputs } from "../system/modprobe-config.ts";
import { planFix, type FixStep } from "../decide/fix-plan.ts";
import type { SystemNow } from "../decide/simulate.ts";
import { requestBlockers } from "../kmod/blockers.ts";
import type { ModuleIndex } from "../kmod/module-index.ts";
import { firstLineOf, type ConfigEntry } from "../kmod/parse-config.ts";
import type { Resolution } from "../kmod/resolve.ts";
import { renderMarker } from "../policy/marker.ts";
import { otherDrivers, otherKernelTypes, type KernelDriverCheck, type OtherDriver } from "../decide/other-drivers.ts";
import { simulate } from "../decide/simulate.ts";

export interface ExplainInput {
  /** A device, image file or mount point, as typed. */
  target: string | null;
  type: string | null;
  message: string | null;
  /** Directory relative targets are taken from. */
  cwd: string;
}

export interface ExplainReport extends Diagnosis {
  /** The fix as simulated steps ("boot": the kernel command line the next boot gets). */
  fixSteps: FixStep[];
  /** The kernel release judged, null when none could be found. */
  kernel: string | null;
  /** How the type was found: "blkid -p disk.img: TYPE=minix", "etc/fstab:3", "--type", ... */
  typeFrom: string | null;
  mountError: { kind: string; line: string; meaning: string } | null;
  /** Facts the admin should know that are not evidence for the cause. */
  notes: string[];
  /** Every install line matching the module, in kmod's order, the one `modprobe MODULE` runs at the next boot marked. */
  installLines: InstallLineReport[];
  /** A softdep line that makes kmod set the module's install lines aside, or null. */
  installSetAsideBy: string | null;
  /** When this kernel has no driver for the type: other drivers for the same volumes (ntfs3, ntfs-3g for ntfs). */
  otherDrivers: OtherDriver[];
}

// Filesystem type names as mount(8) passes them; "fuse.sshfs" asks the kernel for "fuse".
// Never a leading '-': the type is echoed into commands we suggest (mount -t, modprobe).
const FSTYPE = /^[A-Za-z0-9_+][A-Za-z0-9_.+-]{0,55}$/;

export async function explain(ctx: Context, input: ExplainInput): Promise<ExplainReport> {
  if (input.target === null && input.type === null && input.message === null) {
    throw new UsageError(
      "name a device, image file or mount point, or give --type or --message",
      'e.g. fsblacklist explain /dev/sdb1, or fsblacklist explain --message "$(mount /dev/sdb1 /mnt 2>&1)"',
    );
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
    const found = await identifyTarget(ctx.fs, input.target, input.cwd);
    if (fstype === null) {
      if (found.ambivalent) {
        throw new UsageError(`${found.from}, and mount refuses to guess between them ("more filesystems detected")`, "name the type with --type (wipefs DEVICE lists the signatures)");
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
  const judged = judgedKernel(kernelFacts(ctx.fs, state), "this-boot");
  const release = state.running ? state.release : judged;
  if (!state.running) {
    notes.push(
      release === null
        ? "no running kernel and no kernel modules under the root: judged from the configuration alone"
        : `no running kernel under the root: judged for ${release}, the newest kernel installed there`,
    );
  }
  const index = judged === null ? null : readModuleIndex(ctx.fs, judged);
  const config = readEffectiveConfig(ctx.fs, { behaviour: behaviourFor(ctx), release: judged, cmdline: state.running });
  const policyEntry = fstype === null ? null : loadPolicyEntry(ctx, kernelType!, notes);

  let modprobe: ModprobeOutcome = { kind: "no-module" };
  const facts = { entries: config.entries, index, loaded: state.loaded, kernelBlacklist: state.kernelBlacklist };
  const { inputs } = configInputs(ctx.fs, { behaviour: behaviourFor(ctx), release, cmdline: state.running });
  const now: SystemNow = { inputs, index, loaded: state.loaded };
  // The module is live now but kmod will not load it at the next boot: the diagnosis is about then.
  let liveUntilBoot: string | null = null;
  if (kernelType !== null) {
    let resolution = resolveFilesystemType(kernelType, facts);
    // Loaded now is not loadable at the next boot: an fstab mount of a blacklisted filesystem fails then.
    const live = resolution.modules.find((m) => m.result === "in-kernel" && !m.builtin);
    if (live !== undefined) {
      const nextBoot = resolveFilesystemType(kernelType, { ...facts, loaded: new Set<string>() });
      if (nextBoot.modules.every((m) => m.result === "blocked")) {
        notes.push(`${live.module} is loaded now, so mounting works until the next boot; from the next boot on the kernel cannot load it: what follows is about then`);
        resolution = nextBoot;
        liveUntilBoot = live.module;
      }
    }
    modprobe = requestLineOutcome(resolution, config.entries, index, kernelType) ?? outcomeOf(resolution, config.entries, state.cmdline, behaviourFor(ctx));
  }

  // The override `allow` would write is absent or ours: then allow can lift what blocks.
  const adminFile = adminFileFor(modprobe, ctx.config.adminDir);
  const overrideFile = adminFile === null ? null : readOverrideFile(ctx.fs, adminFile);
  const adminFileIsOurs = overrideFile !== null && (overrideFile.kind === "none" || overrideFile.kind === "dangling" || overrideFile.marker !== null);

  if (kernelType !== fstype) notes.push(`mount -t ${fstype} asks the kernel for ${kernelType}`);
  const os = readOsRelease(ctx);
  const allowText = (module: string): string => renderMarker({ kind: "allow", module, reason: "allowed by the administrator (fsblacklist allow)", date: new Date().toISOString(), kernel: release });
  const policyModules = new Set(loadPolicyModules(ctx));
  const root = ctx.fs.isHostRoot ? "/" : ctx.fs.root;
  // The other drivers for the type on this kernel, each simulated like a fix: loads now, or the plan after which kmod loads it.
  const driverChecks = new Map<string, KernelDriverCheck>();
  for (const other of kernelType === null ? [] : otherKernelTypes(kernelType)) {
    const request = simulate(now).filesystem(other);
    if (!request.loads && (index === null || filesystemProviders(index, other).length === 0)) {
      driverChecks.set(other, { present: false, loads: false, plan: null, stuck: [] });
      continue;
    }
    const plan = request.loads ? null : planFix({ now, type: other, adminDir: ctx.config.adminDir, root, policyModules, allowText });
    driverChecks.set(other, {
      present: true,
      loads: request.loads,
      plan: plan === null ? [] : plan.verified ? plan.steps.map((step) => (step.kind === "boot" ? `# ${step.command}` : step.command)) : null,
      stuck: plan?.stuck ?? [],
    });
  }
  const drivers = kernelType === null ? [] : otherDrivers(kernelType, driverChecks, os, release);

  const diagnosis = diagnose({
    fstype: kernelType,
    unrecognised,
    usage,
    release,
    running: state.running,
    moduleSupport: state.moduleSupport,
    autoload: state.autoload,
    // Registered now only because the module is live: it will not be after the next boot.
    registered: liveUntilBoot === null && kernelType !== null && state.registered.has(kernelType),
    moduleIndex: index !== null,
    modprobe,
    kernelBlacklist: state.kernelBlacklist,
    policy:
      policyEntry === null
        ? null
        : { name: policyEntry.filesystems.includes(kernelType!) ? kernelType! : policyEntry.module, module: policyEntry.module, kernels: policyEntry.kernels, reason: policyEntry.reason },
    knownType: kernelType !== null && (isKnownType(kernelType) || (index !== null && filesystemProviders(index, kernelType).length > 0)),
    allow: allowLifts(modprobe, ctx.config.adminDir, adminFileIsOurs),
    installLineIsOurs: installLineIsOurs(modprobe, adminFileIsOurs),
    message,
    os,
    otherDrivers: drivers,
    otherKernels: kernelType === null ? [] : otherKernelsWith(ctx, release, kernelType, policyEntry),
  });

  const blocked = ["blacklisted", "install-blocked", "dependency-blocked", "cmdline-blacklisted"].includes(diagnosis.cause);
  if (liveUntilBoot !== null && blocked) {
    diagnosis.summary = `${kernelType} works now only because ${liveUntilBoot} is already loaded; from the next boot on it is blocked: ${lowerFirst(diagnosis.summary)}`;
  }
  let fixSteps: FixStep[] = [];
  if (blocked && kernelType !== null) {
    const plan = planFix({
      now,
      type: kernelType,
      adminDir: ctx.config.adminDir,
      root,
      policyModules,
      allowText,
    });
    fixSteps = plan.steps;
    diagnosis.fix = plan.steps.map((step) => (step.kind === "boot" ? `# ${step.command}` : step.command));
    diagnosis.once = plan.once;
    for (const blocker of plan.blockers) if (!diagnosis.evidence.some((e) => e.includes(blocker))) diagnosis.evidence.push(`in the way: ${blocker}`);
    if (!plan.verified) {
      diagnosis.advice = `No fix that fsblacklist can stand behind: with every line above taken away, kmod would still not load ${diagnosis.module ?? kernelType} (${plan.stuck.join("; ") || "the simulation does not get there"}).`;
    } else if (plan.steps.some((step) => step.kind === "boot")) {
      diagnosis.advice = `Take the steps in this order; the ones after the boot loader's change only work after the reboot.`;
    }
  }

  const installs = diagnosis.module === null ? { lines: [], setAsideBy: null } : moduleInstallLines(ctx, facts, diagnosis.module);
  return {
    ...diagnosis,
    fixSteps,
    kernel: release,
    typeFrom,
    mountError: message === null ? null : { kind: message.kind, line: message.line, meaning: usualMeaning(message) },
    notes,
    installLines: installs.lines,
    installSetAsideBy: installs.setAsideBy,
    otherDrivers: ["removed-from-kernel", "module-missing"].includes(diagnosis.cause) ? drivers : [],
  };
}

/** The installed kernels other than the judged one where the filesystem works. */
function otherKernelsWith(ctx: Context, judged: string | null, type: string, entry: PolicyEntry | null): { release: string; how: "module" | "built in" }[] {
  const found: { release: string; how: "module" | "built in" }[] = [];
  for (const kernel of installedKernels(ctx)) {
    if (kernel.release === judged) continue;
    const availability = availabilityOn(ctx, kernel, entry?.module ?? type, [type], entry);
    if (kernelHasFilesystem(availability)) found.push({ release: kernel.release, how: availability === "builtin" ? "built in" : "module" });
  }
  return found;
}

/**
 * A config line for the request itself that leads nowhere (`alias fs-jfs off`,
 * `install fs-jfs /bin/false`, `remove fs-jfs ...`) blocks like a blacklist
 * line: it is the administrator's switch, not a missing package.
 */
function requestLineOutcome(resolution: Resolution, entries: readonly ConfigEntry[], index: ModuleIndex | null, type: string): ModprobeOutcome | null {
  if (resolution.lookup !== "config-alias" && resolution.lookup !== "install-command" && resolution.lookup !== "remove-command") return null;
  if (resolution.modules.some((m) => m.result !== "blocked")) return null;
  const found = requestBlockers(resolution.request, { entries, index, loaded: new Set(), kernelBlacklist: [] });
  if (found.requestLines.length === 0) return null;
  const module = (index === null ? null : filesystemProviders(index, type)[0]) ?? type;
  const lines = found.requestLines.flatMap((line) =>
    line.kind === "request-line"
      ? [
          {
            where: `${line.source.file}:${firstLineOf(line.source)}`,
            text: line.directive === "alias" ? `alias ${line.pattern} ${line.target}` : `${line.directive} ${line.pattern}${line.command === undefined ? "" : ` ${line.command}`}`,
          },
        ]
      : [],
  );
  return { kind: "blacklisted", module, lines };
}

function loadPolicyModules(ctx: Context): string[] {
  try {
    return loadPolicy(ctx.config.policyDir ?? shippedPolicyDir()).entries.map((e) => e.module);
  } catch (error) {
    if (!(error instanceof RuntimeFailure)) throw error;
    return [];
  }
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

function lowerFirst(text: string): string {
  return /^[A-Z][a-z]/.test(text) ? text[0]!.toLowerCase() + text.slice(1) : text;
}

function readOsRelease(ctx: Context): OsRelease | null {
  const text = ctx.fs.readText("etc/os-release") ?? ctx.fs.readText("usr/lib/os-release");
  return text === null ? null : parseOsRelease(text);
}
