// Shared by the explain tests: the captured mount messages and real filesystem
// images made with the mkfs tools.

import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readFileSync, rmSync, truncateSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { assertJsonOutput } from "../helpers/json-schemas.ts";

export const FIXTURES = new URL("../fixtures/mount-messages/", import.meta.url);

/** A captured fixture: its header fields and mount's output after them. */
export function readMountFixture(name: string): { command: string; exit: number; text: string } {
  const raw = readFileSync(new URL(`${name}.txt`, FIXTURES), "utf8");
  const lines = raw.split("\n");
  const header = new Map<string, string>();
  while (lines[0]?.startsWith("# ")) {
    const [key, ...rest] = lines.shift()!.slice(2).split(": ");
    header.set(key!, rest.join(": "));
  }
  return { command: header.get("command")!, exit: Number(header.get("exit")), text: lines.join("\n") };
}

/** Filesystem images made with the real mkfs tools, in one temporary directory. */
export interface Images {
  dir: string;
  /** Host path of <name>.img; absent when its tool is not installed. */
  path(name: ImageName): string;
  has(name: ImageName): boolean;
  cleanup(): void;
}

export type ImageName = "minix" | "vfat" | "ext4" | "cramfs" | "squashfs" | "iso9660" | "jfs" | "f2fs" | "udf" | "erofs" | "random";

/** mkfs command lines per image; `content` is a directory with one file, `img` the image path. */
const RECIPES: Record<ImageName, { tool: string; size?: string; run: (img: string, content: string) => string[] }> = {
  minix: { tool: "mkfs.minix", size: "4M", run: (img) => ["mkfs.minix", img] },
  vfat: { tool: "mkfs.vfat", size: "4M", run: (img) => ["mkfs.vfat", img] },
  ext4: { tool: "mkfs.ext4", size: "4M", run: (img) => ["mkfs.ext4", "-q", "-F", img] },
  cramfs: { tool: "mkfs.cramfs", run: (img, content) => ["mkfs.cramfs", content, img] },
  squashfs: { tool: "mksquashfs", run: (img, content) => ["mksquashfs", content, img, "-quiet", "-noappend", "-no-progress"] },
  iso9660: { tool: "genisoimage", run: (img, content) => ["genisoimage", "-quiet", "-o", img, content] },
  jfs: { tool: "mkfs.jfs", size: "16M", run: (img) => ["mkfs.jfs", "-q", img] },
  f2fs: { tool: "mkfs.f2fs", size: "64M", run: (img) => ["mkfs.f2fs", "-q", img] },
  udf: { tool: "mkudffs", size: "4M", run: (img) => ["mkudffs", img] },
  erofs: { tool: "mkfs.erofs", run: (img, content) => ["mkfs.erofs", "--quiet", img, content] },
  random: { tool: "head", run: () => [] },
};

const SBIN_PATH = `${process.env["PATH"] ?? ""}:/usr/local/sbin:/usr/sbin:/sbin`;

export function makeImages(): Images {
  const dir = mkdtempSync(join(tmpdir(), "fsblacklist-images-"));
  const content = join(dir, "content");
  mkdirSync(content);
  writeFileSync(join(content, "hello.txt"), "hello\n");
  const made = new Set<ImageName>();
  try {
    makeEach(dir, content, made);
  } catch (error) {
    rmSync(dir, { recursive: true, force: true });
    throw error;
  }
  return {
    dir,
    path: (name) => join(dir, `${name}.img`),
    has: (name) => made.has(name),
    cleanup: () => rmSync(dir, { recursive: true, force: true }),
  };
}

function makeEach(dir: string, content: string, made: Set<ImageName>): void {
  for (const [name, recipe] of Object.entries(RECIPES) as [ImageName, (typeof RECIPES)[ImageName]][]) {
    const img = join(dir, `${name}.img`);
    if (name === "random") {
      // Fixed pseudo-random bytes: no filesystem signature anywhere in them.
      const bytes = Buffer.alloc(1 << 20);
      let x = 0x2545f491;
      for (let i = 0; i < bytes.length; i++) {
        x ^= x << 13;
        x ^= x >>> 17;
        x ^= x << 5;
        bytes[i] = x & 0xff;
      }
      writeFileSync(img, bytes);
      made.add(name);
      continue;
    }
    if (spawnSync("sh", ["-c", `command -v ${recipe.tool}`], { env: { ...process.env, PATH: SBIN_PATH } }).status !== 0) continue;
    if (recipe.size !== undefined) {
      writeFileSync(img, "");
      truncateSync(img, sizeInBytes(recipe.size));
    }
    const [command, ...args] = recipe.run(img, content);
    const result = spawnSync(command!, args, { env: { ...process.env, PATH: SBIN_PATH }, encoding: "utf8" });
    if (result.status !== 0) throw new Error(`${command} ${args.join(" ")} failed: ${result.stderr}`);
    made.add(name);
  }
}

function sizeInBytes(size: string): number {
  return Number(size.slice(0, -1)) * 1024 * 1024;
}

export interface RunResult {
  status: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the command in this process through main(), the way bin/ does, but with
 * captured output: most explain tests need no fresh Node.js process each.
 */
export async function runInProcess(args: readonly string[]): Promise<RunResult> {
  const { main } = await import("../../src/main.ts");
  let stdout = "";
  let stderr = "";
  const text = (chunk: string | Uint8Array): string => (typeof chunk === "string" ? chunk : Buffer.from(chunk).toString("utf8"));
  const status = await main(args, {
    stdout: { write: (chunk) => void (stdout += text(chunk)), isTTY: false },
    stderr: { write: (chunk) => void (stderr += text(chunk)), isTTY: false },
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", NO_COLOR: "1" },
    uid: 0,
  });
  assertJsonOutput(args, stdout, status);
  return { status, stdout, stderr };
}
