// The running kernel as seen under the root: what is loaded, which filesystem
// types are registered, what is mounted, and what limits module loading.

import type { RootFs } from "./root-fs.ts";
import { procIsForeign, runningRelease } from "./kernel-release.ts";
import { kernelModuleBlacklist } from "../kmod/cmdline.ts";

export interface Mount {
  /** Mount point, unescaped. */
  target: string;
  fstype: string;
  /** Mount source (device, "none", server:path), unescaped. */
  source: string;
  options: string;
  /** 1-based line in proc/self/mountinfo. */
  line: number;
}

export interface KernelState {
  /** A running kernel is visible under the root (its proc/ is there). */
  running: boolean;
  release: string | null;
  /** The kernel can load modules at all (proc/modules exists). */
  moduleSupport: boolean;
  /** proc/sys/kernel/modprobe names a helper; empty means the kernel never requests modules. */
  autoload: boolean;
  /** Loaded modules, with where we saw each ("proc/modules", "sys/module/x/initstate"). */
  loaded: Map<string, string>;
  /** Registered filesystem types (proc/filesystems). */
  registered: Set<string>;
  mounts: Mount[];
  cmdline: string | null;
  /** `module_blacklist=` on the command line: the kernel itself refuses these, by any route. */
  kernelBlacklist: string[];
}

export function readKernelState(fs: RootFs): KernelState {
  if (procIsForeign(fs)) return noRunningKernel();
  const running = fs.exists("proc/sys/kernel/osrelease") || fs.exists("proc/filesystems") || fs.exists("proc/self/mountinfo");
  const procModules = fs.readText("proc/modules");
  const moduleSupport = procModules !== null;

  const loaded = new Map<string, string>();
  for (const line of (procModules ?? "").split("\n")) {
    const name = line.split(" ")[0];
    if (name) loaded.set(name, "proc/modules");
  }
  for (const entry of fs.listDir("sys/module") ?? []) {
    if (loaded.has(entry.name)) continue;
    // Built-in modules have a directory here too, but no initstate.
    const state = fs.readText(`sys/module/${entry.name}/initstate`);
    if (state?.trim() === "live" || state?.trim() === "coming") loaded.set(entry.name, `sys/module/${entry.name}/initstate`);
  }

  const registered = new Set<string>();
  for (const line of (fs.readText("proc/filesystems") ?? "").split("\n")) {
    const type = line.split("\t")[1]?.trim();
    if (type) registered.add(type);
  }

  const helper = fs.readText("proc/sys/kernel/modprobe");
  const cmdline = fs.readBytes("proc/cmdline")?.toString("latin1") ?? null;

  return {
    running,
    release: runningRelease(fs),
    moduleSupport,
    autoload: moduleSupport && (helper === null || helper.trim() !== ""),
    loaded,
    registered,
    mounts: parseMountinfo(fs.readText("proc/self/mountinfo") ?? ""),
    cmdline,
    kernelBlacklist: cmdline === null ? [] : kernelModuleBlacklist(cmdline),
  };
}

function noRunningKernel(): KernelState {
  return {
    running: false,
    release: null,
    moduleSupport: false,
    autoload: false,
    loaded: new Map(),
    registered: new Set(),
    mounts: [],
    cmdline: null,
    kernelBlacklist: [],
  };
}

/** Undoes the kernel's octal escapes in mountinfo fields (\040 space, \011 tab, \012 newline, \134 backslash). */
export function unescapeMountField(field: string): string {
  return field.replace(/\\([0-7]{3})/g, (_, octal: string) => String.fromCharCode(parseInt(octal, 8)));
}

export function parseMountinfo(text: string): Mount[] {
  const mounts: Mount[] = [];
  text.split("\n").forEach((line, i) => {
    const fields = line.split(" ");
    const separator = fields.indexOf("-", 6);
    if (separator < 0 || fields.length < separator + 3) return;
    mounts.push({
      target: unescapeMountField(fields[4]!),
      fstype: unescapeMountField(fields[separator + 1]!),
      source: unescapeMountField(fields[separator + 2]!),
      options: fields[separator + 3] ?? "",
      line: i + 1,
    });
  });
  return mounts;
}
