// The small record `apply` keeps between runs (config.stateFile): which policy
// version and profile it applied (older versions recorded no profile), which fragments it installed, what it kept and why, and
// whether an initramfs rebuild is owed. `allow`, `block` and `reset` may create
// it before apply has run, only to record an owed rebuild (unappliedState()).
// The file names a marker (`format`), so that a file fsblacklist did not write
// (a `stateFile` pointing at etc/fstab or at the configuration) is never taken for
// it, overwritten or removed: reading one is an error. Files of older versions,
// without the marker, are recognised by their keys. A file of ours that is
// damaged is reported and treated as absent, and the next write replaces it whole.

import valid from "semver/functions/valid.js";
import type { ApplyState, KeptRecord } from "../model.ts";
import { RuntimeFailure, errnoCode } from "../errors.ts";
import type { RootFs } from "./root-fs.ts";

/** The first key of every state file fsblacklist writes. */
export const STATE_FORMAT = "fsblacklist-state-1";
/** The keys every state file has had; one without `format` is ours only with all of them and no other. */
const KEYS = ["policyVersion", "appliedAt", "kept", "installed"];
const OPTIONAL_KEYS = ["initramfsPending", "initramfsOwedSince"];

/** A time before any image: an owed rebuild of unknown date. */
const EPOCH = new Date(0).toISOString();

/** The state before apply has run: nothing applied, installed or kept. */
export function unappliedState(): ApplyState {
  return { policyVersion: null, appliedAt: null, kept: [], installed: [], initramfsPending: false, initramfsOwedSince: null };
}

export type StateRead = { state: ApplyState | null; warning: string | null };

/**
 * The state, null when there is none. Throws a RuntimeFailure when the file
 * cannot be read or is not fsblacklist's: nothing may be written over it.
 */
export function readState(fs: RootFs, statePath: string): StateRead {
  let text: string | null;
  try {
    text = fs.readText(statePath);
  } catch (error) {
    if (errnoCode(error) === "EISDIR") throw foreignState(statePath, "it is a directory");
    throw new RuntimeFailure(`cannot read the state file ${statePath}: ${errorText(error)}; nothing was changed`, "fix its permissions, or remove it if it is damaged", { cause: error });
  }
  if (text === null) return { state: null, warning: null };
  const why = notOurs(text);
  if (why !== null) throw foreignState(statePath, why);
  try {
    return { state: parseState(text), warning: null };
  } catch (error) {
    return { state: null, warning: `${statePath}: ${errorText(error)}; ignoring it, the next apply rewrites it` };
  }
}

/** Why `text` is not a state file fsblacklist wrote (this version or an older one), or null when it is. */
function notOurs(text: string): string | null {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return "it is not JSON";
  }
  if (!isRecord(raw)) return "it is not a JSON object";
  if ("format" in raw) return raw["format"] === STATE_FORMAT ? null : `its format is not ${JSON.stringify(STATE_FORMAT)}`;
  const keys = Object.keys(raw);
  if (KEYS.every((k) => keys.includes(k)) && keys.every((k) => KEYS.includes(k) || OPTIONAL_KEYS.includes(k))) return null;
  return `it has neither \`"format": ${JSON.stringify(STATE_FORMAT)}\` nor exactly the keys of an older fsblacklist's state`;
}

function foreignState(statePath: string, why: string): RuntimeFailure {
  return new RuntimeFailure(
    `${statePath} is not fsblacklist's state file (${why}); nothing was changed`,
    `set stateFile in the configuration to a path of fsblacklist's own (default var/lib/fsblacklist/state.json), or move ${statePath} away if it is a damaged state file of fsblacklist`,
  );
}

/** Validates the state file's text; throws an Error saying what is wrong. */
export function parseState(text: string): ApplyState {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch (error) {
    throw new Error(`not valid JSON (${errorText(error)})`);
  }
  if (!isRecord(raw)) throw new Error("not a JSON object");
  const { policyVersion, profile, appliedAt, kept, installed, initramfsPending, initramfsOwedSince } = raw;
  if (policyVersion !== null && (typeof policyVersion !== "string" || valid(policyVersion) === null)) throw new Error("'policyVersion' is not a semantic version");
  if (profile !== undefined && (typeof profile !== "string" || profile === "")) throw new Error("'profile' is not a profile name");
  if (appliedAt !== null && (typeof appliedAt !== "string" || Number.isNaN(Date.parse(appliedAt)))) throw new Error("'appliedAt' is not a date");
  if ((policyVersion === null) !== (appliedAt === null)) throw new Error("'policyVersion' and 'appliedAt' are null only together (before apply has run)");
  if (!Array.isArray(installed) || !installed.every((p) => typeof p === "string" && p !== "" && !p.startsWith("/") && !p.split("/").includes(".."))) {
    throw new Error("'installed' is not a list of root-relative paths");
  }
  if (!Array.isArray(kept)) throw new Error("'kept' is not a list");
  const keptRecords = kept.map((entry, i): KeptRecord => {
    if (!isRecord(entry) || typeof entry["module"] !== "string" || typeof entry["reason"] !== "string" || typeof entry["since"] !== "string") {
      throw new Error(`'kept[${i}]' needs 'module', 'reason' and 'since'`);
    }
    const kernel = entry["kernel"];
    if (kernel !== null && typeof kernel !== "string") throw new Error(`'kept[${i}].kernel' is not a kernel release`);
    return { module: entry["module"], reason: entry["reason"], since: entry["since"], kernel };
  });
  if (initramfsPending !== undefined && typeof initramfsPending !== "boolean") throw new Error("'initramfsPending' is not true or false");
  if (initramfsOwedSince !== undefined && initramfsOwedSince !== null && (typeof initramfsOwedSince !== "string" || Number.isNaN(Date.parse(initramfsOwedSince)))) {
    throw new Error("'initramfsOwedSince' is not a date");
  }
  // A file of an older version has no such key: a rebuild it left pending is owed since its last apply.
  const owedSince = typeof initramfsOwedSince === "string" ? initramfsOwedSince : initramfsOwedSince === undefined && initramfsPending === true ? (appliedAt ?? EPOCH) : null;
  return {
    policyVersion,
    ...(profile === undefined ? {} : { profile }),
    appliedAt,
    kept: keptRecords,
    installed: installed as string[],
    initramfsPending: initramfsPending === true,
    initramfsOwedSince: owedSince,
  };
}

export function renderState(state: ApplyState): string {
  return JSON.stringify({ format: STATE_FORMAT, ...state }, null, 2) + "\n";
}

/** Equal apart from the time of writing: then there is no reason to rewrite the file. */
export function sameState(a: ApplyState | null, b: ApplyState): boolean {
  if (a === null) return false;
  return renderState({ ...a, appliedAt: "" }) === renderState({ ...b, appliedAt: "" });
}

/**
 * Whether `next` is worth writing over `previous`: not when the only difference
 * is an owed rebuild that the images under boot/ show done, which every run
 * sees again (the next write records it).
 */
export function stateNeedsWrite(previous: ApplyState | null, next: ApplyState): boolean {
  if (sameState(previous, next)) return false;
  return previous === null || next.initramfsOwedSince !== null || !sameState({ ...previous, initramfsOwedSince: null }, next);
}

export async function writeState(fs: RootFs, statePath: string, state: ApplyState): Promise<void> {
  await fs.writeFileAtomic(statePath, renderState(state));
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function errorText(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
