// The differential test: hundreds of generated fake roots, each compared byte for
// byte with the real kmod (`modprobe -C ... -c`, see helpers/kmod-oracle.ts).
//
//   FSB_SEED=17 node --import tsx --test test/kmod/differential.test.ts
//       reruns one seed (through the CLI as well) and keeps its tree;
//   FSB_SEEDS=1-5000 ... runs another range (soak testing);
//   FSB_KEEP=1 keeps every tree.
// A failing tree is always kept, and its seed, path and both commands are printed.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { rmSync } from "node:fs";
import * as path from "node:path";
import { generateTree, makeScratchDir } from "../helpers/tree-generator.ts";
import { parseKmodStderr, runOracle, type KmodReport, type OracleResult } from "../helpers/kmod-oracle.ts";
import { BIN } from "../helpers/cli.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { readEffectiveConfig, readModprobeC } from "../../src/system/modprobe-config.ts";
import type { Diagnostic } from "../../src/kmod/parse-config.ts";
import { detectKmodVersion } from "../../src/system/kmod-detect.ts";
import { runningRelease } from "../../src/system/kernel-release.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { renderModprobeC, type EffectiveConfig } from "../../src/kmod/effective-config.ts";

const DEFAULT_SEEDS = { first: 1, count: 600 };
/** Every CLI_EVERY-th tree also goes through the bundled CLI, as users run it. */
const CLI_EVERY = 20;

function chosenSeeds(): { seeds: number[]; single: boolean } {
  const one = process.env["FSB_SEED"];
  if (one !== undefined && one !== "") return { seeds: [Number(one)], single: true };
  const range = /^(\d+)-(\d+)$/.exec(process.env["FSB_SEEDS"] ?? "");
  if (range) {
    const [from, to] = [Number(range[1]), Number(range[2])];
    return { seeds: Array.from({ length: to - from + 1 }, (_, i) => from + i), single: false };
  }
  return { seeds: Array.from({ length: DEFAULT_SEEDS.count }, (_, i) => DEFAULT_SEEDS.first + i), single: false };
}

interface Case {
  seed: number;
  root: string;
  oracle: OracleResult;
  model: EffectiveConfig;
  ours: Buffer;
  /** showconfig's way: each file rendered as it is parsed (readModprobeC), with its diagnostics. */
  streamed: { text: Buffer; diagnostics: Diagnostic[] };
}

const { seeds, single } = chosenSeeds();
const keepAll = single || process.env["FSB_KEEP"] === "1";
const failedSeeds = new Set<number>();
let scratch = "";
let cases: Case[] = [];

function reproduce(c: Case): string {
  return [
    `  seed ${c.seed}: tree kept at ${c.root}`,
    `  rerun:  FSB_SEED=${c.seed} node --import tsx --test test/kmod/differential.test.ts`,
    `  ours:   node bin/fsblacklist.js showconfig --root ${c.root}`,
    `  kmod:   ${c.oracle.command}`,
  ].join("\n");
}

function firstDifference(ours: Buffer, theirs: Buffer): string {
  const a = ours.toString("latin1").split("\n");
  const b = theirs.toString("latin1").split("\n");
  for (let i = 0; i < Math.max(a.length, b.length); i++) {
    if (a[i] !== b[i]) return `  line ${i + 1}:\n    ours: ${JSON.stringify(a[i] ?? "<none>")}\n    kmod: ${JSON.stringify(b[i] ?? "<none>")}`;
  }
  return "  (same lines, different bytes)";
}

/** Our diagnostics reduced to what kmod's stderr says: kind, file, line, subject. */
function ourReports(config: EffectiveConfig): KmodReport[] {
  const reports: KmodReport[] = [];
  for (const d of config.diagnostics) {
    let m: RegExpExecArray | null;
    if ((m = /^ignoring bad line starting with '(.*)'$/s.exec(d.message)) && d.line !== undefined) {
      reports.push({ kind: "bad-line", file: d.file, line: d.line, subject: m[1]! });
    } else if ((m = /^command (\S+) is deprecated and not parsed anymore$/.exec(d.message))) {
      reports.push({ kind: "deprecated", file: d.file, subject: m[1]! });
    } else if (/^Directories inside directories are not supported: /.test(d.message)) {
      reports.push({ kind: "directory", file: d.file, subject: "" });
    } else if ((m = /^Ignoring bad option on kernel command line while parsing module name: '(.*)'$/s.exec(d.message))) {
      reports.push({ kind: "cmdline-option", file: d.file, subject: m[1]! });
    }
  }
  return reports;
}

const showReport = (r: KmodReport): string => `${r.kind} ${r.file}${r.line !== undefined ? `:${r.line}` : ""} ${JSON.stringify(r.subject)}`;

function runCliAsync(root: string): Promise<{ status: number; stdout: Buffer; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [BIN, "showconfig", "--root", root], { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" } });
    const out: Buffer[] = [];
    let stderr = "";
    child.stdout.on("data", (chunk: Buffer) => out.push(chunk));
    child.stderr.setEncoding("utf8").on("data", (chunk: string) => (stderr += chunk));
    child.on("error", reject);
    child.on("close", (code) => resolve({ status: code ?? -1, stdout: Buffer.concat(out), stderr }));
  });
}

async function inBatches<T, R>(items: readonly T[], width: number, work: (item: T) => Promise<R>): Promise<R[]> {
  const results: R[] = new Array(items.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: Math.min(width, items.length) }, async () => {
      while (next < items.length) {
        const index = next++;
        results[index] = await work(items[index]!);
      }
    }),
  );
  return results;
}

function failWith(title: string, failures: string[]): void {
  if (failures.length === 0) return;
  const shown = failures.slice(0, 12).join("\n\n");
  const more = failures.length > 12 ? `\n\n... and ${failures.length - 12} more` : "";
  assert.fail(`${title}: ${failures.length} of ${cases.length} trees\n\n${shown}${more}`);
}

describe(`differential against kmod's modprobe -c (${seeds.length} generated trees)`, () => {
  before(async () => {
    scratch = makeScratchDir("fsb-differential-");
    const roots = seeds.map((seed) => {
      const root = path.join(scratch, `seed-${seed}`);
      generateTree(root, seed);
      return root;
    });
    const oracle = await runOracle(roots);
    cases = seeds.map((seed, i) => {
      const root = roots[i]!;
      const fs = new RootFs(root);
      const version = detectKmodVersion(fs);
      assert.equal(version, 30, `seed ${seed}: the tree declares kmod 30 in var/lib/dpkg/status`);
      const options = { behaviour: kmodBehaviour(version), release: runningRelease(fs), cmdline: true };
      const model = readEffectiveConfig(fs, options);
      const streamed = readModprobeC(fs, options);
      return {
        seed,
        root,
        oracle: oracle[i]!,
        model,
        ours: Buffer.from(renderModprobeC(model), "latin1"),
        streamed: { text: Buffer.from(streamed.text, "latin1"), diagnostics: streamed.diagnostics },
      };
    });
  });

  after(() => {
    if (scratch === "") return;
    if (keepAll) {
      process.stderr.write(`differential: trees kept under ${scratch}\n`);
      return;
    }
    for (const c of cases) if (!failedSeeds.has(c.seed)) rmSync(c.root, { recursive: true, force: true });
    if (failedSeeds.size === 0) rmSync(scratch, { recursive: true, force: true });
  });

  test("the real modprobe ran cleanly on every tree", () => {
    const failures = cases.filter((c) => c.oracle.status !== 0).map((c) => `  seed ${c.seed}: modprobe exited ${c.oracle.status}\n${reproduce(c)}`);
    failWith("modprobe failed", failures);
  });

  test("the model prints kmod's configuration section byte for byte", () => {
    const failures: string[] = [];
    for (const c of cases) {
      if (c.ours.equals(c.oracle.config)) continue;
      failedSeeds.add(c.seed);
      failures.push(`${reproduce(c)}\n${firstDifference(c.ours, c.oracle.config)}`);
    }
    failWith("showconfig differs from modprobe -c", failures);
  });

  test("showconfig's streaming rendering gives the same bytes and the same diagnostics as the model", () => {
    const failures: string[] = [];
    for (const c of cases) {
      const sameText = c.streamed.text.equals(c.ours);
      const sameDiagnostics = JSON.stringify(c.streamed.diagnostics) === JSON.stringify(c.model.diagnostics);
      if (sameText && sameDiagnostics) continue;
      failedSeeds.add(c.seed);
      failures.push(`${reproduce(c)}
${sameText ? "  diagnostics differ" : firstDifference(c.streamed.text, c.ours)}`);
    }
    failWith("readModprobeC differs from renderModprobeC(readEffectiveConfig)", failures);
  });

  test("every problem kmod reports is reported by us at the same file and line, and no other", () => {
    const failures: string[] = [];
    for (const c of cases) {
      const theirs = parseKmodStderr(c.oracle.stderr, c.root).map(showReport);
      const ours = ourReports(c.model).map(showReport);
      if (JSON.stringify(theirs) === JSON.stringify(ours)) continue;
      failedSeeds.add(c.seed);
      const missing = theirs.filter((r) => !ours.includes(r));
      const extra = ours.filter((r) => !theirs.includes(r));
      failures.push(
        `${reproduce(c)}\n  kmod only: ${missing.join("; ") || "-"}\n  ours only: ${extra.join("; ") || "-"}${missing.length + extra.length === 0 ? "\n  (same reports, different order)" : ""}`,
      );
    }
    failWith("diagnostics differ from kmod's", failures);
  });

  test(`the bundled CLI prints the same bytes (every ${CLI_EVERY}th tree)`, async () => {
    const sample = cases.filter((_, i) => single || i % CLI_EVERY === 0);
    assert.ok(sample.length > 0);
    const runs = await inBatches(sample, 2, (c) => runCliAsync(c.root));
    const failures: string[] = [];
    sample.forEach((c, i) => {
      const run = runs[i]!;
      const problems: string[] = [];
      if (run.status !== 0) problems.push(`  exit ${run.status}: ${run.stderr.trim()}`);
      if (!run.stdout.equals(c.oracle.config)) problems.push(firstDifference(run.stdout, c.oracle.config));
      // Every kmod report shows up as a warning naming the same file (and line).
      for (const r of parseKmodStderr(c.oracle.stderr, c.root)) {
        const where = r.line !== undefined ? `${r.file}:${r.line}: ` : `${r.file}: `;
        if (!run.stderr.includes(`fsblacklist: warning: ${where}`)) problems.push(`  no warning for ${showReport(r)}`);
      }
      if (problems.length === 0) return;
      failedSeeds.add(c.seed);
      failures.push(`${reproduce(c)}\n${problems.join("\n")}`);
    });
    failWith("the CLI differs from modprobe -c", failures);
  });
});
