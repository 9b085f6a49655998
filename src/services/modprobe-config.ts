// The effective modprobe configuration of the system under the root, read with
// the rules of the kmod version installed there.

import type { Context } from "../context.ts";
import { kmodBehaviour, NEWEST_KNOWN_KMOD, type KmodBehaviour } from "../kmod/kmod-version.ts";
import type { EffectiveConfig } from "../kmod/effective-config.ts";
import { detectKmodVersion } from "../system/kmod-detect.ts";
import { readEffectiveConfig, readModprobeC } from "../system/modprobe-config.ts";
import type { Diagnostic } from "../kmod/parse-config.ts";
import { runningRelease } from "../system/kernel-release.ts";

export function behaviourFor(ctx: Context): KmodBehaviour {
  return kmodBehaviour(ctx.config.kmodVersion ?? detectKmodVersion(ctx.fs) ?? NEWEST_KNOWN_KMOD);
}

export function loadModprobeConfig(ctx: Context): { config: EffectiveConfig; release: string | null } {
  const release = runningRelease(ctx.fs);
  const config = readEffectiveConfig(ctx.fs, { behaviour: behaviourFor(ctx), release, cmdline: true });
  return { config, release };
}

/** What `modprobe -c` prints as its configuration section (a latin1 string), and the diagnostics on the way. */
export function renderModprobeConfig(ctx: Context): { text: string; diagnostics: Diagnostic[] } {
  return readModprobeC(ctx.fs, { behaviour: behaviourFor(ctx), release: runningRelease(ctx.fs), cmdline: true });
}
