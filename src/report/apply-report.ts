// What `apply` did (or, with --dry-run, would do): a short account for the log
// of a package transaction, or one JSON document for scripts.

import type { ActionKind } from "../decide/apply-plan.ts";
import type { ApplyResult } from "../services/apply.ts";
import { escapeStrings } from "./escape.ts";
import { initramfsLine } from "./initramfs-report.ts";
import { unifiedDiff } from "./override-report.ts";

export function applyJson(result: ApplyResult): Record<string, unknown> {
  return {
    changed: result.changed,
    dryRun: result.dryRun,
    // A dry run carries each file's change as a unified diff (`ansible-playbook --diff` shows them).
    actions: result.actions.map(({ action, path, module, reason, content }) => ({
      action,
      path,
      module,
      reason,
      ...(result.before === null || action === "skip" ? {} : { diff: unifiedDiff(path, result.before.get(path) ?? null, content ?? null) }),
    })),
    initramfsStale: result.initramfs.stale,
    initramfsOwedSince: result.initramfs.owedSince,
    initramfs: result.initramfs,
    initramfsImages: result.images,
    blacklistChanged: result.blacklistChanged,
    policyVersion: result.policyVersion,
    previousPolicyVersion: result.previousPolicyVersion,
    profile: result.profile,
    kernel: result.kernel,
    kept: result.kept.map((k) => {
      const blocked = result.keptBlocked.find((b) => b.module === k.module);
      return { ...k, loadable: blocked === undefined, blockedBy: blocked?.obstacles ?? [] };
    }),
    newEntries: result.newEntries,
    notes: result.notes,
    installLinesInForce: result.installLinesInForce,
    deviations: result.deviations,
  };
}

const VERBS: Record<ActionKind, [done: string, planned: string]> = {
  keep: ["kept", "would keep"],
  install: ["installed", "would install"],
  update: ["updated", "would update"],
  remove: ["removed", "would remove"],
  unkeep: ["lifted keep", "would lift keep"],
  skip: ["left alone", "would leave alone"],
};

export function renderApplyText(raw: ApplyResult): string {
  const result = escapeStrings(raw);
  const lines: string[] = [];
  const kernel = result.kernel === null ? "no running kernel" : `kernel ${result.kernel}`;
  lines.push(`fsblacklist apply${result.dryRun ? " --dry-run" : ""}: policy ${result.policyVersion} (profile ${result.profile}), ${kernel}`);
  const width = Math.max(0, ...result.actions.map((a) => verb(a.action, result.dryRun).length));
  for (const action of result.actions) {
    // An install's reason is the policy's, which `status` shows; the log only needs the file.
    const why = action.action === "install" ? "" : `: ${action.reason}`;
    lines.push(`  ${verb(action.action, result.dryRun).padEnd(width)}  ${action.path} (${action.module})${why}`);
  }
  if (!result.changed) lines.push(`Nothing to do: the system already follows policy ${result.policyVersion}.`);
  const blocked = new Map(result.keptBlocked.map((b) => [b.module, b.obstacles]));
  const loadable = result.kept.filter((k) => !blocked.has(k.module));
  if (loadable.length > 0) {
    lines.push("Kept loadable:");
    for (const k of loadable) lines.push(`  ${k.module}: ${k.reason} (since ${k.since}${k.kernel === null ? "" : `, kernel ${k.kernel}`})`);
  }
  for (const k of result.kept.filter((k) => blocked.has(k.module))) {
    lines.push(
      `Warning: ${k.module} is in use (${k.reason}) but will NOT load at the next boot: ${blocked.get(k.module)!.join("; ")}. ` +
        `fsblacklist does not change those lines; \`fsblacklist explain --type ${k.module}\` prints the commands that do.`,
    );
  }
  if (result.newEntries.length > 0) {
    lines.push(`New since policy ${result.previousPolicyVersion}:`);
    for (const e of result.newEntries) lines.push(`  ${e.module} (${e.since}): ${e.reason}`);
  }
  for (const note of result.notes) lines.push(`Note: ${note}`);
  const initramfs = initramfsLine(result.initramfs, result.dryRun);
  if (initramfs !== null) lines.push(initramfs);
  for (const image of result.images) if (image.state !== "current") lines.push(`  ${image.path}: ${image.summary}`);
  if (result.dryRun) lines.push("Dry run: nothing was changed.");
  return lines.join("\n") + "\n";
}

function verb(action: ActionKind, dryRun: boolean): string {
  return VERBS[action][dryRun ? 1 : 0];
}
