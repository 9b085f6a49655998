// What `uninstall` did (or, with --dry-run, would do): a short account for the
// log of a package transaction, or one JSON document for scripts.

import type { UninstallActionKind } from "../decide/uninstall-plan.ts";
import type { UninstallResult } from "../services/uninstall.ts";
import { escapeStrings } from "./escape.ts";
import { initramfsLine } from "./initramfs-report.ts";
import { unifiedDiff } from "./override-report.ts";

export function uninstallJson(result: UninstallResult): Record<string, unknown> {
  return {
    changed: result.changed,
    dryRun: result.dryRun,
    purge: result.purge,
    // A dry run carries each removal as a unified diff (`patch -p1` in the root; `ansible-playbook --diff` shows them).
    actions: result.actions.map(({ action, file, path, module, reason }) => ({
      action,
      file,
      path,
      module,
      reason,
      ...(result.before === null || action !== "remove" ? {} : { diff: unifiedDiff(path, result.before.get(path) ?? null, null) }),
    })),
    initramfsStale: result.initramfs.stale,
    initramfsOwedSince: result.initramfs.owedSince,
    initramfs: result.initramfs,
    blacklistChanged: result.blacklistChanged,
    state: result.state,
    kept: result.kept,
    notes: result.notes,
  };
}

const VERBS: Record<UninstallActionKind, [done: string, planned: string]> = {
  remove: ["removed", "would remove"],
  leave: ["left alone", "would leave alone"],
};

export function renderUninstallText(raw: UninstallResult): string {
  const result = escapeStrings(raw);
  const lines: string[] = [`fsblacklist uninstall${result.purge ? " --purge" : ""}${result.dryRun ? " --dry-run" : ""}`];
  const width = Math.max(0, ...result.actions.map((a) => VERBS[a.action][result.dryRun ? 1 : 0].length));
  for (const action of result.actions) {
    // Removing a fragment needs no reason in the log; what stays, and the overrides, do.
    const why = action.action === "remove" && action.file === "fragment" ? "" : `: ${action.reason}`;
    lines.push(`  ${VERBS[action.action][result.dryRun ? 1 : 0].padEnd(width)}  ${action.path} (${action.module})${why}`);
  }
  const { state } = result;
  if (state.action !== "none") {
    const verb = state.action === "remove" ? (result.dryRun ? "would remove" : "removed") : result.dryRun ? "would record" : "recorded";
    const what = state.action === "remove" ? state.path : `in ${state.path} that no fragment is installed`;
    lines.push(`  ${verb} ${what}`);
  }
  if (state.directory !== null) lines.push(`  ${result.dryRun ? "would remove" : "removed"} ${state.directory}/ (empty)`);
  if (!result.changed) lines.push("Nothing to do: nothing fsblacklist installed is left to remove.");
  for (const note of result.notes) lines.push(`Note: ${note}`);
  const initramfs = initramfsLine(result.initramfs, result.dryRun);
  if (initramfs !== null) lines.push(initramfs);
  if (result.dryRun) lines.push("Dry run: nothing was changed.");
  return lines.join("\n") + "\n";
}
