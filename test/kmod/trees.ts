// Small hand-written fake roots for the kmod unit tests, and the model run on them.

import * as fs from "node:fs";
import * as path from "node:path";
import { makeScratchDir } from "../helpers/tree-generator.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { readEffectiveConfig } from "../../src/system/modprobe-config.ts";
import { runningRelease } from "../../src/system/kernel-release.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { renderModprobeC, type EffectiveConfig } from "../../src/kmod/effective-config.ts";

/** A file's bytes (a binary string, written as latin1), a symbolic link, or a directory. */
export type TreeNode = string | { link: string } | { dir: true };

/**
 * Writes a tree; entries are created in the given order (which decides readdir
 * order on some file systems). Returns its root; remove it with `removeTree`.
 */
export function writeTree(spec: Record<string, TreeNode>): string {
  const root = makeScratchDir("fsb-kmod-");
  fs.chmodSync(root, 0o755);
  for (const [rel, node] of Object.entries(spec)) {
    const target = path.join(root, rel);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    if (typeof node === "string") fs.writeFileSync(target, Buffer.from(node, "latin1"));
    else if ("link" in node) fs.symlinkSync(node.link, target);
    else fs.mkdirSync(target, { recursive: true });
  }
  return root;
}

export function removeTree(root: string): void {
  fs.rmSync(root, { recursive: true, force: true });
}

/** The model with the rules of kmod `version`: `modprobe -c`'s text (latin1) and the diagnostics. */
export function modelAt(root: string, version: number): { text: string; config: EffectiveConfig; problems: string[] } {
  const rootFs = new RootFs(root);
  const config = readEffectiveConfig(rootFs, { behaviour: kmodBehaviour(version), release: runningRelease(rootFs), cmdline: true });
  const problems = config.diagnostics.map((d) => `${d.file}${d.line !== undefined ? `:${d.line}` : ""}: ${d.message}`);
  return { text: renderModprobeC(config), config, problems };
}
