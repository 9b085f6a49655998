// systemd .mount units under the root: What= and Type= of each [Mount] section.
// Units in etc/ replace same-named units in usr/lib/ (and lib/), as systemd does.

import type { RootFs } from "./root-fs.ts";

export const MOUNT_UNIT_DIRS = ["etc/systemd/system", "usr/lib/systemd/system", "lib/systemd/system"] as const;

export interface MountUnit {
  /** Root-relative path of the unit file. */
  path: string;
  what: string | null;
  where: string | null;
  /** Type=, or null when systemd lets mount probe the type. */
  type: string | null;
}

export function readMountUnits(fs: RootFs): MountUnit[] {
  const seen = new Set<string>();
  const units: MountUnit[] = [];
  for (const dir of MOUNT_UNIT_DIRS) {
    for (const entry of fs.listDir(dir) ?? []) {
      if (!entry.name.endsWith(".mount") || seen.has(entry.name)) continue;
      seen.add(entry.name);
      if (entry.kind !== "file") continue; // a link to /dev/null masks the unit
      const path = `${dir}/${entry.name}`;
      const text = fs.readText(path);
      if (text !== null) units.push({ path, ...parseMountUnit(text) });
    }
  }
  return units;
}

export function parseMountUnit(text: string): Omit<MountUnit, "path"> {
  const unit: Omit<MountUnit, "path"> = { what: null, where: null, type: null };
  let section = "";
  for (const raw of text.replace(/\\\n/g, " ").split("\n")) {
    const line = raw.trim();
    if (line === "" || line.startsWith("#") || line.startsWith(";")) continue;
    const header = /^\[(.+)\]$/.exec(line);
    if (header) {
      section = header[1]!;
      continue;
    }
    if (section !== "Mount") continue;
    const match = /^(What|Where|Type)\s*=\s*(.*)$/.exec(line);
    if (!match) continue;
    const value = match[2]!.trim();
    // An empty assignment resets the setting; a later one overrides.
    const key = match[1] === "What" ? "what" : match[1] === "Where" ? "where" : "type";
    unit[key] = value === "" ? null : value;
  }
  return unit;
}
