// OpenSCAP with ComplianceAsCode's OVAL definitions (Ubuntu 24.04 and RHEL 9)
// against fake roots after `fsblacklist apply`, and the CIS audit logic (kmod's
// effective configuration and the loaded modules) beside `fsblacklist audit`.
// Run by `npm run test:scanners` (scripts/test-scanners.mjs), which provides the
// content in $FSBLACKLIST_SSG_CONTENT.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { readFileSync } from "node:fs";
import * as path from "node:path";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { runCli } from "../helpers/cli.ts";
import { BENCHMARK_RULES, filesystemRules } from "../../src/policy/benchmarks.ts";

const CONTENT = process.env["FSBLACKLIST_SSG_CONTENT"] ?? "";
const OVAL = { "Ubuntu 24.04": "ssg-ubuntu2404-oval.xml", "RHEL 9": "ssg-rhel9-oval.xml" } as const;

function root(spec: FakeRootSpec & { profile: string }): FakeRoot {
  // kmod 34 reads usr/lib/modprobe.d, where OpenSCAP looks too (it does not read lib/modprobe.d).
  return createFakeRoot({ kmodVersion: "34.2-2", ...spec, files: { ...(spec.files ?? {}), "etc/fsblacklist/config.yaml": `profile: ${spec.profile}\n` } });
}

/** Every kernel_module_*_disabled definition of a content file evaluated in the root: id -> true/false. */
function openscap(r: FakeRoot, file: string): Map<string, boolean> {
  const result = spawnSync("oscap", ["oval", "eval", path.join(CONTENT, file)], { encoding: "utf8", env: { ...process.env, OSCAP_PROBE_ROOT: r.dir }, cwd: r.dir });
  // oscap exits 1 when a probe of an unrelated definition (password, shadow) errs inside a fake root; the definitions asked about are still printed.
  const verdicts = new Map<string, boolean>();
  for (const match of result.stdout.matchAll(/^Definition oval:ssg-(kernel_module_[\w-]+_disabled):def:1: (true|false)$/gm)) verdicts.set(match[1]!, match[2] === "true");
  assert.ok(verdicts.size > 0, `no kernel module definitions in ${file}: ${result.stderr.slice(-2000)}`);
  return verdicts;
}

function cli(r: FakeRoot, ...args: string[]): { status: number; stdout: string; stderr: string } {
  return runCli([...args, "--root", r.dir]);
}

/** The CIS audit logic: `modprobe --showconfig` has blacklist X and install X /bin/(true|false), and X is not loaded. */
function cisAudit(r: FakeRoot): Map<string, string> {
  const dirs = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"].flatMap((d) => ["-C", path.join(r.dir, d)]);
  const showconfig = spawnSync("modprobe", [...dirs, "-d", r.dir, "-S", r.release!, "-c"], { encoding: "utf8" }).stdout.split("\n");
  const loaded = new Set(
    readFileSync(path.join(r.dir, "proc/modules"), "utf8")
      .split("\n")
      .map((l) => l.split(" ")[0]),
  );
  const dep = readFileSync(path.join(r.dir, `lib/modules/${r.release}/modules.dep`), "utf8");
  const verdicts = new Map<string, string>();
  for (const rule of filesystemRules("cis-l2")) {
    if (!new RegExp(`/${rule.module}\\.ko[^:]*:`).test(dep)) {
      verdicts.set(rule.spelling, "notapplicable");
      continue;
    }
    const names = [rule.module, rule.spelling.replaceAll("-", "_")];
    const ok = names.every((name) => showconfig.includes(`blacklist ${name}`) && /^install \S+ \/bin\/(true|false)$/.test(showconfig.find((l) => l.startsWith(`install ${name} `)) ?? ""));
    verdicts.set(rule.spelling, ok && !loaded.has(rule.module) ? "pass" : "fail");
  }
  return verdicts;
}

const FILESYSTEM_IDS = new Set(BENCHMARK_RULES.filter((r) => r.filesystem).map((r) => r.id));

test("cis-l2 with nothing in use: every filesystem rule of OpenSCAP passes; audit exits 0 and agrees with the CIS audit logic", (t) => {
  const r = root({ profile: "cis-l2" });
  t.after(() => r.cleanup());
  for (const [distribution, file] of Object.entries(OVAL)) {
    const before = openscap(r, file);
    assert.ok(
      [...before].some(([id, pass]) => FILESYSTEM_IDS.has(id) && !pass),
      `${distribution}: a filesystem rule fails before apply`,
    );
  }
  assert.equal(cli(r, "apply").status, 0);
  for (const [distribution, file] of Object.entries(OVAL)) {
    const verdicts = openscap(r, file);
    const filesystem = [...verdicts].filter(([id]) => FILESYSTEM_IDS.has(id));
    assert.ok(filesystem.length >= (distribution === "RHEL 9" ? 7 : 8), `${distribution}: ${filesystem.length} filesystem rules`);
    assert.deepEqual(
      filesystem.filter(([, pass]) => !pass),
      [],
      `${distribution}: every filesystem rule passes`,
    );
  }
  const audit = cli(r, "audit", "--json");
  assert.equal(audit.status, 0, audit.stdout);
  const rules = (JSON.parse(audit.stdout) as { rules: { module: string; result: string }[] }).rules;
  assert.deepEqual(new Map(rules.map((rule) => [rule.module, rule.result])), cisAudit(r));
});

test("cis-l2 with hfsplus mounted and overlay loaded: OpenSCAP's per-file grep passes them (a false pass); the CIS audit logic and audit fail them", (t) => {
  const r = root({
    profile: "cis-l2",
    loaded: ["hfsplus", "overlay"],
    mounts: [
      { source: "/dev/vda1", target: "/", fstype: "ext4" },
      { source: "/dev/sdb1", target: "/mnt/mac", fstype: "hfsplus" },
    ],
  });
  t.after(() => r.cleanup());
  assert.equal(cli(r, "apply").status, 0);
  const verdicts = openscap(r, OVAL["Ubuntu 24.04"]);
  // The keep masks the fragment for kmod, but OpenSCAP reads the masked file anyway.
  assert.equal(verdicts.get("kernel_module_hfsplus_disabled"), true);
  assert.equal(verdicts.get("kernel_module_overlayfs_disabled"), true);
  const audit = cli(r, "audit", "--json");
  assert.equal(audit.status, 1);
  const rules = (JSON.parse(audit.stdout) as { rules: { module: string; result: string }[] }).rules;
  const cis = cisAudit(r);
  assert.equal(cis.get("hfsplus"), "fail");
  assert.equal(cis.get("overlayfs"), "fail");
  assert.deepEqual(new Map(rules.map((rule) => [rule.module, rule.result])), cis);
});

test("block usb-storage under cis-l2 makes OpenSCAP's usb-storage rule pass", (t) => {
  const r = root({ profile: "cis-l2" });
  t.after(() => r.cleanup());
  assert.equal(cli(r, "apply").status, 0);
  for (const file of Object.values(OVAL)) assert.equal(openscap(r, file).get("kernel_module_usb-storage_disabled"), false, file);
  assert.equal(cli(r, "block", "usb-storage").status, 0);
  for (const file of Object.values(OVAL)) assert.equal(openscap(r, file).get("kernel_module_usb-storage_disabled"), true, file);
});

test("the default profile fails OpenSCAP's filesystem rules on purpose (its install line loads by name)", (t) => {
  const r = root({ profile: "default" });
  t.after(() => r.cleanup());
  assert.equal(cli(r, "apply").status, 0);
  assert.equal(openscap(r, OVAL["RHEL 9"]).get("kernel_module_hfs_disabled"), false);
});
