// Output of `explain`: the cause in plain words on the first line, then the
// evidence, then the command that fixes it; or one JSON document.

import type { Context } from "../context.ts";
import type { ExplainReport } from "../services/explain.ts";
import { escapeStrings } from "./escape.ts";
import { installLinePhrase } from "./install-lines.ts";
import { writeJson } from "./output.ts";

/** PRODUCT.md's explain contract (fstype, module, cause, evidence, fix) and the rest of the report. */
export function explainJson(report: ExplainReport): Record<string, unknown> {
  return {
    fstype: report.fstype,
    module: report.module,
    cause: report.cause,
    evidence: report.evidence,
    fix: report.fix,
    fixSteps: report.fixSteps,
    once: report.once,
    summary: report.summary,
    advice: report.advice,
    kernel: report.kernel,
    typeFrom: report.typeFrom,
    mountError: report.mountError,
    notes: report.notes,
    installLines: report.installLines,
    installSetAsideBy: report.installSetAsideBy,
    otherDrivers: report.otherDrivers,
  };
}

export function renderExplain(raw: ExplainReport, colour: boolean): string {
  const report = escapeStrings(raw);
  const bold = (s: string): string => (colour ? `\x1b[1m${s}\x1b[22m` : s);
  const dim = (s: string): string => (colour ? `\x1b[2m${s}\x1b[22m` : s);
  const lines: string[] = [bold(report.summary), ""];
  const about: string[] = [];
  if (report.fstype !== null) about.push(`type ${report.fstype}${report.module !== null && report.module !== report.fstype ? ` (module ${report.module})` : ""}`);
  if (report.kernel !== null) about.push(`kernel ${report.kernel}`);
  about.push(`cause: ${report.cause}`);
  lines.push(dim(about.join(", ")));
  if (report.typeFrom !== null) lines.push(dim(`type from ${report.typeFrom}`));
  lines.push("", "Evidence:");
  for (const item of report.evidence) lines.push(`  ${item}`);
  for (const note of report.notes) lines.push(`  note: ${note}`);
  if (report.installLines.length > 0) {
    lines.push("", `Install lines matching ${report.module}, in kmod's order:`);
    for (const line of report.installLines) lines.push(`  ${installLinePhrase(line, report.installSetAsideBy)}`);
  }
  lines.push("");
  if (report.fix.length > 0) {
    lines.push(bold("Fix:"));
    for (const command of report.fix) lines.push(`  ${command}`);
    if (report.advice !== null) lines.push(report.advice);
  } else if (report.cause === "not-blocked") {
    lines.push(`${bold("What to check:")} ${report.advice ?? "nothing here stops this filesystem."}`);
  } else {
    lines.push(`${bold("Fix:")} ${report.advice ?? "no command fixes this here."}`);
  }
  if (report.otherDrivers.length > 0) {
    lines.push("", bold(`Other drivers for ${report.fstype}:`));
    for (const driver of report.otherDrivers) {
      lines.push(`  ${driver.driver} (${driver.kind === "kernel" ? "this kernel's driver" : `FUSE, package ${driver.package}`}): ${driver.usable ? "" : "not usable here: "}${driver.note}`);
      if (driver.usable) for (const command of [...driver.fix, driver.mount]) lines.push(`    ${command}`);
    }
  }
  if (report.once !== null) lines.push("Or, for this boot only:", `  ${report.once}`);
  return lines.join("\n") + "\n";
}

export function printExplain(ctx: Context, report: ExplainReport): void {
  if (ctx.json) writeJson(ctx, explainJson(report));
  else ctx.stdout.write(renderExplain(report, ctx.colour));
}
