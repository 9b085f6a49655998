// The review UI's link to the overrides service: the same planning and the
// same writing as `allow`, `block` and `reset`. All pending changes become ONE
// plan, so they are written together under one lock or not at all.

import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { pendingChanges as fileChanges, refusedChanges, type OverrideChange, type OverridePlan, type OverrideRequest } from "../decide/override-plan.ts";
import { planInitramfs } from "../services/initramfs.ts";
import { applyOverridePlan, planOverride } from "../services/overrides.ts";
import type { PendingChange, ReviewPlan, ReviewReport } from "./review-state.ts";
import { describeError } from "./describe-error.ts";
import type { ReviewServices } from "./use-review.ts";

const REQUESTS: readonly OverrideRequest[] = ["allow", "block", "reset"];

function summaryLine(change: OverrideChange): string {
  const verb = change.action === "remove" ? `reset ${change.name}: removed` : `${change.action} ${change.name}: wrote`;
  return `${verb} ${change.path}`;
}

/** Two names of one module (ntfs and ntfs3) marked differently would fight over one file. */
function checkOneChangePerFile(changes: readonly OverrideChange[]): void {
  const byPath = new Map<string, OverrideChange>();
  for (const change of changes) {
    const other = byPath.get(change.path);
    if (other !== undefined) {
      throw new UsageError(`${other.name} and ${change.name} are both module ${change.module}; mark only one of them`);
    }
    byPath.set(change.path, change);
  }
}

export interface OverrideServices extends ReviewServices {
  /**
   * Settles when the write begun last has ended: null when it succeeded (or
   * none was begun), else why it failed. The review can end while one is under
   * way (a signal, Ctrl-C): it finishes, whole, and the command reports it.
   */
  lastWrite(): Promise<string | null>;
}

export function overrideServices(ctx: Context, reload: () => Promise<ReviewReport>, onApplied: (summary: readonly string[]) => void): OverrideServices {
  let lastWrite: Promise<string | null> = Promise.resolve(null);
  return {
    lastWrite: () => lastWrite,
    async plan(pending: readonly PendingChange[]): Promise<ReviewPlan> {
      const plans: OverridePlan[] = [];
      for (const request of REQUESTS) {
        const names = pending.filter((p) => p.action === request).map((p) => p.name);
        if (names.length > 0) plans.push(await planOverride(ctx, request, names));
      }
      const changes = plans.flatMap((p) => p.changes);
      checkOneChangePerFile(changes);
      // The request only names the command in the service's root message.
      const combined: OverridePlan = { request: plans[0]?.request ?? "allow", changes };
      const writes = fileChanges(combined);
      const notes = changes
        .filter((c) => c.action !== "refused")
        .flatMap((c) => [...(c.action === "unchanged" ? [`${c.name}: nothing to do: ${c.reason}`] : []), ...c.notes.map((n) => `${c.name}: ${n}`)]);
      if (writes.some((c) => c.affectsBlacklist)) {
        const { rebuild } = planInitramfs(ctx, true);
        notes.push(
          rebuild !== null
            ? `applying rebuilds the initramfs (${rebuild.join(" ")}), which keeps the old modprobe configuration until then`
            : "the initramfs keeps the old modprobe configuration until it is regenerated (dracut -f, update-initramfs -u)",
        );
      }
      return {
        files: writes.map((c) => ({ path: c.path, before: c.before, after: c.after })),
        notes,
        refused: refusedChanges(combined).flatMap((c) => [`${c.name}: ${c.reason}`, ...c.notes.map((n) => `${c.name}: ${n}`)]),
        apply() {
          const written = (async () => {
            const { initramfs } = await applyOverridePlan(ctx, combined);
            const summary = writes.map(summaryLine);
            if (initramfs?.regenerated) summary.push(`rebuilt the initramfs (${initramfs.command})`);
            if (initramfs?.error) summary.push(`the initramfs was not rebuilt: ${initramfs.error.replaceAll("\n", " ")}`);
            onApplied(summary);
            return summary;
          })();
          lastWrite = written.then(
            () => null,
            (error: unknown) => describeError(error),
          );
          return written.then(async (summary) => ({ report: await reload(), summary }));
        },
      };
    },
  };
}
