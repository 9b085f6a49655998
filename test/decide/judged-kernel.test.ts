// One rule for which kernel's modules a command judges, with its named variants:
// status and explain judge this boot, apply any boot, and the overrides look a
// name up in the running kernel first.

import { test } from "node:test";
import assert from "node:assert/strict";
import { judgedKernel, kernelsByPreference, type JudgedKernelRule, type KernelFacts } from "../../src/decide/judged-kernel.ts";

const OLD = "6.1.0-40-amd64";
const NEW = "6.12.9-amd64";

function facts(running: string | null, visible: boolean, installed: readonly string[]): KernelFacts {
  return { running, visible, runningHasModules: running !== null && installed.includes(running), installed: () => installed };
}

const cases: { what: string; facts: KernelFacts; judged: Record<JudgedKernelRule, string | null> }[] = [
  { what: "the running kernel, its modules installed", facts: facts(OLD, true, [OLD, NEW]), judged: { "this-boot": OLD, "any-boot": OLD } },
  {
    what: "a running kernel without installed modules (a container)",
    facts: facts("5.10.0-host", true, [OLD, NEW]),
    judged: { "this-boot": null, "any-boot": NEW },
  },
  {
    what: "a running kernel without modules, none installed",
    facts: facts("5.10.0-host", true, []),
    judged: { "this-boot": null, "any-boot": null },
  },
  {
    what: "no running kernel (an image build): the newest installed",
    facts: facts(null, false, [OLD, NEW]),
    judged: { "this-boot": NEW, "any-boot": NEW },
  },
  { what: "no running kernel and nothing installed", facts: facts(null, false, []), judged: { "this-boot": null, "any-boot": null } },
  {
    what: "proc/ without a release: this boot is unknown",
    facts: facts(null, true, [OLD]),
    judged: { "this-boot": null, "any-boot": OLD },
  },
  {
    what: "the host's release without proc/ mounted, its modules installed",
    facts: facts(OLD, false, [OLD, NEW]),
    judged: { "this-boot": OLD, "any-boot": OLD },
  },
];

for (const c of cases) {
  test(`judged kernel: ${c.what}`, () => {
    for (const rule of ["this-boot", "any-boot"] as const) assert.equal(judgedKernel(c.facts, rule), c.judged[rule], rule);
  });
}

test("the installed kernels are listed only when the running kernel's modules do not settle it", () => {
  let listed = 0;
  const running: KernelFacts = { running: OLD, visible: true, runningHasModules: true, installed: () => (listed++, [OLD]) };
  judgedKernel(running, "this-boot");
  judgedKernel(running, "any-boot");
  assert.equal(listed, 0);
});

test("names are looked up in the running kernel first, then the newest", () => {
  assert.deepEqual(kernelsByPreference({ running: OLD, installed: () => [OLD, "6.5.0", NEW] }), [OLD, NEW, "6.5.0"]);
  assert.deepEqual(kernelsByPreference({ running: "5.10.0-host", installed: () => [OLD, NEW] }), [NEW, OLD]);
  assert.deepEqual(kernelsByPreference({ running: null, installed: () => [] }), []);
});
