// Benchmark profiles, the administrator's own install lines, and `audit`,
// checked with the real kmod on fake roots: `modprobe -n -v` for what a load
// by name runs, `modprobe -C ... -c` (the effective configuration, what the
// CIS benchmark's audit reads with `modprobe --showconfig`) for the rules.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { addKernel, createFakeRoot, DEFAULT_RELEASE, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { runInProcess } from "../helpers/cli.ts";
import { filesystemRules, BENCHMARK_RULES, ruleForModule, type Benchmark } from "../../src/policy/benchmarks.ts";
import { fragmentName } from "../../src/policy/fragment.ts";
import { entriesForProfile, loadPolicy, shippedPolicyDir } from "../../src/policy/policy.ts";

const KMOD_34 = "34.2-2";
const CONFIG_DIRS = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"];

function root(spec: FakeRootSpec & { profile?: string }): FakeRoot {
  const files = { ...(spec.files ?? {}), ...(spec.profile === undefined ? {} : { "etc/fsblacklist/config.yaml": `profile: ${spec.profile}\n` }) };
  return createFakeRoot({ kmodVersion: KMOD_34, ...spec, files });
}

async function cli(r: FakeRoot, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return runInProcess([...args, "--root", r.dir]);
}

/** The real modprobe with the root's configuration directories (kmod 34's list). */
function modprobe(r: FakeRoot, ...args: string[]): string {
  const dirs = CONFIG_DIRS.flatMap((d) => ["-C", path.join(r.dir, d)]);
  const result = spawnSync("modprobe", [...dirs, "-d", r.dir, "-S", r.release ?? DEFAULT_RELEASE, ...args], { encoding: "utf8" });
  return result.stdout + result.stderr;
}

/** The install command `modprobe -n -v MODULE` says it would run, or null when it would insmod. */
function installRun(r: FakeRoot, module: string): string | null {
  const line = modprobe(r, "-n", "-v", module)
    .split("\n")
    .find((l) => l.startsWith("install "));
  return line === undefined ? null : line.slice("install ".length).trim();
}

function read(r: FakeRoot, file: string): string {
  return readFileSync(path.join(r.dir, file), "utf8");
}

const ADMIN_FILES = {
  "etc/modprobe.d/hfs.conf": "# hardening by the site's remediation\nblacklist hfs\ninstall hfs /bin/false\n",
  "etc/modprobe.d/CIS.conf": "install freevxfs /bin/true\n",
};

for (const profile of ["default", "cis-l2"]) {
  test(`${profile}: the administrator's install lines stay the ones kmod runs after apply, allow, block and uninstall`, async (t) => {
    const r = root({ profile, files: ADMIN_FILES });
    t.after(() => r.cleanup());
    const inForce = (): void => {
      assert.equal(installRun(r, "hfs"), "/bin/false");
      assert.equal(installRun(r, "freevxfs"), "/bin/true");
      for (const [file, text] of Object.entries(ADMIN_FILES)) assert.equal(read(r, file), text, `${file} is byte for byte the administrator's`);
    };

    const apply = await cli(r, "apply", "--json");
    assert.equal(apply.status, 0, apply.stderr);
    const json = JSON.parse(apply.stdout) as { installLinesInForce: { module: string; where: string; line: string }[]; notes: string[] };
    assert.deepEqual(
      json.installLinesInForce.map((l) => [l.module, l.where, l.line]),
      [
        ["freevxfs", "etc/modprobe.d/CIS.conf:1", "install freevxfs /bin/true"],
        ["hfs", "etc/modprobe.d/hfs.conf:3", "install hfs /bin/false"],
      ],
    );
    assert.ok(json.notes.includes("hfs: etc/modprobe.d/hfs.conf:3 `install hfs /bin/false` stays in force"), json.notes.join("\n"));
    // Without the administrator's lines our fragment would run first: the hook line (default) or /bin/false.
    const fragment = read(r, "usr/lib/modprobe.d/60-blacklist_fs-hfs.conf");
    assert.doesNotMatch(fragment, /^install /m);
    assert.match(fragment, /^blacklist hfs$/m);
    assert.match(fragment, /^# install-in-force: etc\/modprobe\.d\/hfs\.conf:3 `install hfs \/bin\/false`$/m);
    assert.match(read(r, "usr/lib/modprobe.d/60-blacklist_fs-jfs.conf"), /^install jfs /m, "a module without a foreign line keeps our install line");
    inForce();
    const text = await cli(r, "apply", "--dry-run");
    assert.match(text.stdout, /Nothing to do/);
    assert.match(text.stdout, /hfs: etc\/modprobe\.d\/hfs\.conf:3 `install hfs \/bin\/false` stays in force/);

    // allow is refused (the administrator's file blacklists hfs): nothing changes.
    assert.equal((await cli(r, "allow", "hfs")).status, 1);
    inForce();
    const block = await cli(r, "block", "freevxfs", "--json");
    assert.equal(block.status, 0, block.stderr);
    assert.doesNotMatch(read(r, "etc/modprobe.d/60-blacklist_fs-freevxfs.conf"), /^install /m);
    inForce();
    assert.equal((await cli(r, "reset", "freevxfs")).status, 0);
    inForce();
    assert.equal((await cli(r, "uninstall")).status, 0);
    inForce();
  });
}

test("the same with a glob and in run/modprobe.d: `install hfs* /bin/true` is found and left in force", async (t) => {
  const r = root({ profile: "cis-l1", files: { "run/modprobe.d/site.conf": "install hfs* /bin/true\n" } });
  t.after(() => r.cleanup());
  assert.equal((await cli(r, "apply")).status, 0);
  assert.equal(installRun(r, "hfs"), "/bin/true");
  assert.equal(installRun(r, "hfsplus"), "/bin/true");
  assert.equal(installRun(r, "jfs"), "/bin/false");
});

/** The CIS benchmark's audit logic: `modprobe --showconfig` has `blacklist X` and `install X /bin/(true|false)`, and X is not loaded. */
function cisAuditLogic(r: FakeRoot, benchmark: Benchmark): Map<string, "pass" | "fail" | "notapplicable"> {
  const showconfig = modprobe(r, "-c").split("\n");
  const loaded = new Set(
    read(r, "proc/modules")
      .split("\n")
      .map((l) => l.split(" ")[0]),
  );
  const dep = read(r, `lib/modules/${r.release}/modules.dep`);
  const verdicts = new Map<string, "pass" | "fail" | "notapplicable">();
  for (const rule of filesystemRules(benchmark)) {
    if (!new RegExp(`/${rule.module}\\.ko[^:]*:`).test(dep)) {
      verdicts.set(rule.spelling, "notapplicable");
      continue;
    }
    const name = rule.spelling.replaceAll("-", "_");
    const blacklisted = showconfig.includes(`blacklist ${name}`);
    const install = showconfig.find((l) => l.startsWith(`install ${name} `));
    const disabled = install !== undefined && /^install \S+ \/bin\/(true|false)$/.test(install);
    verdicts.set(rule.spelling, blacklisted && disabled && !loaded.has(rule.module) ? "pass" : "fail");
  }
  return verdicts;
}

interface AuditJson {
  benchmark: string;
  rules: { id: string; module: string; result: string; reason: string; evidence: string[] }[];
}

for (const benchmark of ["cis-l1", "cis-l2"] as const) {
  test(`${benchmark} with nothing in use: audit exits 0 and agrees with the CIS audit logic rule by rule`, async (t) => {
    const r = root({ profile: benchmark });
    t.after(() => r.cleanup());
    const before = await cli(r, "audit", "--json");
    assert.equal(before.status, 1, "before apply the rules fail");
    assert.equal((await cli(r, "apply")).status, 0);
    const audit = await cli(r, "audit", "--json");
    assert.equal(audit.status, 0, audit.stdout);
    const json = JSON.parse(audit.stdout) as AuditJson;
    assert.equal(json.benchmark, benchmark);
    const cis = cisAuditLogic(r, benchmark);
    assert.deepEqual(new Map(json.rules.map((rule) => [rule.module, rule.result])), cis);
    assert.ok([...cis.values()].filter((v) => v === "pass").length >= (benchmark === "cis-l1" ? 4 : 7), JSON.stringify([...cis]));
    // Debian builds no cramfs: not applicable rather than passed.
    assert.equal(json.rules.find((rule) => rule.module === "cramfs")?.result, "notapplicable");
    assert.ok(json.rules.every((rule) => rule.id === `kernel_module_${rule.module}_disabled`));
  });
}

test("cis-l2 with hfsplus mounted and overlay loaded: apply keeps both and says so; audit exits 1 naming both with the reason", async (t) => {
  const r = root({
    profile: "cis-l2",
    loaded: ["hfsplus", "overlay"],
    mounts: [
      { source: "/dev/vda1", target: "/", fstype: "ext4" },
      { source: "/dev/sdb1", target: "/mnt/mac", fstype: "hfsplus" },
    ],
  });
  t.after(() => r.cleanup());
  const apply = await cli(r, "apply", "--json");
  assert.equal(apply.status, 0, apply.stderr);
  const json = JSON.parse(apply.stdout) as { kept: { module: string }[]; deviations: { module: string; reason: string }[] };
  assert.deepEqual(json.kept.map((k) => k.module).sort(), ["hfsplus", "overlay"]);
  assert.deepEqual(json.deviations.map((d) => d.module).sort(), ["hfsplus", "overlayfs"]);
  const audit = await cli(r, "audit", "--json");
  assert.equal(audit.status, 1);
  const rules = (JSON.parse(audit.stdout) as AuditJson).rules;
  const failed = rules.filter((rule) => rule.result === "fail");
  assert.deepEqual(failed.map((rule) => rule.module).sort(), ["hfsplus", "overlayfs"]);
  for (const rule of failed) {
    assert.match(rule.reason, /kept loadable by fsblacklist apply \(etc\/modprobe\.d\/60-blacklist_fs-\w+\.conf\)/);
    assert.match(rule.reason, /is loaded now \(proc\/modules\)/);
  }
  assert.deepEqual(new Map(rules.map((rule) => [rule.module, rule.result])), cisAuditLogic(r, "cis-l2"));
  const text = await cli(r, "audit");
  assert.match(text.stdout, /^ {2}fail +hfsplus +kernel_module_hfsplus_disabled/m);
});

test("cis-l2 on a container host: overlay is kept even when nothing has loaded it yet, and reported as a deviation", async (t) => {
  const r = root({ profile: "cis-l2", files: { "usr/bin/podman": "#!/bin/sh\n" } });
  t.after(() => r.cleanup());
  const json = JSON.parse((await cli(r, "apply", "--json")).stdout) as { kept: { module: string; reason: string }[]; deviations: { module: string; reason: string }[] };
  assert.deepEqual(
    json.kept.map((k) => [k.module, k.reason]),
    [["overlay", "container runtime Podman installed (usr/bin/podman)"]],
  );
  assert.match(json.deviations[0]!.reason, /kept loadable: container runtime Podman/);
  assert.equal(installRun(r, "overlay"), null, "overlay loads");
  assert.equal(installRun(r, "squashfs"), "/bin/false");
});

test("block usb-storage under cis-l2: the benchmark's spelling and /bin/false, kmod blocks it, the warning names uas and BMC virtual media", async (t) => {
  const r = root({ profile: "cis-l2" });
  t.after(() => r.cleanup());
  const block = await cli(r, "block", "usb-storage");
  assert.equal(block.status, 0, block.stderr);
  assert.match(block.stdout, /uas .*depends on it/);
  assert.match(block.stdout, /BMC virtual media/);
  const file = read(r, "etc/modprobe.d/60-blacklist_fs-usb_storage.conf");
  // OpenSCAP's patterns for kernel_module_usb-storage_disabled, by file and line.
  assert.match(file, /^\s*install\s+usb-storage\s+(\/bin\/false|\/bin\/true)$/m);
  assert.match(file, /^blacklist\s+usb-storage$/m);
  const showconfig = modprobe(r, "-c").split("\n");
  assert.ok(showconfig.includes("blacklist usb_storage"));
  assert.ok(showconfig.includes("install usb_storage /bin/false"));
});

test("no profile blocks usb-storage by itself", async () => {
  const policy = readFileSync(new URL("../../blacklist.d/policy.json", import.meta.url), "utf8");
  for (const profile of Object.keys(JSON.parse(policy).profiles as object)) {
    const r = root({ profile });
    try {
      assert.equal((await cli(r, "apply")).status, 0);
      assert.equal(installRun(r, "usb_storage"), null, profile);
      assert.ok(!modprobe(r, "-c").split("\n").includes("blacklist usb_storage"), profile);
    } finally {
      r.cleanup();
    }
  }
});

test("audit: bad usage exits 2; the default profile needs --benchmark", async (t) => {
  const r = root({});
  t.after(() => r.cleanup());
  const none = await cli(r, "audit");
  assert.equal(none.status, 2);
  assert.match(none.stderr, /serves no benchmark/);
  assert.equal((await cli(r, "audit", "--benchmark", "cis-l3")).status, 2);
  // The default profile fails the benchmark on purpose: its install line loads the module by name.
  assert.equal((await cli(r, "apply")).status, 0);
  const audit = JSON.parse((await cli(r, "audit", "--benchmark", "cis-l1", "--json")).stdout) as AuditJson;
  const hfs = audit.rules.find((rule) => rule.module === "hfs")!;
  assert.equal(hfs.result, "fail");
  assert.match(hfs.reason, /modprobe-hook hfs.*loading by name works/);
});

// kmod reads lib/modules/<release>/modules.softdep (and modules.weakdep) as configuration, whatever
// the lines in it: a line there is in force only while that kernel runs. Two real kernels' metadata,
// the lines of the hfs rule in one kernel's file only.
const HFS_LINES = "blacklist hfs\ninstall hfs /bin/false\n";
const NEWER: "6.12.100+deb12-amd64" = "6.12.100+deb12-amd64";

/** `modprobe --showconfig` as kmod prints it with that kernel's modules directory. */
function showconfigFor(r: FakeRoot, release: string): string[] {
  const dirs = CONFIG_DIRS.flatMap((d) => ["-C", path.join(r.dir, d)]);
  return spawnSync("modprobe", [...dirs, "-d", r.dir, "-S", release, "-c"], { encoding: "utf8" }).stdout.split("\n");
}

test("audit judges every installed kernel: the rule fails when another kernel than the running one would load the module", async (t) => {
  const r = root({ profile: "cis-l1" });
  t.after(() => r.cleanup());
  addKernel(r.dir, NEWER);
  appendFileSync(path.join(r.dir, `lib/modules/${DEFAULT_RELEASE}/modules.softdep`), HFS_LINES);
  // The oracle: kmod has both lines under the running kernel, neither under the newer one.
  assert.ok(showconfigFor(r, DEFAULT_RELEASE).includes("blacklist hfs"));
  assert.ok(showconfigFor(r, DEFAULT_RELEASE).includes("install hfs /bin/false"));
  assert.ok(!showconfigFor(r, NEWER).includes("blacklist hfs"));
  assert.ok(!showconfigFor(r, NEWER).some((l) => l.startsWith("install hfs ")));

  const audit = await cli(r, "audit", "--json");
  assert.equal(audit.status, 1, audit.stdout);
  const hfs = (JSON.parse(audit.stdout) as AuditJson).rules.find((rule) => rule.module === "hfs")!;
  assert.equal(hfs.result, "fail");
  assert.match(hfs.reason, new RegExp(`on ${NEWER.replace(/[.+]/g, "\\$&")}: no effective \`blacklist hfs\` line`));
  assert.doesNotMatch(hfs.reason, new RegExp(`on ${DEFAULT_RELEASE}:`));
  assert.ok(
    hfs.evidence.some((e) => e.startsWith(`on ${DEFAULT_RELEASE}: blacklist hfs (lib/modules/${DEFAULT_RELEASE}/modules.softdep:`)),
    hfs.evidence.join("\n"),
  );
  // cramfs: no Debian kernel builds it, in either kernel.
  const cramfs = (JSON.parse(audit.stdout) as AuditJson).rules.find((rule) => rule.module === "cramfs")!;
  assert.equal(cramfs.result, "notapplicable");
  assert.match(cramfs.reason, new RegExp(`no installed kernel has a cramfs module \\(${DEFAULT_RELEASE}, ${NEWER.replace(/[.+]/g, "\\$&")}\\)`));
});

test("audit with no running kernel (an image build): each kernel's own modules.softdep counts for it", async (t) => {
  const r = root({ profile: "cis-l1", running: false });
  t.after(() => r.cleanup());
  addKernel(r.dir, NEWER);
  for (const release of [DEFAULT_RELEASE, NEWER]) appendFileSync(path.join(r.dir, `lib/modules/${release}/modules.softdep`), HFS_LINES);
  for (const release of [DEFAULT_RELEASE, NEWER]) assert.ok(showconfigFor(r, release).includes("blacklist hfs"), release);
  const hfs = (JSON.parse((await cli(r, "audit", "--json")).stdout) as AuditJson).rules.find((rule) => rule.module === "hfs")!;
  assert.equal(hfs.result, "pass", hfs.reason);
  // Taken from the newer kernel only, the older one would load hfs.
  const older = path.join(r.dir, `lib/modules/${DEFAULT_RELEASE}/modules.softdep`);
  const text = readFileSync(older, "utf8");
  writeFileSync(older, text.slice(0, text.length - HFS_LINES.length));
  assert.ok(!showconfigFor(r, DEFAULT_RELEASE).includes("blacklist hfs"));
  const after = (JSON.parse((await cli(r, "audit", "--json")).stdout) as AuditJson).rules.find((rule) => rule.module === "hfs")!;
  assert.equal(after.result, "fail");
  assert.match(after.reason, new RegExp(`^on ${DEFAULT_RELEASE}: no effective \`blacklist hfs\` line`));
});

test("the benchmark table covers exactly the modules the levels name", () => {
  assert.deepEqual(
    filesystemRules("cis-l1").map((r) => r.spelling),
    ["cramfs", "freevxfs", "hfs", "hfsplus", "jffs2"],
  );
  assert.deepEqual(
    filesystemRules("cis-l2").map((r) => r.spelling),
    ["cramfs", "freevxfs", "hfs", "hfsplus", "jffs2", "overlayfs", "squashfs", "udf"],
  );
  assert.ok(BENCHMARK_RULES.some((r) => r.spelling === "usb-storage" && !r.filesystem));
});

// Each claim of src/policy/benchmarks.ts's header and of the profiles' descriptions in
// blacklist.d/policy.json, checked: the table against its source, the fragments apply writes
// against the scanners' per-file patterns, and what the real kmod enforces from them.

/**
 * ansible-lockdown's DEBIAN12-CIS, tasks/section_1/cis_1.1.1.x.yml at commit 1578d11: each
 * task's item, the module as the task names it, and its level tags (usb-storage: level1-server,
 * level2-workstation).
 */
const DEBIAN12_CIS_ROLE: [string, string, 1 | 2][] = [
  ["1.1.1.1", "cramfs", 1],
  ["1.1.1.2", "freevxfs", 1],
  ["1.1.1.3", "hfs", 1],
  ["1.1.1.4", "hfsplus", 1],
  ["1.1.1.5", "jffs2", 1],
  ["1.1.1.6", "overlayfs", 2],
  ["1.1.1.7", "squashfs", 2],
  ["1.1.1.8", "udf", 2],
  ["1.1.1.9", "usb-storage", 1],
];

test("benchmark table: Debian 12's items, spellings and levels are those of the ansible-lockdown role", () => {
  assert.deepEqual(
    BENCHMARK_RULES.map((r) => [r.items.find((i) => i.startsWith("CIS Debian 12 "))?.slice("CIS Debian 12 ".length), r.spelling, r.level]),
    DEBIAN12_CIS_ROLE,
  );
});

test("benchmark table: ComplianceAsCode's rule ids; each distribution's items in benchmark order; RHEL 9 has no overlayfs item", () => {
  for (const r of BENCHMARK_RULES) assert.equal(r.id, `kernel_module_${r.spelling}_disabled`);
  for (const distribution of ["CIS Debian 12", "CIS Ubuntu 24.04", "CIS RHEL 9"]) {
    const numbers = BENCHMARK_RULES.flatMap((r) => r.items.filter((i) => i.startsWith(`${distribution} `)).map((i) => i.slice(distribution.length + 1)));
    assert.deepEqual(
      numbers,
      numbers.map((_, i) => `1.1.1.${i + 1}`),
      `${distribution}: consecutive in table order`,
    );
  }
  assert.deepEqual(
    BENCHMARK_RULES.filter((r) => !r.items.some((i) => i.startsWith("CIS RHEL 9 "))).map((r) => r.spelling),
    ["overlayfs"],
  );
  for (const r of BENCHMARK_RULES) assert.equal(r.items.length, r.spelling === "overlayfs" ? 2 : 3, r.spelling);
  // Only usb-storage is a device item: audit judges the filesystem items, block serves usb-storage.
  assert.deepEqual(
    BENCHMARK_RULES.filter((r) => !r.filesystem).map((r) => r.spelling),
    ["usb-storage"],
  );
});

test("benchmark spellings: usb-storage is kmod's usb_storage; overlayfs is a name kmod never loads, the module is overlay", (t) => {
  for (const r of BENCHMARK_RULES) {
    if (r.spelling === "overlayfs") continue;
    assert.equal(r.spelling.replaceAll("-", "_"), r.module, `${r.spelling} is ${r.module} to kmod`);
  }
  const overlay = BENCHMARK_RULES.find((r) => r.spelling === "overlayfs")!;
  assert.equal(overlay.module, "overlay");
  // The real kernel's metadata and the real kmod: overlay resolves, overlayfs does not.
  const r = root({ files: { "etc/modprobe.d/scanner.conf": "blacklist usb-storage\ninstall usb-storage /bin/false\n" } });
  t.after(() => r.cleanup());
  const dep = read(r, `lib/modules/${r.release}/modules.dep`);
  assert.match(dep, /\/overlay\.ko[^:]*:/);
  assert.doesNotMatch(dep, /\/overlayfs\.ko/);
  assert.match(modprobe(r, "-n", "-v", "overlay"), /insmod .*\/overlay\.ko/);
  assert.match(modprobe(r, "-n", "-v", "overlayfs"), /not found/i);
  const showconfig = modprobe(r, "-c").split("\n");
  assert.ok(showconfig.includes("blacklist usb_storage") && showconfig.includes("install usb_storage /bin/false"), "kmod reads usb-storage as usb_storage");
});

test("profiles: cis-l1 is the default list, cis-l2 adds squashfs, udf and overlay, cis adds squashfs and udf; the levels' items are covered", () => {
  const policy = loadPolicy(shippedPolicyDir());
  const modules = (profile: string): string[] =>
    entriesForProfile(policy, profile)
      .map((e) => e.module)
      .sort();
  const plus = (list: string[], ...more: string[]): string[] => [...list, ...more].sort();
  assert.deepEqual(modules("cis-l1"), modules("default"));
  assert.deepEqual(modules("cis-l2"), plus(modules("cis-l1"), "overlay", "squashfs", "udf"));
  assert.deepEqual(modules("cis"), plus(modules("default"), "squashfs", "udf"));
  for (const benchmark of ["cis-l1", "cis-l2"] as const) {
    for (const r of filesystemRules(benchmark)) assert.ok(modules(benchmark).includes(r.module), `${benchmark} serves ${r.spelling}`);
  }
  for (const profile of Object.keys(policy.profiles)) assert.ok(!modules(profile).includes("usb_storage"), profile);
});

for (const profile of ["default", "cis", "cis-l1", "cis-l2"]) {
  test(`${profile}: each fragment's benchmark header, the names as the scanners grep them, and what kmod enforces`, async (t) => {
    const r = root({ profile });
    t.after(() => r.cleanup());
    assert.equal((await cli(r, "apply")).status, 0);
    const showconfig = modprobe(r, "-c").split("\n");
    const policy = loadPolicy(shippedPolicyDir());
    for (const entry of entriesForProfile(policy, profile)) {
      const text = read(r, `usr/lib/modprobe.d/${fragmentName(entry.module)}`);
      const lines = text.split("\n");
      const rule = ruleForModule(entry.module);
      const header = lines.filter((l) => l.startsWith("# benchmarks: "));
      // "Each fragment says which benchmark items it serves": under the profiles that write /bin/false.
      if (rule !== null && profile !== "default") assert.deepEqual(header, [`# benchmarks: ${rule.items.join(", ")} (${rule.id})`], entry.module);
      else assert.deepEqual(header, [], `${profile} ${entry.module}: no benchmark header`);

      if (profile === "default") {
        assert.ok(
          showconfig.some((l) => l.startsWith(`install ${entry.module} /usr/bin/fsblacklist modprobe-hook ${entry.module} `)),
          `${entry.module}: loading by name asks the hook`,
        );
      } else {
        assert.ok(showconfig.includes(`install ${entry.module} /bin/false`), `${profile} ${entry.module}: kmod refuses loading by name`);
      }
      assert.ok(showconfig.includes(`blacklist ${entry.module}`), `${profile} ${entry.module}: kmod blacklists it`);
      if (rule === null || (profile !== "cis-l1" && profile !== "cis-l2")) continue;
      // The scanners' per-file patterns (OpenSCAP's kernel_module_*_disabled), with the benchmark's spelling.
      const blacklistAt = lines.findIndex((l) => new RegExp(`^\\s*blacklist\\s+${rule.spelling}$`).test(l));
      const installAt = lines.findIndex((l) => new RegExp(`^\\s*install\\s+${rule.spelling}\\s+(/bin/false|/bin/true)$`).test(l));
      assert.ok(blacklistAt >= 0 && installAt >= 0, `${profile}: ${rule.spelling} as the scanners read it:\n${text}`);
      if (rule.spelling.replaceAll("-", "_") !== rule.module) {
        // The module's own lines first, so that kmod enforces what the scanner reads.
        assert.ok(lines.indexOf(`blacklist ${rule.module}`) >= 0 && lines.indexOf(`blacklist ${rule.module}`) < blacklistAt, text);
        assert.ok(lines.indexOf(`install ${rule.module} /bin/false`) >= 0 && lines.indexOf(`install ${rule.module} /bin/false`) < installAt, text);
      }
    }
  });
}
