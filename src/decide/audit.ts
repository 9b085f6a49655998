// `audit`: a benchmark's kernel-module rules judged the way the CIS benchmark's
// own audit does it, from kmod's *effective* configuration (what
// `modprobe --showconfig` prints: a masked file counts for nothing), the
// modules loaded now and every installed kernel. A scanner that greps each
// file on its own (OpenSCAP) can pass a module that a keep has made loadable
// again; this does not. Each installed kernel that has the module is judged
// with the configuration kmod reads when that kernel runs (modprobe.d and its
// own lib/modules/<release>/modules.softdep and modules.weakdep, which kmod
// parses as configuration too): a rule fails when any of them would load the
// module. Pure.

import { blacklistLinesFor, installLinesFor } from "../kmod/blockers.ts";
import { normaliseModuleName } from "../kmod/module-name.ts";
import { firstLineOf, type ConfigEntry, type Source } from "../kmod/parse-config.ts";
import type { OverrideMarker } from "../policy/marker.ts";
import type { Benchmark, BenchmarkRule } from "../policy/benchmarks.ts";

export type AuditResult = "pass" | "fail" | "notapplicable";

export interface RuleVerdict {
  id: string;
  /** As the benchmark spells it. */
  module: string;
  items: string[];
  result: AuditResult;
  reason: string;
  evidence: string[];
}

export interface AuditReport {
  benchmark: Benchmark;
  rules: RuleVerdict[];
}

/** What one installed kernel has of a module. */
export type KernelOffer = "module" | "builtin" | "none";

export interface AuditFacts {
  benchmark: Benchmark;
  rules: readonly BenchmarkRule[];
  /** The effective configuration's entries, in kmod's order, as the running kernel (or, with none, no kernel) reads them. */
  entries: readonly ConfigEntry[];
  /** Loaded modules and where each was seen (proc/modules). */
  loaded: ReadonlyMap<string, string>;
  /** Installed kernels: what each offers of a module, and the entries kmod reads when it runs. */
  kernels: readonly AuditKernel[];
  /** Our override in the admin directory for a module, when there is one. */
  override(module: string): { path: string; marker: OverrideMarker } | null;
}

export interface AuditKernel {
  release: string;
  offer(module: string): KernelOffer;
  /** The effective configuration's entries under this kernel (its own modules.softdep and modules.weakdep). */
  entries: readonly ConfigEntry[];
}

/** The CIS audit accepts these as "not loadable": `install X /bin/true` or `/bin/false`. */
const DISABLING_COMMAND = /^\/(?:usr\/)?bin\/(?:true|false)\s*$/;

export function judgeAudit(facts: AuditFacts): AuditReport {
  return { benchmark: facts.benchmark, rules: facts.rules.map((rule) => judgeRule(rule, facts)) };
}

function where(source: Source): string {
  return source.file === "proc/cmdline" ? "proc/cmdline" : `${source.file}:${firstLineOf(source)}`;
}

function judgeRule(rule: BenchmarkRule, facts: AuditFacts): RuleVerdict {
  const verdict = (result: AuditResult, reason: string, evidence: string[]): RuleVerdict => ({ id: rule.id, module: rule.spelling, items: rule.items, result, reason, evidence });
  const loadedAt = facts.loaded.get(rule.module);
  const offers = facts.kernels.map((k) => ({ release: k.release, offer: k.offer(rule.module) }));
  const withModule = offers.filter((o) => o.offer === "module");
  const builtin = offers.filter((o) => o.offer === "builtin");

  if (withModule.length === 0 && loadedAt === undefined) {
    if (builtin.length > 0) {
      return verdict(
        "notapplicable",
        `${rule.module} is built into ${builtin.map((o) => o.release).join(", ")}: no configuration can keep it out`,
        builtin.map((o) => `lib/modules/${o.release}/modules.builtin: ${rule.module}`),
      );
    }
    const releases = offers.map((o) => o.release);
    return verdict(
      "notapplicable",
      releases.length === 0 ? "no kernel is installed (no lib/modules/<release>/modules.dep)" : `no installed kernel has a ${rule.module} module (${releases.join(", ")})`,
      [],
    );
  }

  const evidence: string[] = withModule.map((o) => `${rule.module} module present for ${o.release}`);
  const failures: string[] = [];
  if (loadedAt !== undefined) failures.push(`${rule.module} is loaded now (${loadedAt})`);
  else evidence.push(`${rule.module} not loaded`);

  // Each kernel with the module, under the configuration kmod reads when it runs; a
  // module loaded though no installed kernel has it is judged with the running configuration.
  const judged = groupByResult(
    withModule.length === 0
      ? [{ releases: [], checked: checkConfig(rule, facts.entries) }]
      : withModule.map((o) => ({ releases: [o.release], checked: checkConfig(rule, facts.kernels.find((k) => k.release === o.release)!.entries) })),
  );
  for (const { releases, checked } of judged) {
    // The same lines under every kernel: said once; otherwise each kernel's own.
    const on = judged.length === 1 ? "" : `on ${releases.join(", ")}: `;
    for (const line of checked.evidence) evidence.push(on + line);
    for (const failure of checked.failures) failures.push(on + failure);
  }
  const missingEverywhere = judged.every((j) => j.checked.missingBoth);

  if (failures.length === 0) return verdict("pass", `blacklisted, loading by name fails, not loaded`, evidence);
  const override = facts.override(rule.module);
  if (override !== null && override.marker.kind === "keep") failures.unshift(`kept loadable by fsblacklist apply (${override.path}): ${override.marker.reason}`);
  else if (override !== null && override.marker.kind === "allow") failures.unshift(`allowed by the administrator (${override.path}, ${override.marker.date})`);
  else if (missingEverywhere && loadedAt === undefined) failures.unshift("the profile's fragment is missing or masked (run fsblacklist apply with this benchmark's profile)");
  return verdict("fail", failures.join("; "), evidence);
}

type Checked = ReturnType<typeof checkConfig>;

/** Kernels whose configurations give the same lines, together (most kernels add nothing of their own). */
function groupByResult(judged: readonly { releases: string[]; checked: Checked }[]): { releases: string[]; checked: Checked }[] {
  const groups = new Map<string, { releases: string[]; checked: Checked }>();
  for (const { releases, checked } of judged) {
    const key = JSON.stringify(checked);
    const same = groups.get(key);
    if (same === undefined) groups.set(key, { releases: [...releases], checked });
    else same.releases.push(...releases);
  }
  return [...groups.values()];
}

/** The benchmark's two lines for a rule's names in one configuration: what is there, and what is missing or wrong. */
function checkConfig(rule: BenchmarkRule, entries: readonly ConfigEntry[]): { evidence: string[]; failures: string[]; missingBoth: boolean } {
  const evidence: string[] = [];
  const failures: string[] = [];
  // kmod enforces the module's own name; the scanners look for the benchmark's spelling (overlayfs).
  const names = normaliseModuleName(rule.spelling) === rule.module ? [rule.module] : [rule.module, normaliseModuleName(rule.spelling)];
  let missingBoth = 0;
  for (const name of names) {
    const blacklists = blacklistLinesFor(name, entries);
    const installs = installLinesFor(name, entries);
    const runs = installs.find((l) => l.runs);
    for (const b of blacklists) evidence.push(`blacklist ${name} (${where(b)})`);
    for (const l of installs) evidence.push(`install ${l.pattern} ${l.command} (${where(l.source)})${l.runs ? ": kmod runs this one" : ""}`);
    if (blacklists.length === 0 && runs === undefined) missingBoth++;
    if (blacklists.length === 0) failures.push(`no effective \`blacklist ${name}\` line`);
    if (runs === undefined) failures.push(`no effective \`install ${name} /bin/false\` line`);
    else if (!DISABLING_COMMAND.test(runs.command.trim()))
      failures.push(`the install line kmod runs for ${name} (${where(runs.source)}) is \`${runs.command}\`, not /bin/false or /bin/true: loading by name works`);
  }
  return { evidence, failures, missingBoth: missingBoth === names.length };
}
