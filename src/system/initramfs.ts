// The initramfs carries its own copy of modprobe.d (dracut, initramfs-tools and
// mkinitcpio all copy it), so when the effective blacklist changes the copy is
// stale until the distribution's own tool rebuilds it.

import * as fs from "node:fs";
import type { RootFs } from "./root-fs.ts";

export interface InitramfsTool {
  name: "update-initramfs" | "dracut" | "mkinitcpio";
  /** Root-relative path of the executable. */
  path: string;
  /** Arguments that rebuild the images of every installed kernel. */
  args: string[];
}

// Debian's update-initramfs first: on Debian it is the interface even where
// dracut builds the images.
const TOOLS: readonly { name: InitramfsTool["name"]; paths: string[]; args: string[] }[] = [
  { name: "update-initramfs", paths: ["usr/sbin/update-initramfs", "sbin/update-initramfs"], args: ["-u", "-k", "all"] },
  { name: "dracut", paths: ["usr/bin/dracut", "usr/sbin/dracut", "sbin/dracut", "bin/dracut"], args: ["--regenerate-all", "--force"] },
  { name: "mkinitcpio", paths: ["usr/bin/mkinitcpio", "usr/sbin/mkinitcpio"], args: ["-P"] },
];

/** The distribution's initramfs tool installed under the root, or null. */
export function detectInitramfsTool(rootFs: RootFs): InitramfsTool | null {
  for (const tool of TOOLS) {
    for (const candidate of tool.paths) {
      const found = rootFs.resolve(candidate);
      if (found.kind === "file" && isExecutable(found.hostPath)) return { name: tool.name, path: candidate, args: tool.args };
    }
  }
  return null;
}

/**
 * The command that rebuilds the images for the system under the root: the tool
 * itself on the running system, the tool inside `chroot ROOT` for another root
 * (its own libraries and configuration, never the host's).
 */
export function initramfsCommand(rootFs: RootFs, tool: InitramfsTool): string[] {
  const inside = [`/${tool.path}`, ...tool.args];
  return rootFs.isHostRoot ? inside : ["chroot", rootFs.root, ...inside];
}

export type RegenerateResult = { ok: true } | { ok: false; message: string };

/** Runs the command; its output is returned on failure (stdout stays ours for --json). */
export async function regenerateInitramfs(command: readonly string[]): Promise<RegenerateResult> {
  const { execa } = await import("execa");
  const [file, ...args] = command;
  const result = await execa(file!, args, { reject: false, stdin: "ignore", all: true, timeout: 15 * 60_000 });
  if (result.exitCode === 0) return { ok: true };
  const output = (result.all ?? "").trim().split("\n").slice(-5).join("\n");
  const why = result.exitCode === undefined ? (result.originalMessage ?? result.shortMessage) : `exit ${result.exitCode}`;
  return { ok: false, message: `${command.join(" ")} failed (${why})${output ? `:\n${output}` : ""}` };
}

function isExecutable(hostPath: string): boolean {
  try {
    fs.accessSync(hostPath, fs.constants.X_OK);
    return true;
  } catch {
    return false;
  }
}
