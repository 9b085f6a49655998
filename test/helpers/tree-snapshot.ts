// A fingerprint of a directory tree: two equal snapshots mean nothing in it was
// touched (type, mode, size, mtime and content hash of files; link targets).

import { createHash } from "node:crypto";
import * as fs from "node:fs";
import * as path from "node:path";

export function snapshotTree(dir: string): Map<string, string> {
  const out = new Map<string, string>();
  const walk = (rel: string): void => {
    const full = path.join(dir, rel);
    const stat = fs.lstatSync(full);
    const mode = (stat.mode & 0o7777).toString(8);
    if (stat.isSymbolicLink()) out.set(rel, `link -> ${fs.readlinkSync(full)}`);
    else if (stat.isDirectory()) {
      out.set(rel, `dir ${mode}`);
      for (const name of fs.readdirSync(full).sort()) walk(path.posix.join(rel, name));
    } else if (stat.isFile()) {
      out.set(rel, `file ${mode} ${stat.size} ${stat.mtimeMs} ${createHash("sha256").update(fs.readFileSync(full)).digest("hex")}`);
    } else out.set(rel, `special ${mode}`);
  };
  walk(".");
  return out;
}

/** What differs between two snapshots, one line per path (empty: identical). */
export function treeDiff(before: Map<string, string>, after: Map<string, string>): string[] {
  const lines: string[] = [];
  for (const [rel, facts] of before) {
    const now = after.get(rel);
    if (now === undefined) lines.push(`removed ${rel} (${facts})`);
    else if (now !== facts) lines.push(`changed ${rel}: ${facts} -> ${now}`);
  }
  for (const [rel, facts] of after) if (!before.has(rel)) lines.push(`added ${rel} (${facts})`);
  return lines;
}
