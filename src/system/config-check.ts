// Settings that would make fsblacklist write where kmod reads configuration
// without meaning to, or fight itself, refused when the configuration is loaded
// (exit 2, naming the file and the keys). Places are compared by where their
// paths lead inside the root (links resolved as in a chroot: on a merged /usr,
// lib/modprobe.d is usr/lib/modprobe.d), never by their names.

import { realpathSync } from "node:fs";
import * as path from "node:path";
import { UsageError } from "../errors.ts";
import { MODPROBE_DIRS, modprobeDirs } from "../kmod/config-files.ts";
import type { KmodBehaviour } from "../kmod/kmod-version.ts";
import { LOCK_PATH } from "./lock.ts";
import { RootFs } from "./root-fs.ts";

export interface PlacedSettings {
  vendorDir: string;
  adminDir: string;
  stateFile: string;
}

/** The directories depmod reads its configuration from (depmod.d(5)), every kmod version's. */
const DEPMOD_DIRS = ["etc/depmod.d", "run/depmod.d", "usr/local/lib/depmod.d", "usr/lib/depmod.d", "lib/depmod.d"] as const;

/** The module trees: kernel packages install there and depmod writes its indexes there. */
const MODULE_TREES = ["lib/modules", "usr/lib/modules"] as const;

const OWN_DEFAULTS = "the defaults are vendorDir usr/lib/modprobe.d (lib/modprobe.d before kmod 32), adminDir etc/modprobe.d, stateFile var/lib/fsblacklist/state.json";

/**
 * Throws a UsageError naming `file` and the keys when the directories and the
 * state file cannot work together. `configHost` is the configuration file's host
 * path (null for the built-in defaults).
 */
export function checkPlaces(fs: RootFs, settings: PlacedSettings, behaviour: KmodBehaviour, file: string, configHost: string | null): void {
  const { vendorDir, adminDir, stateFile } = settings;
  const readDirs = modprobeDirs(behaviour);
  const order = `kmod ${behaviour.version} reads, first to last: ${readDirs.join(", ")}`;
  const read = readDirs.map((dir) => placeOf(fs, dir));
  const vendor = placeOf(fs, vendorDir);
  const admin = placeOf(fs, adminDir);
  if (vendor === admin) {
    throw new UsageError(
      `${file}: 'vendorDir' (${vendorDir}) and 'adminDir' (${adminDir}) are the same directory: fsblacklist's fragments would be taken for the administrator's overrides`,
      OWN_DEFAULTS,
    );
  }
  const adminAt = read.indexOf(admin);
  const vendorAt = read.indexOf(vendor);
  if (adminAt < 0) throw new UsageError(`${file}: 'adminDir' ${adminDir} is not a directory kmod ${behaviour.version} reads: its overrides would mask nothing`, order);
  if (vendorAt >= 0 && adminAt > vendorAt) {
    throw new UsageError(`${file}: kmod reads 'adminDir' ${adminDir} after 'vendorDir' ${vendorDir}: its overrides would not mask the fragments`, order);
  }

  // run/ is a tmpfs emptied at every boot: fragments or overrides there would
  // vanish at the next boot while the state file says they are in place.
  const run = placeOf(fs, "run");
  for (const [key, dir, place] of [
    ["vendorDir", vendorDir, vendor],
    ["adminDir", adminDir, admin],
  ] as const) {
    if (place === run || place.startsWith(`${run}/`)) {
      throw new UsageError(`${file}: '${key}' ${dir} is under run/, which is emptied at every boot: what fsblacklist writes there would be gone after the next reboot`, OWN_DEFAULTS);
    }
  }

  const state = placeOf(fs, stateFile);
  for (const dir of new Set([...MODPROBE_DIRS, ...DEPMOD_DIRS, vendorDir, adminDir])) {
    const place = placeOf(fs, dir);
    if (state === place || state.startsWith(`${place}/`)) {
      const reader = dir.endsWith("depmod.d") ? "depmod" : "kmod";
      throw new UsageError(`${file}: 'stateFile' ${stateFile} is in ${dir}, which ${reader} reads as configuration`, OWN_DEFAULTS);
    }
  }
  for (const dir of MODULE_TREES) {
    const place = placeOf(fs, dir);
    if (state === place || state.startsWith(`${place}/`)) {
      throw new UsageError(`${file}: 'stateFile' ${stateFile} is in ${dir}, the kernels' module trees that kernel packages and depmod own`, OWN_DEFAULTS);
    }
  }
  const others: [string | null, string][] = [
    [configHost === null ? null : hostPlace(configHost), "the configuration file itself"],
    [placeOf(fs, "etc/fstab"), "etc/fstab"],
    [placeOf(fs, LOCK_PATH), `fsblacklist's lock ${LOCK_PATH}`],
  ];
  for (const [place, what] of others) {
    if (place === state) throw new UsageError(`${file}: 'stateFile' ${stateFile} is ${what}`, OWN_DEFAULTS);
  }
}

/**
 * Where a root-relative path leads: the host path of its longest existing head
 * with every link resolved inside the root, and the rest (which does not exist,
 * so holds no link) as written.
 */
export function placeOf(fs: RootFs, relPath: string): string {
  const parts = RootFs.normalise(relPath).split("/").filter(Boolean);
  try {
    for (let i = parts.length; i > 0; i--) {
      const head = fs.resolve(parts.slice(0, i).join("/"));
      if (head.kind !== "dangling") return path.join(head.hostPath, ...parts.slice(i));
    }
  } catch {
    // A path that cannot be followed (unreadable, a link loop) is judged as
    // written: reading the configuration later reports the problem with its file.
  }
  return path.join(fs.root, ...parts);
}

function hostPlace(hostPath: string): string {
  try {
    return realpathSync(hostPath);
  } catch {
    return path.resolve(hostPath);
  }
}

/**
 * Before a command writes fragments or overrides: the admin and the vendor
 * directory must be two directories. The configuration's own choices were
 * checked when it was loaded; this catches the root's layout, whose defaults are
 * not refused there (a link such as etc/modprobe.d -> ../usr/lib/modprobe.d, or
 * lib/modprobe.d -> ../etc/modprobe.d): a keep or an override would be written
 * over the fragment it should mask, or a fragment over the administrator's
 * override. Status, showconfig and uninstall still work on such a root.
 */
export function checkSeparateDirs(fs: RootFs, settings: Pick<PlacedSettings, "vendorDir" | "adminDir">, command: string): void {
  const { vendorDir, adminDir } = settings;
  if (placeOf(fs, vendorDir) !== placeOf(fs, adminDir)) return;
  throw new UsageError(
    `${command}: ${RootFs.normalise(adminDir)} and ${RootFs.normalise(vendorDir)} are the same directory on this system (a link makes one the other): a keep or an override written there would replace the fragment it must mask`,
    `make ${RootFs.normalise(adminDir)} a directory of its own, or set adminDir and vendorDir to two directories in the configuration (etc/fsblacklist/config.yaml); nothing was written`,
  );
}
