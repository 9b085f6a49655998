// Whether an initramfs image is current: kmod inside it, reading the image's
// own copy of modprobe.d, must decide every filesystem the way kmod on the
// system decides it. And whether the image blocks a filesystem that it has to
// mount itself (the root, /usr, x-initrd.mount entries): then the system may
// not boot. Pure: both configurations and the module index are read elsewhere.

import type { ResolveFacts } from "../kmod/resolve.ts";
import { blacklistEntryFor, installBlocks, installEffect, installEntryFor, requestBlock, resolveFilesystemType } from "../kmod/resolve.ts";
import type { FsState } from "../model.ts";
import { normaliseModuleName } from "../kmod/module-name.ts";

export interface ComparedFilesystem {
  name: string;
  module: string;
  types: readonly string[];
  /** Its state on the system (status' word), for the message. */
  systemState: FsState | null;
}

export interface ImageDifference {
  name: string;
  module: string;
  /** "kept", "allowed", "blocked", ... on the system. */
  system: string;
  /** "blocked" or "loadable" in the image. */
  image: "blocked" | "loadable";
}

/** A mount the initramfs itself performs, from etc/fstab. */
export interface BootMount {
  target: string;
  types: readonly string[];
  where: string;
}

export interface BootBlock {
  type: string;
  target: string;
  where: string;
}

/**
 * Whether kmod with these facts refuses the kernel's request for the
 * filesystem (every one of its types). A module missing from the index is not
 * a block here: both sides share the index, the configuration is what differs.
 */
export function configBlocks(fs: { module: string; types: readonly string[] }, facts: ResolveFacts): boolean {
  if (facts.index !== null && fs.types.length > 0) {
    return fs.types.every((type) => {
      const block = requestBlock(resolveFilesystemType(type, facts));
      return block !== null && block.cause !== "module-missing";
    });
  }
  if (blacklistEntryFor(fs.module, facts.entries) !== null) return true;
  const install = installEntryFor(fs.module, facts.entries);
  return install !== null && installBlocks(installEffect(install.command, fs.module));
}

/**
 * The filesystems kmod in the image decides otherwise than kmod on the system, by name:
 * those listed, and every other filesystem module (one with an `fs-<type>` alias in
 * the index) that a blacklist or install line names on either side. An image built
 * under another profile blocks that profile's filesystems, which the current
 * profile's list does not name (cis-l2's squashfs after a change back to default).
 */
export function compareImage(filesystems: readonly ComparedFilesystem[], system: ResolveFacts, image: ResolveFacts): ImageDifference[] {
  const differences: ImageDifference[] = [];
  for (const fs of [...filesystems, ...namedFilesystems(filesystems, system, image)]) {
    const onSystem = configBlocks(fs, system);
    const inImage = configBlocks(fs, image);
    if (onSystem === inImage) continue;
    const systemWord = fs.systemState ?? (onSystem ? "blocked" : "allowed");
    differences.push({ name: fs.name, module: fs.module, system: systemWord, image: inImage ? "blocked" : "loadable" });
  }
  return differences;
}

/** Filesystem modules not in `listed` that a blacklist or install line of either configuration names, with their types from the index. */
function namedFilesystems(listed: readonly ComparedFilesystem[], system: ResolveFacts, image: ResolveFacts): ComparedFilesystem[] {
  const index = system.index ?? image.index;
  if (index === null) return [];
  const known = new Set(listed.map((fs) => normaliseModuleName(fs.module)));
  const named = new Set<string>();
  for (const facts of [system, image]) {
    for (const entry of facts.entries) {
      if (entry.kind !== "blacklist" && entry.kind !== "install") continue;
      const module = normaliseModuleName(entry.module);
      if (!known.has(module)) named.add(module);
    }
  }
  if (named.size === 0) return [];
  const types = new Map<string, string[]>();
  for (const { type, module } of index.filesystemAliases) if (named.has(module)) types.set(module, [...(types.get(module) ?? []), type]);
  return [...types].map(([module, served]) => ({ name: served[0]!, module, types: served, systemState: null }));
}

/** "stale: jfs kept on the system, blocked in the image" or "current". */
export function describeImage(differences: readonly ImageDifference[]): string {
  if (differences.length === 0) return "current";
  return `stale: ${differences.map((d) => `${d.name} ${d.system} on the system, ${d.image} in the image`).join("; ")}`;
}

/** The mounts of etc/fstab that the initramfs performs before the system's own modprobe.d is there. */
export function isBootMount(entry: { target: string; options: readonly string[]; noauto: boolean }): boolean {
  const target = entry.target.replace(/\/+$/, "") || "/";
  if (entry.options.includes("x-initrd.mount")) return true;
  return !entry.noauto && (target === "/" || target === "/usr");
}

/** The boot mounts whose type the image refuses to load. */
export function bootBlocks(mounts: readonly BootMount[], image: ResolveFacts): BootBlock[] {
  const blocks: BootBlock[] = [];
  for (const mount of mounts) {
    for (const type of mount.types) {
      const block = requestBlock(resolveFilesystemType(type, image));
      if (block !== null && block.cause !== "module-missing") blocks.push({ type, target: mount.target, where: mount.where });
    }
  }
  return blocks;
}

/** An image under boot/ as far as an owed rebuild goes: when it was written, and what comparing it said ("unread": listed only). */
export interface ImageSeen {
  modified: string | null;
  state: "current" | "stale" | "unreadable" | "unread";
}

/**
 * The owed rebuild (owed since `owedSince`) after looking at the images under
 * boot/: it is done when every image was written after that time and was not
 * found stale, or carries what the system enforces. No image shows no rebuild.
 */
export function rebuildStillOwed(owedSince: string | null, images: readonly ImageSeen[]): string | null {
  if (owedSince === null || images.length === 0) return owedSince;
  const since = Date.parse(owedSince);
  const done = images.every((image) => image.state === "current" || (image.state !== "stale" && image.modified !== null && Date.parse(image.modified) > since));
  return done ? null : owedSince;
}
