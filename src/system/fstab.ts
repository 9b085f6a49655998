// etc/fstab under the root: every entry counts, including `noauto` ones, because
// a filesystem someone mounts by hand or on demand must stay mountable too.

import type { RootFs } from "./root-fs.ts";
import { unescapeMountField } from "./kernel-state.ts";

export const FSTAB_PATH = "etc/fstab";

export interface FstabEntry {
  /** As written: "/dev/sda1", "UUID=...", "LABEL=...", "server:/export". */
  source: string;
  target: string;
  /** The type field; "auto" (or a list such as "ext4,vfat") means mount probes for it. */
  fstype: string;
  /** Candidate types: the comma-separated list, without "auto". */
  types: string[];
  options: string[];
  noauto: boolean;
  /** What the system needs it for: the root, /boot, the EFI system partition, or nothing special. */
  role: "root" | "boot" | "efi" | null;
  /** "etc/fstab:3". */
  where: string;
}

export function readFstab(fs: RootFs): FstabEntry[] {
  const text = fs.readText(FSTAB_PATH);
  return text === null ? [] : parseFstab(text, FSTAB_PATH);
}

export function parseFstab(text: string, file: string): FstabEntry[] {
  const entries: FstabEntry[] = [];
  text.split("\n").forEach((raw, i) => {
    const line = raw.trim();
    if (line === "" || line.startsWith("#")) return;
    const fields = line.split(/[ \t]+/);
    if (fields.length < 3) return;
    const source = unescapeMountField(fields[0]!);
    const target = unescapeMountField(fields[1]!);
    const fstype = fields[2]!;
    const options = (fields[3] ?? "defaults").split(",");
    entries.push({
      source,
      target,
      fstype,
      types: fstype.split(",").filter((t) => t !== "" && t !== "auto"),
      options,
      noauto: options.includes("noauto"),
      role: roleOf(target),
      where: `${file}:${i + 1}`,
    });
  });
  return entries;
}

function roleOf(target: string): FstabEntry["role"] {
  const normal = target.replace(/\/+$/, "") || "/";
  if (normal === "/") return "root";
  if (normal === "/boot") return "boot";
  if (normal === "/boot/efi" || normal === "/efi" || normal === "/boot/EFI") return "efi";
  return null;
}
