// The small record `apply` keeps between runs (config.stateFile): which policy
// version it applied, which fragments it installed, what it kept and why, and
// whether an initramfs rebuild is owed. `allow`, `block` and `reset` may create
// it before apply has run, only to record an owed rebuild (unappliedState()).
// A damaged state file must never stop a package hook: it is reported and
// treated as absent, and the next write replaces it whole.

import valid from "semver/functions/valid.js";
import type { ApplyState, KeptRecord } from "../model.ts";
import type { RootFs } from "./root-fs.ts";

/** The state before apply has run: nothing applied, installed or kept. */
export function unappliedState(): ApplyState {
  return { policyVersion: null, appliedAt: null, kept: [], installed: [], initramfsPending: false };
}

export type StateRead = { state: ApplyState | null; warning: string | null };

export function readState(fs: RootFs, statePath: string): StateRead {
  let text: string | null;
  try {
    text = fs.readText(statePath);
  } catch (error) {
    return { state: null, warning: `${statePath}: cannot read (${errorText(error)}); treating it as absent` };
  }
  if (text === null) return { state: null, warning: null };
  try {
    return { state: parseState(text), warning: null };
  } catch (error) {
    return { state: null, warning: `${statePath}: ${errorText(error)}; ignoring it, the next apply rewrites it` };
  }
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
  const { policyVersion, appliedAt, kept, installed, initramfsPending } = raw;
  if (policyVersion !== null && (typeof policyVersion !== "string" || valid(policyVersion) === null)) throw new Error("'policyVersion' is not a semantic version");
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
  return { policyVersion, appliedAt, kept: keptRecords, installed: installed as string[], initramfsPending: initramfsPending === true };
}

export function renderState(state: ApplyState): string {
  return JSON.stringify(state, null, 2) + "\n";
}

/** Equal apart from the time of writing: then there is no reason to rewrite the file. */
export function sameState(a: ApplyState | null, b: ApplyState): boolean {
  if (a === null) return false;
  return renderState({ ...a, appliedAt: "" }) === renderState({ ...b, appliedAt: "" });
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
