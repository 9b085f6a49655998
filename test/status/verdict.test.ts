// The pure per-filesystem decision, as a table.

import { test } from "node:test";
import assert from "node:assert/strict";
import { decideVerdict, type VerdictInput } from "../../src/decide/verdict.ts";
import type { OverrideMarker } from "../../src/policy/marker.ts";

const vendor = { file: "usr/lib/modprobe.d/60-blacklist_fs-jfs.conf", line: 8 };
const adminPath = "etc/modprobe.d/60-blacklist_fs-jfs.conf";
const marker = (kind: OverrideMarker["kind"]): OverrideMarker => ({ kind, module: "jfs", reason: "jfs mounted at /srv", date: "2025-01-02T03:04:05.000Z", kernel: "6.1.0-50-amd64" });
const base: VerdictInput = { builtin: false, present: true, moduleSupport: true, block: null, override: null };

const CASES: { name: string; input: Partial<VerdictInput>; state: string; decidedBy: string | null; why?: RegExp }[] = [
  { name: "built in wins over everything", input: { builtin: true, block: { cause: "blacklisted", module: "jfs", source: vendor } }, state: "builtin", decidedBy: null },
  { name: "no module support", input: { moduleSupport: false, block: { cause: "blacklisted", module: "jfs", source: vendor } }, state: "unavailable", decidedBy: null, why: /cannot load modules/ },
  { name: "no module file", input: { present: false }, state: "unavailable", decidedBy: null },
  { name: "the vendor fragment blocks", input: { block: { cause: "blacklisted", module: "jfs", source: vendor } }, state: "blocked", decidedBy: "usr/lib/modprobe.d/60-blacklist_fs-jfs.conf:8" },
  {
    name: "our block override pins",
    input: { block: { cause: "blacklisted", module: "jfs", source: { file: adminPath, line: 7 } }, override: { path: adminPath, marker: marker("block") } },
    state: "pinned",
    decidedBy: `${adminPath}:7`,
  },
  {
    name: "an admin file that blocks is just blocked",
    input: { block: { cause: "install-blocked", module: "jfs", source: { file: adminPath, line: 1 }, command: "/bin/false" }, override: { path: adminPath, marker: null } },
    state: "blocked",
    decidedBy: `${adminPath}:1`,
    why: /install line runs "\/bin\/false"/,
  },
  {
    name: "module_blacklist= on the command line",
    input: { block: { cause: "cmdline-blacklisted", module: "jfs", source: null } },
    state: "blocked",
    decidedBy: "proc/cmdline",
    why: /module_blacklist=jfs/,
  },
  { name: "a dependency that is missing", input: { block: { cause: "module-missing", module: "jfs", source: null } }, state: "unavailable", decidedBy: null },
  { name: "kept by apply", input: { override: { path: adminPath, marker: marker("keep") } }, state: "kept", decidedBy: `${adminPath}:1`, why: /jfs mounted at \/srv/ },
  { name: "allowed by allow", input: { override: { path: adminPath, marker: marker("allow") } }, state: "allowed", decidedBy: `${adminPath}:1`, why: /fsblacklist allow/ },
  { name: "the admin's own file masks", input: { override: { path: adminPath, marker: null } }, state: "allowed", decidedBy: `${adminPath}:1`, why: /administrator's own file/ },
  { name: "nothing blocks it", input: {}, state: "allowed", decidedBy: null },
];

test("verdicts", () => {
  for (const c of CASES) {
    const verdict = decideVerdict({ ...base, ...c.input });
    assert.equal(verdict.state, c.state, c.name);
    assert.equal(verdict.decidedBy, c.decidedBy, c.name);
    if (c.why) assert.match(verdict.why, c.why, c.name);
  }
});
