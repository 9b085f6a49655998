// What a device, image or mount point named to `explain` holds: blkid on the
// device or image (a path on the host, like --config: what the admin tried to
// mount), or else the type etc/fstab or a mount unit under the root gives that
// mount point, probing the device it names (UUID=, LABEL=, ...) for "auto".

import * as nodeFs from "node:fs";
import * as path from "node:path";
import { UsageError, errnoCode } from "../errors.ts";
import { probeDevice, type BlkidProbe } from "./blkid.ts";
import { readFstab } from "./fstab.ts";
import { readMountUnits } from "./mount-units.ts";
import type { RootFs } from "./root-fs.ts";

/** Why no type was found: no signature, or a partition table where a filesystem was expected. */
export type Unrecognised = { kind: "no-signature"; path: string } | { kind: "partition-table"; path: string; ptType: string };

export interface Identified {
  type: string | null;
  /** blkid saw more than one signature (only a given type can settle it). */
  ambivalent: boolean;
  usage: string | null;
  unrecognised: Unrecognised | null;
  from: string;
}

/** A device or image on the host, or else a mount point known to the root's fstab or mount units. */
export async function identifyTarget(fs: RootFs, target: string, cwd: string): Promise<Identified> {
  const hostPath = path.resolve(cwd, target);
  let stat: nodeFs.Stats | null = null;
  try {
    stat = nodeFs.statSync(hostPath);
  } catch (error) {
    if (errnoCode(error) !== "ENOENT" && errnoCode(error) !== "ENOTDIR") throw new UsageError(`${target}: ${errnoCode(error) ?? String(error)}`);
  }
  if (stat !== null && !stat.isDirectory()) return probe(target, hostPath);

  const mountPoint = fs.isHostRoot ? hostPath : path.posix.resolve("/", target);
  const known = await fromMountConfig(fs, normaliseMountPoint(mountPoint), normaliseMountPoint(target));
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
async function fromMountConfig(fs: RootFs, mountPoint: string, asTyped: string): Promise<Identified | null> {
  const matches = (value: string | null): boolean => value !== null && (normaliseMountPoint(value) === mountPoint || value === asTyped);
  for (const entry of readFstab(fs)) {
    if (!matches(entry.target) && !matches(entry.source)) continue;
    const described = `${entry.where}: ${entry.source} ${entry.target} ${entry.fstype}`;
    if (entry.types.length > 0) return { type: entry.types[0]!, ambivalent: false, usage: null, unrecognised: null, from: described };
    return probeSource(fs, entry.source, described);
  }
  for (const unit of readMountUnits(fs)) {
    if (!matches(unit.where) && !matches(unit.what)) continue;
    const described = `${unit.path}: What=${unit.what ?? ""} Where=${unit.where ?? ""}${unit.type === null ? "" : ` Type=${unit.type}`}`;
    if (unit.type !== null && unit.type !== "auto") return { type: unit.type, ambivalent: false, usage: null, unrecognised: null, from: described };
    if (unit.what === null) return null;
    return probeSource(fs, unit.what, described);
  }
  return null;
}

/** fstab's "auto": find the device under the root (UUID=, LABEL=, ... through dev/disk/by-*) and probe it. */
async function probeSource(fs: RootFs, source: string, described: string): Promise<Identified> {
  const tag = /^(UUID|LABEL|PARTUUID|PARTLABEL)=(.+)$/.exec(source);
  const devicePath = tag ? `dev/disk/by-${tag[1]!.toLowerCase()}/${tag[2]!.replace(/^"(.*)"$/, "$1")}` : source.startsWith("/") ? source : null;
  const resolved = devicePath === null ? null : fs.resolve(devicePath);
  if (resolved === null || resolved.kind === "dangling" || resolved.kind === "directory") {
    throw new UsageError(`${described}: no type given, and the device ${source} is not present to probe`, "give the type with --type");
  }
  const probed = await probe(source, resolved.hostPath);
  return { ...probed, from: `${described}; ${probed.from}` };
}
