// The initramfs images as they are: each image under boot/ is read and kmod
// inside it (the image's own modprobe.d) is compared with kmod on the system.
// `status` reports each image current or stale; `apply` reports this
// measurement as initramfsStale wherever an image can be read.

import type { Context } from "../context.ts";
import { bootBlocks, compareImage, describeImage, isBootMount, type BootBlock, type ComparedFilesystem, type ImageDifference } from "../decide/initramfs-compare.ts";
import { buildEffectiveConfig, type EffectiveConfig } from "../kmod/effective-config.ts";
import type { ModuleIndex } from "../kmod/module-index.ts";
import type { ResolveFacts } from "../kmod/resolve.ts";
import { readFstab } from "../system/fstab.ts";
import { detectInitramfsTool, initramfsCommand, type InitramfsTool } from "../system/initramfs.ts";
import { InitramfsReadError, listInitramfsImages, readInitramfsImage, type InitramfsFile } from "../system/initramfs-image.ts";
import { readEffectiveConfig } from "../system/modprobe-config.ts";
import { readModuleIndex } from "../system/module-index-files.ts";
import { behaviourFor } from "./modprobe-config.ts";

export interface ImageReport {
  path: string;
  /** The kernel release the image is for (its name, or the modules inside it). */
  release: string | null;
  state: "current" | "stale" | "unreadable";
  /** When the image was written (ISO 8601). */
  modified: string | null;
  /** "current", "stale: jfs kept on the system, blocked in the image", or why it cannot be read. */
  summary: string;
  differences: ImageDifference[];
  /** Filesystems the image must mount itself (fstab's root, /usr, x-initrd.mount) that it refuses to load. */
  bootBlocked: BootBlock[];
  /** "none" for an uncompressed part (early microcode), then the compression of the rest. */
  parts: string[];
  /** The command that rebuilds this image. */
  rebuild: string | null;
}

export interface ImageCheckOptions {
  filesystems: readonly ComparedFilesystem[];
  /** Files as they will be after planned writes (apply --dry-run): the system side of the comparison. */
  overlay?: ReadonlyMap<string, string | null>;
}

export async function checkInitramfsImages(ctx: Context, options: ImageCheckOptions): Promise<ImageReport[]> {
  const files = listInitramfsImages(ctx.fs);
  if (files.length === 0) return [];
  const behaviour = behaviourFor(ctx);
  const tool = detectInitramfsTool(ctx.fs);
  const mounts = readFstab(ctx.fs)
    .filter(isBootMount)
    .map((entry) => ({ target: entry.target, types: entry.types, where: entry.where }));
  const systemByRelease = new Map<string | null, { config: EffectiveConfig; index: ModuleIndex | null }>();
  const systemFor = (release: string | null) => {
    let found = systemByRelease.get(release);
    if (found === undefined) {
      const index = release === null ? null : readModuleIndex(ctx.fs, release);
      // No kernel command line on either side: it is the same for the image and the system it boots.
      const config = readEffectiveConfig(ctx.fs, { behaviour, release: index === null ? null : release, cmdline: false, ...(options.overlay === undefined ? {} : { overlay: options.overlay }) });
      systemByRelease.set(release, (found = { config, index }));
    }
    return found;
  };

  const reports: ImageReport[] = [];
  for (const file of files) reports.push(await checkImage(ctx, file, { options, tool, mounts, systemFor, behaviour }));
  return reports;
}

async function checkImage(
  ctx: Context,
  file: InitramfsFile,
  with_: {
    options: ImageCheckOptions;
    tool: InitramfsTool | null;
    mounts: { target: string; types: string[]; where: string }[];
    systemFor: (release: string | null) => { config: EffectiveConfig; index: ModuleIndex | null };
    behaviour: ReturnType<typeof behaviourFor>;
  },
): Promise<ImageReport> {
  let image: Awaited<ReturnType<typeof readInitramfsImage>>;
  try {
    image = await readInitramfsImage(ctx.fs, file.path);
  } catch (error) {
    if (!(error instanceof InitramfsReadError)) throw error;
    const why = error.message.startsWith(`${file.path}: `) ? error.message.slice(file.path.length + 2) : error.message;
    return {
      path: file.path,
      release: file.release,
      state: "unreadable",
      modified: file.modified,
      summary: `unreadable: ${why}`,
      differences: [],
      bootBlocked: [],
      parts: [],
      rebuild: rebuildCommand(ctx, with_.tool, file.path, file.release),
    };
  }
  const release = file.release ?? image.tree.releases()[0] ?? null;
  const system = with_.systemFor(release);
  const imageConfig = buildEffectiveConfig(image.tree.configInputs(with_.behaviour, release));
  const facts = (config: EffectiveConfig): ResolveFacts => ({ entries: config.entries, index: system.index, loaded: new Set(), kernelBlacklist: [] });
  const differences = compareImage(with_.options.filesystems, facts(system.config), facts(imageConfig));
  return {
    path: file.path,
    release,
    state: differences.length === 0 ? "current" : "stale",
    modified: file.modified,
    summary: describeImage(differences),
    differences,
    bootBlocked: bootBlocks(with_.mounts, facts(imageConfig)),
    parts: image.parts,
    rebuild: rebuildCommand(ctx, with_.tool, file.path, release),
  };
}

/** The distribution tool's command for this one image (all images where the release is unknown). */
function rebuildCommand(ctx: Context, tool: InitramfsTool | null, imagePath: string, release: string | null): string | null {
  if (tool === null) return null;
  if (release === null || tool.name === "mkinitcpio") return initramfsCommand(ctx.fs, tool).join(" ");
  const args = tool.name === "update-initramfs" ? ["-u", "-k", release] : ["--force", `/${imagePath}`, release];
  return initramfsCommand(ctx.fs, { ...tool, args }).join(" ");
}
