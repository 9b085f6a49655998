// What is on a device or image file, as util-linux `blkid` sees it. The one
// place that runs blkid. `-p` probes the bytes directly (no cache, no udev), so
// it works on plain image files without a loop device.

import { RuntimeFailure, errnoCode } from "../errors.ts";

export type BlkidProbe =
  /** TYPE found; usage is blkid's USAGE (filesystem, raid, crypto, other). */
  | { kind: "detected"; type: string; usage: string | null; fields: Record<string, string> }
  /** A partition table and no filesystem at the start: a whole disk, not a filesystem. */
  | { kind: "partition-table"; ptType: string }
  /** blkid exit 2: nothing it recognises. */
  | { kind: "unrecognised" }
  /** blkid exit 8: more than one signature (mount says "more filesystems detected"). */
  | { kind: "ambivalent" };

// blkid(8) exit codes.
const EXIT_NOTHING_FOUND = 2;
const EXIT_AMBIVALENT = 8;

// Debian and others keep blkid in sbin, which an ordinary user's PATH may lack.
const BLKID_CANDIDATES = ["blkid", "/usr/sbin/blkid", "/sbin/blkid"];

/** Probes a host path (the caller has checked that it exists and can be read). */
export async function probeDevice(hostPath: string): Promise<BlkidProbe> {
  const { execa } = await import("execa");
  for (const blkid of BLKID_CANDIDATES) {
    const result = await execa(blkid, ["-p", "-o", "export", "--", hostPath], {
      reject: false,
      stdin: "ignore",
      encoding: "utf8",
      env: { LC_ALL: "C" },
    });
    if (result.exitCode === undefined) {
      if (errnoCode(result.cause) === "ENOENT") continue;
      throw new RuntimeFailure(`cannot run blkid: ${result.shortMessage}`, "name the type with --type");
    }
    if (result.exitCode === EXIT_NOTHING_FOUND) return { kind: "unrecognised" };
    if (result.exitCode === EXIT_AMBIVALENT) return { kind: "ambivalent" };
    if (result.exitCode !== 0) {
      const detail = result.stderr.trim() || `exit status ${result.exitCode}`;
      throw new RuntimeFailure(`blkid -p ${hostPath} failed: ${detail}`, "name the type with --type");
    }
    return interpretExport(result.stdout);
  }
  throw new RuntimeFailure("cannot run blkid: it is not installed", "install util-linux (blkid), or name the type with --type");
}

/** Turns `blkid -o export` output into a probe result. */
export function interpretExport(stdout: string): BlkidProbe {
  const fields = parseExport(stdout);
  const type = fields["TYPE"];
  if (type !== undefined && type !== "") {
    return { kind: "detected", type, usage: fields["USAGE"] ?? null, fields };
  }
  const ptType = fields["PTTYPE"];
  if (ptType !== undefined && ptType !== "") return { kind: "partition-table", ptType };
  return { kind: "unrecognised" };
}

/** KEY=value lines; blkid escapes spaces and other specials in values with a backslash. */
export function parseExport(stdout: string): Record<string, string> {
  const fields: Record<string, string> = {};
  for (const line of stdout.split("\n")) {
    const eq = line.indexOf("=");
    if (eq <= 0) continue;
    fields[line.slice(0, eq)] = line.slice(eq + 1).replace(/\\(.)/g, "$1");
  }
  return fields;
}
