// The shipped blacklist.d/ against the real kmod and the module metadata of three
// real Debian kernels.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { appliesToKernel, entriesForProfile, fragmentName, hookInstallLine, loadPolicy, renderFragment, shippedPolicyDir, type PolicyEntry } from "../../src/policy/policy.ts";
import { createFakeRoot, FIXTURE_KERNELS_DIR, FIXTURE_RELEASES } from "../helpers/fake-root.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const policy = loadPolicy(shippedPolicyDir());

function modprobe(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync("modprobe", args, { cwd: REPO, encoding: "utf8", env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin" } });
  return { status: result.status, stdout: result.stdout, stderr: result.stderr };
}

/** Module name -> its fs-* aliases, for every module in a fixture kernel's metadata. */
function kernelModules(release: string): Map<string, string[]> {
  const dir = path.join(FIXTURE_KERNELS_DIR, release);
  const modules = new Map<string, string[]>();
  for (const line of readFileSync(path.join(dir, "modules.dep"), "utf8").split("\n")) {
    const file = line.split(":")[0]!;
    if (file) modules.set(path.basename(file).replace(/\.ko(\.\w+)?$/, ""), []);
  }
  for (const line of readFileSync(path.join(dir, "modules.alias"), "utf8").split("\n")) {
    const match = /^alias fs-(\S+) (\S+)$/.exec(line);
    if (match) modules.get(match[2]!)?.push(match[1]!);
  }
  return modules;
}
const KERNELS = new Map<string, Map<string, string[]>>(FIXTURE_RELEASES.map((release) => [release, kernelModules(release)]));

test("the shipped policy loads, and every fragment is exactly what renderFragment writes for the default style", () => {
  assert.equal(policy.dir, path.join(REPO, "blacklist.d"));
  assert.equal(policy.version, JSON.parse(readFileSync(path.join(REPO, "blacklist.d/policy.json"), "utf8")).version);
  assert.ok(policy.entries.length >= 25);
  for (const entry of policy.entries) {
    assert.equal(path.basename(entry.file), fragmentName(entry.module));
    assert.equal(readFileSync(entry.file, "utf8"), renderFragment(entry, "default"), entry.file);
    assert.ok(entry.description, `${entry.module} has a description`);
    assert.ok(entry.reason.length >= 40, `${entry.module}: the reason is specific`);
  }
});

test("kmod 30 reads every shipped fragment without a diagnostic (modprobe -C blacklist.d -c)", () => {
  const result = modprobe(["-C", "blacklist.d", "-c"]);
  assert.equal(result.status, 0);
  assert.equal(result.stderr, "");
  const lines = new Set(result.stdout.split("\n"));
  for (const entry of policy.entries) {
    assert.ok(lines.has(`blacklist ${entry.module}`), `blacklist ${entry.module}`);
    assert.ok(lines.has(hookInstallLine(entry.module)), `install ${entry.module}`);
  }
});

test("kmod reads the cis rendering without a diagnostic, with the CIS install line", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "fsb-policy-cis-"));
  try {
    const cis = entriesForProfile(policy, "cis");
    for (const entry of cis) writeFileSync(path.join(dir, fragmentName(entry.module)), renderFragment(entry, "cis"));
    const result = modprobe(["-C", dir, "-c"]);
    assert.equal(result.status, 0);
    assert.equal(result.stderr, "");
    const lines = new Set(result.stdout.split("\n"));
    for (const entry of cis) {
      assert.ok(lines.has(`blacklist ${entry.module}`));
      assert.ok(lines.has(`install ${entry.module} /bin/false`));
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("on a Debian kernel, kmod refuses the kernel's alias request, runs the hook line by name, and passes options on", () => {
  const root = createFakeRoot({ kernel: "6.1.0-50-amd64" });
  const cisDir = mkdtempSync(path.join(tmpdir(), "fsb-policy-cis-"));
  try {
    const dryRun = (confDir: string, ...args: string[]) => modprobe(["-C", confDir, "-d", root.dir, "-S", root.release!, "-n", "-v", ...args]);
    const shipped = path.join(REPO, "blacklist.d");
    // What the kernel asks for when mounting a jfs image: nothing is inserted.
    assert.deepEqual(dryRun(shipped, "fs-jfs"), { status: 0, stdout: "", stderr: "" });
    assert.deepEqual(dryRun(shipped, "fs-vxfs"), { status: 0, stdout: "", stderr: "" });
    // `modprobe jfs` by name: the install line, with the command line's options for $CMDLINE_OPTS.
    assert.equal(dryRun(shipped, "jfs", "foo=1").stdout, `install ${hookInstallLine("jfs").slice("install jfs ".length)} foo=1\n`);
    // A filesystem outside the policy still loads.
    assert.match(dryRun(shipped, "fs-vfat").stdout, /insmod \S+\/fat\.ko \ninsmod \S+\/vfat\.ko \n/);

    const jfs = policy.entries.find((e) => e.module === "jfs")!;
    writeFileSync(path.join(cisDir, fragmentName("jfs")), renderFragment(jfs, "cis"));
    assert.equal(dryRun(cisDir, "jfs").stdout, "install /bin/false \n");
  } finally {
    root.cleanup();
    rmSync(cisDir, { recursive: true, force: true });
  }
});

/** Config lines of the Debian kernels saying "this module exists but is not built". */
const UNBUILT_EVIDENCE = readFileSync(new URL("fixtures/debian-unbuilt.txt", import.meta.url), "utf8");
const CONFIG_SYMBOL: Record<string, string> = { cramfs: "CRAMFS" };

test("every module exists in at least one Debian kernel, or its kernel range or Debian's configuration says why not", () => {
  for (const entry of policy.entries) {
    const present = FIXTURE_RELEASES.filter((release) => KERNELS.get(release)!.has(entry.module));
    if (present.length > 0) {
      for (const release of present) assert.ok(appliesToKernel(entry, release), `${entry.module} is in ${release} but its range ${entry.kernels} excludes it`);
      continue;
    }
    const excluded = FIXTURE_RELEASES.filter((release) => !appliesToKernel(entry, release));
    if (entry.kernels !== null && excluded.length > 0) continue;
    const symbol = CONFIG_SYMBOL[entry.module];
    assert.ok(symbol, `${entry.module} is in none of ${FIXTURE_RELEASES.join(", ")} and has no kernel range explaining it`);
    for (const release of FIXTURE_RELEASES) {
      assert.ok(UNBUILT_EVIDENCE.includes(`\n${release}: # CONFIG_${symbol} is not set\n`), `${release} does not build ${entry.module}`);
    }
  }
});

test("the removed filesystems' ranges match the Debian kernels that still ship them", () => {
  const has = (module: string, release: string): boolean => KERNELS.get(release)!.has(module);
  const entry = (module: string): PolicyEntry => policy.entries.find((e) => e.module === module)!;
  for (const [module, release] of [
    ["reiserfs", "6.12.100+deb12-amd64"],
    ["sysv", "6.12.100+deb12-amd64"],
    ["ntfs3", "6.12.100+deb12-amd64"],
  ] as const) {
    assert.ok(has(module, release));
    assert.ok(appliesToKernel(entry(module), release));
  }
  assert.equal(appliesToKernel(entry("exofs"), "6.1.0-50-amd64"), false);
  assert.equal(appliesToKernel(entry("ntfs"), "6.12.100+deb12-amd64"), false);
});

test("each entry's filesystem types are exactly its module's fs-* aliases in the Debian kernels that have it", () => {
  for (const entry of policy.entries) {
    for (const [release, modules] of KERNELS) {
      const aliases = modules.get(entry.module);
      if (aliases === undefined) continue;
      assert.deepEqual([...aliases].sort(), [...entry.filesystems].sort(), `${entry.module} in ${release}`);
    }
  }
});

test("no module outside the policy depends on a policy module, so the install lines never block another filesystem", () => {
  const blocked = new Set(policy.entries.map((e) => e.module));
  for (const release of FIXTURE_RELEASES) {
    for (const line of readFileSync(path.join(FIXTURE_KERNELS_DIR, release, "modules.dep"), "utf8").split("\n")) {
      const [module, deps] = line.split(":");
      if (!module || !deps) continue;
      for (const dep of deps.trim().split(/\s+/).filter(Boolean)) {
        const name = path.basename(dep).replace(/\.ko(\.\w+)?$/, "");
        assert.ok(!blocked.has(name), `${path.basename(module)} needs ${name} in ${release}`);
      }
    }
  }
});

test("profiles: cis is default plus squashfs and udf; what the review left out is not shipped", () => {
  const names = (profile: string): string[] => entriesForProfile(policy, profile).map((e) => e.module);
  const defaults = names("default");
  assert.deepEqual(
    names("cis").filter((m) => !defaults.includes(m)),
    ["squashfs", "udf"],
  );
  for (const module of defaults) assert.ok(names("cis").includes(module));
  for (const cis of ["cramfs", "freevxfs", "hfs", "hfsplus", "jffs2", "squashfs", "udf"]) assert.ok(names("cis").includes(cis));
  for (const left of ["erofs", "pstore", "zonefs", "orangefs", "fat", "vfat", "isofs", "vxfs", "iso9660"]) {
    assert.equal(
      policy.entries.find((e) => e.module === left),
      undefined,
      left,
    );
  }
});

test("docs/policy.md has a table row for every entry with its module, kernels, profiles and references", () => {
  const doc = readFileSync(path.join(REPO, "docs/policy.md"), "utf8");
  const rows = new Map<string, string>();
  // Cells split at unescaped pipes; "\\|" is a pipe inside a cell (the ntfs range).
  const cellsOf = (line: string): string[] => line.split(/(?<!\\)\|/).map((c) => c.trim().replaceAll("\\|", "|"));
  for (const line of doc.split("\n")) {
    const cells = cellsOf(line);
    const module = /^`([^`]+)`$/.exec(cells[2] ?? "")?.[1];
    if (line.startsWith("|") && module) rows.set(module, line);
  }
  for (const entry of policy.entries) {
    const row = rows.get(entry.module);
    assert.ok(row, `docs/policy.md has no row for ${entry.module}`);
    const cells = cellsOf(row);
    assert.equal(cells[1], entry.filesystems.map((f) => `\`${f}\``).join(", "), `filesystems of ${entry.module}`);
    assert.equal(cells[3], entry.reason, `reason of ${entry.module}`);
    assert.equal(cells[5], entry.kernels === null ? "all" : `\`${entry.kernels}\``, `kernels of ${entry.module}`);
    assert.equal(cells[6], entry.profiles.join(", "), `profiles of ${entry.module}`);
    for (const ref of entry.references) assert.ok(cells[4]!.includes(ref.startsWith("CVE-") ? ref : `(${ref})`), `${ref} in the row of ${entry.module}`);
  }
  assert.equal(rows.size, policy.entries.length);
});
