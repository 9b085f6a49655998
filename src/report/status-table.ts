// `status` for people: a table that fits 80 columns, a summary, what uses what,
// and notes; with named filesystems, the details of each.

import type { KernelAvailability } from "../decide/kernel-availability.ts";
import type { FsState } from "../model.ts";
import type { FilesystemStatusDetail, StatusResult } from "../services/status.ts";
import { escapeControl, escapeStrings } from "./escape.ts";
import { installLinePhrase } from "./install-lines.ts";
import { owedLine } from "./initramfs-report.ts";

const WIDTH = 80;
const STATE_ORDER: readonly FsState[] = ["blocked", "pinned", "kept", "allowed", "builtin", "unavailable"];
const STATE_COLOUR: Record<FsState, string> = {
  blocked: "\x1b[31m",
  pinned: "\x1b[35m",
  kept: "\x1b[33m",
  allowed: "\x1b[32m",
  builtin: "\x1b[36m",
  unavailable: "\x1b[2m",
};
const RESET = "\x1b[0m";
const KERNEL_WORD: Record<KernelAvailability, string> = { present: "module", builtin: "built-in", "not-built": "none", "outside-range": "range" };

export interface TableOptions {
  colour: boolean;
  vendorDir: string;
  adminDir: string;
  /** Print each filesystem's details (the user named them). */
  details: boolean;
}

/** The strongest sign of use, for the narrow column. */
function inUse(fs: FilesystemStatusDetail): string {
  if (fs.mounted) return "mounted";
  if (fs.loaded) return "loaded";
  if (fs.inFstab) return "fstab";
  if (fs.inMountUnit) return "unit";
  if (fs.usedBy.length > 0) return "yes";
  return "-";
}

/** "vendor 60-blacklist_fs-jfs.conf:8": the two directories we manage by name, anything else in full. */
function shortSource(decidedBy: string | null, options: TableOptions): string {
  if (decidedBy === null) return "-";
  for (const [label, dir] of [
    ["vendor", options.vendorDir],
    ["admin", options.adminDir],
  ] as const) {
    const prefix = dir.replace(/\/+$/, "") + "/";
    if (decidedBy.startsWith(prefix) && !decidedBy.slice(prefix.length).includes("/")) return `${label} ${decidedBy.slice(prefix.length)}`;
  }
  return decidedBy;
}

function wrap(text: string, indent: string, first = ""): string {
  const words = text.split(" ");
  const lines: string[] = [];
  let line = first;
  for (const word of words) {
    const lead = lines.length === 0 ? first : indent;
    if (line.length > lead.length && line.length + 1 + word.length > WIDTH) {
      lines.push(line);
      line = indent + word;
    } else {
      line += (line.length > lead.length ? " " : "") + word;
    }
  }
  lines.push(line);
  return lines.join("\n") + "\n";
}

export function renderStatusTable(result: StatusResult, raw: TableOptions): string {
  const report = escapeStrings(result.report);
  const moduleDir = result.moduleDir === null ? null : escapeControl(result.moduleDir);
  const options = { ...raw, vendorDir: escapeControl(raw.vendorDir), adminDir: escapeControl(raw.adminDir) };
  const rows = report.filesystems;
  let out = `Kernel: ${report.kernel ?? "none running"}${moduleDir === null ? "" : `   modules: ${moduleDir}`}\n`;
  for (const note of report.notes) out += wrap(note, "      ", "Note: ");

  if (rows.length === 0) return out + "No filesystems to show.\n";
  // The module only where it differs from the type ("vxfs (freevxfs)"), so that a row fits 80 columns.
  // --all-kernels: a column per installed kernel (K1, K2, ... named below the table), before DECIDED BY.
  const releases = Object.keys(report.kernels ?? {});
  const header = ["FILESYSTEM", "STATE", "IN USE", ...releases.map((_, k) => `K${k + 1}`), "DECIDED BY"];
  const cells = rows.map((fs) => [
    fs.module === null || fs.module === fs.name ? fs.name : `${fs.name} (${fs.module})`,
    fs.state,
    inUse(fs),
    ...releases.map((release) => KERNEL_WORD[report.kernels![release]![fs.name]!]),
    shortSource(fs.decidedBy, options),
  ]);
  const fixed = header.length - 1;
  const widths = header.slice(0, fixed).map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
  const line = (c: string[], colourState: FsState | null): string => {
    const padded = c.slice(0, fixed).map((v, i) => v.padEnd(widths[i]!));
    if (colourState !== null && options.colour) padded[1] = STATE_COLOUR[colourState] + padded[1] + RESET;
    return (padded.join("  ") + "  " + c[fixed]).trimEnd() + "\n";
  };
  out += "\n" + line(header, null);
  rows.forEach((fs, i) => {
    out += line(cells[i]!, fs.state);
  });

  releases.forEach((release, k) => {
    out += `${k === 0 ? "\n" : ""}K${k + 1} = ${release}${release === report.kernel ? " (judged above)" : ""}\n`;
  });
  if (releases.length > 0) out += "module: its module is installed; built-in: compiled in; none: not built; range: outside the policy's kernel range\n";

  const images = report.initramfs ?? [];
  const owed = report.initramfsOwedSince ?? null;
  if (images.length > 0 || owed !== null) {
    out += "\nInitramfs:\n";
    for (const image of images) {
      const fix = image.state === "current" || image.rebuild === null ? "" : `; rebuild: ${image.rebuild}`;
      out += wrap(`${image.summary}${fix}`, "    ", `  ${image.path}: `);
    }
    if (owed !== null) out += wrap(owedLine(owed), "    ", "  ");
  }

  const counts = STATE_ORDER.map((state) => [state, rows.filter((r) => r.state === state).length] as const).filter(([, n]) => n > 0);
  out += `\n${rows.length} filesystem${rows.length === 1 ? "" : "s"}: ${counts.map(([state, n]) => `${n} ${state}`).join(", ")}.\n`;

  if (options.details) {
    for (const fs of rows) {
      out += `\n${fs.name}${fs.module === fs.name ? "" : ` (module ${fs.module})`}: ${fs.state}, ${fs.why}\n`;
      if (fs.decidedBy !== null) out += `  decided by: ${fs.decidedBy}\n`;
      if (fs.types.length > 1) out += `  types: ${fs.types.join(", ")}\n`;
      out += `  module file for this kernel: ${fs.present ? "present" : "absent"}\n`;
      for (const use of fs.usedBy) out += wrap(use, "    ", "  in use: ");
      out += installLinesText(fs);
      if (fs.reason !== null) out += wrap(fs.reason, "    ", "  policy: ");
      if (fs.kernels !== null) out += `  applies to kernels: ${fs.kernels}\n`;
      if (!fs.inPolicy) out += "  not in the shipped policy\n";
    }
  } else {
    const used = rows.filter((r) => r.usedBy.length > 0);
    if (used.length > 0) {
      out += "\nIn use:\n";
      for (const fs of used) out += wrap(fs.usedBy.join("; "), "    ", `  ${fs.name}: `);
    }
  }
  out += "\n";
  out += wrap(`Files: vendor = ${options.vendorDir}/, admin = ${options.adminDir}/. ` + "`fsblacklist status FS` shows the details of one filesystem, `--json` everything.", "");
  return out;
}

/** The details' install lines: each matching line, which one kmod runs and why the others do not (`fs` already escaped). */
function installLinesText(fs: FilesystemStatusDetail): string {
  if (fs.installLines.length === 0) return "";
  const module = fs.module ?? fs.name;
  let out = `  install lines matching ${module}, in kmod's order:\n`;
  for (const line of fs.installLines) out += wrap(installLinePhrase(line, fs.installSetAsideBy), "      ", "    ");
  return out;
}

const STATES: readonly FsState[] = ["blocked", "pinned", "kept", "allowed", "builtin", "unavailable"];

/**
 * Counts for scripts and fleet gates: how many filesystems are in each state, how
 * many are in use, and how many initramfs images are stale.
 */
export function statusSummary(report: StatusResult["report"]): Record<string, number> {
  const byState = Object.fromEntries(STATES.map((state) => [state, report.filesystems.filter((f) => f.state === state).length]));
  return {
    total: report.filesystems.length,
    ...byState,
    inUse: report.filesystems.filter((f) => f.usedBy.length > 0).length,
    staleImages: (report.initramfs ?? []).filter((image) => image.state === "stale").length,
  };
}
