// What `uninstall` will do, decided without touching anything: remove what
// `apply` installed, so that removing the package leaves the system as it was
// before it, except for the administrator's decisions (`allow`/`block`
// overrides), which stay like a package's changed configuration files unless
// purging.
//
// Only our files are removed:
// - A file in a vendor directory is ours when it has a fragment's name
//   (60-blacklist_fs-<module>.conf) and starts with the policy header. The state
//   file tells where else apply put fragments, but a file it lists that lacks the
//   header was replaced by someone else (a package shipping the same name) and
//   stays.
// - A file in the admin directory is ours when it starts with our marker; one
//   without it is the administrator's and is never touched.
//
// Boot safety: fragments go before the keeps that masked them, so no moment
// blocks a kept filesystem. A keep that masks a vendor file we did not write
// stays on a plain uninstall: without it that file would block a filesystem the
// system needed (apply never lifts such a keep either).

import * as path from "node:path";
import { parseMarker } from "../policy/marker.ts";
import { moduleFromFragmentName } from "../policy/fragment.ts";
import type { FoundFile, VendorFile } from "./apply-plan.ts";
import type { ApplyState, KeptRecord } from "../model.ts";

export interface UninstallInput {
  /** Every file of the vendor directories, and every path the state lists that exists. */
  vendorFiles: readonly VendorFile[];
  /** Every entry of the admin directory. */
  adminFiles: readonly FoundFile[];
  /** Fragments the state file says apply installed (root-relative). */
  installed: readonly string[];
  /** Also remove `allow`/`block` overrides and keeps that mask a file we did not write. */
  purge: boolean;
}

export type UninstallActionKind = "remove" | "leave";

export interface UninstallAction {
  action: UninstallActionKind;
  /** A policy fragment in a vendor directory, or an override in the admin directory. */
  file: "fragment" | "override";
  /** Root-relative path of the file concerned. */
  path: string;
  module: string;
  reason: string;
}

export interface UninstallPlan {
  /** Removals in the order they must be carried out, then what is left alone. */
  actions: UninstallAction[];
  /** Keeps that stay (they mask a file we did not write). */
  kept: KeptRecord[];
}

/** Vendor fragments, then admin overrides (which masked them), then what stays. */
type Phase = 0 | 1 | 2;

export function planUninstall(input: UninstallInput): UninstallPlan {
  const planned: { phase: Phase; action: UninstallAction }[] = [];
  const add = (phase: Phase, action: UninstallActionKind, file: UninstallAction["file"], at: string, module: string, reason: string): void => {
    planned.push({ phase, action: { action, file, path: at, module, reason } });
  };
  const kept: KeptRecord[] = [];
  const installed = new Set(input.installed);
  /** Vendor files that stay, by basename: what a keep of that name masks. */
  const staying = new Map<string, string>();

  for (const file of input.vendorFiles) {
    const name = path.posix.basename(file.path);
    const nameModule = moduleFromFragmentName(name);
    const listed = installed.has(file.path);
    if (nameModule === null && !listed) continue;
    if (nameModule !== null && file.content !== null && file.headerModule !== null) {
      add(0, "remove", "fragment", file.path, file.headerModule, `fragment installed by \`fsblacklist apply\`${listed ? "" : " (recognised by its policy header)"}`);
      continue;
    }
    if (file.content !== null && file.content !== "") staying.set(name, file.path);
    const what = file.content === null ? "is not a regular file" : nameModule === null ? "does not have a fragment's name" : "does not start with fsblacklist's policy header";
    const replaced = listed ? "; the state file lists it, so someone replaced the fragment apply installed" : "";
    add(2, "leave", "fragment", file.path, nameModule ?? name, `${file.path} ${what}${replaced}: not fsblacklist's, left alone`);
  }

  for (const file of input.adminFiles) {
    const name = path.posix.basename(file.path);
    const marker = file.content === null ? null : parseMarker(file.content);
    if (marker === null) {
      const nameModule = moduleFromFragmentName(name);
      if (nameModule !== null) add(2, "leave", "override", file.path, nameModule, "the administrator's own file (no fsblacklist marker): never touched");
      continue;
    }
    const { module } = marker;
    if (marker.kind === "keep") {
      const masked = staying.get(name);
      if (masked === undefined) {
        add(1, "remove", "override", file.path, module, `apply's keep (${marker.reason}); the fragment it masked is gone`);
      } else if (input.purge) {
        add(1, "remove", "override", file.path, module, `apply's keep (${marker.reason}), removed by --purge; ${masked} decides for ${module} again`);
      } else {
        kept.push({ module, reason: marker.reason, since: marker.date, kernel: marker.kernel });
        add(
          2,
          "leave",
          "override",
          file.path,
          module,
          `apply's keep (${marker.reason}) masks ${masked}, which fsblacklist did not write and which would block ${module} again; \`fsblacklist uninstall --purge\` removes it`,
        );
      }
      continue;
    }
    const decision = `the administrator's decision \`fsblacklist ${marker.kind}\` (${marker.date})`;
    if (input.purge) add(1, "remove", "override", file.path, module, `${decision}, removed by --purge`);
    else add(2, "leave", "override", file.path, module, `${decision} stays, like a changed configuration file; \`fsblacklist uninstall --purge\` removes it`);
  }

  planned.sort((a, b) => a.phase - b.phase || compare(a.action.path, b.action.path));
  kept.sort((a, b) => compare(a.module, b.module));
  return { actions: planned.map((p) => p.action), kept };
}

export function removals(plan: UninstallPlan): UninstallAction[] {
  return plan.actions.filter((a) => a.action === "remove");
}

/**
 * The state after a plain uninstall: no fragments installed, only the keeps that
 * stay; null when there was none (a state file is never created by uninstall).
 * The time of the last apply stays what it was.
 */
export function uninstalledState(previous: ApplyState | null, plan: UninstallPlan, initramfs: Pick<ApplyState, "initramfsPending" | "initramfsOwedSince">): ApplyState | null {
  if (previous === null) return null;
  return { ...previous, kept: plan.kept, installed: [], ...initramfs };
}

function compare(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}
