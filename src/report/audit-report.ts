// `audit`'s output: one line per rule for people, one JSON document for a CI
// gate or a fleet report.

import type { AuditReport } from "../decide/audit.ts";

export function auditJson(report: AuditReport): Record<string, unknown> {
  return {
    benchmark: report.benchmark,
    rules: report.rules.map(({ id, module, items, result, reason, evidence }) => ({ id, module, items, result, reason, evidence })),
  };
}

export function renderAuditText(report: AuditReport): string {
  const width = Math.max(...report.rules.map((r) => r.module.length));
  const lines = [`fsblacklist audit: ${report.benchmark}`];
  for (const rule of report.rules) {
    lines.push(`  ${rule.result.padEnd(13)} ${rule.module.padEnd(width)}  ${rule.id} (${rule.items.join(", ")})`);
    if (rule.result !== "pass") lines.push(`  ${" ".repeat(13)} ${" ".repeat(width)}  ${rule.reason}`);
  }
  const count = (result: string): number => report.rules.filter((r) => r.result === result).length;
  lines.push(`${count("pass")} pass, ${count("fail")} fail, ${count("notapplicable")} not applicable`);
  return lines.join("\n") + "\n";
}

/** 0 when no rule fails, 1 otherwise. */
export function auditExitCode(report: AuditReport): number {
  return report.rules.some((r) => r.result === "fail") ? 1 : 0;
}
