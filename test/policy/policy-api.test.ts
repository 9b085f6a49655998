// What the rest of the tool asks of the policy: rendering per profile, kernel
// ranges against real release strings, lookups, and finding blacklist.d/ both
// from the sources and from the bundle.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { RuntimeFailure, UsageError } from "../../src/errors.ts";
import {
  appliesToKernel,
  entriesForProfile,
  falseInstallLine,
  findEntry,
  fragmentModuleOf,
  hookInstallLine,
  kernelVersion,
  loadPolicy,
  renderFragment,
  shippedPolicyDir,
  type PolicyEntry,
} from "../../src/policy/policy.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const policy = loadPolicy(shippedPolicyDir());

const reiserfs: PolicyEntry = {
  module: "reiserfs",
  filesystems: ["reiserfs"],
  description: "ReiserFS version 3",
  reason: "Removed in Linux 6.13.",
  references: ["https://example.org/reiserfs"],
  since: "1.0.0",
  kernels: "<6.13.0",
  profiles: ["default", "cis"],
  file: "/nonexistent/60-blacklist_fs-reiserfs.conf",
};

test("renderFragment: the hook line for default, the CIS line for cis, the same header for both", () => {
  const header = [
    "# fsblacklist-policy: fragment",
    "# filesystem: reiserfs",
    "# description: ReiserFS version 3",
    "# reason: Removed in Linux 6.13.",
    "# references: https://example.org/reiserfs",
    "# since: 1.0.0",
    "# kernels: <6.13.0",
    "# profiles: default, cis",
    "blacklist reiserfs",
  ].join("\n");
  assert.equal(renderFragment(reiserfs, "default"), `${header}\ninstall reiserfs /usr/bin/fsblacklist modprobe-hook reiserfs 2>/dev/null; /sbin/modprobe --ignore-install reiserfs $CMDLINE_OPTS\n`);
  assert.equal(renderFragment(reiserfs, "cis"), `${header}\ninstall reiserfs /bin/false\n`);
  const bare = renderFragment({ ...reiserfs, description: null, references: [], kernels: null }, "default");
  assert.ok(!/^# (description|references|kernels):/m.test(bare));
});

test("renderFragment keeps every header value on one line, so text cannot become a directive", () => {
  const text = renderFragment({ ...reiserfs, reason: "line one\ninstall reiserfs /bin/sh -c reboot\r\nblacklist ext4", description: "ends in \\" }, "default");
  assert.equal(text.split("\n").filter((line) => !line.startsWith("#")).length, 3);
  assert.match(text, /^# reason: line one install reiserfs \/bin\/sh -c reboot blacklist ext4$/m);
  assert.match(text, /^# description: ends in$/m);
});

test("install lines are built only from valid module names", () => {
  for (const bad of ["jfs; reboot", "jfs $(reboot)", "", "-jfs", "j".repeat(57)]) {
    assert.throws(() => hookInstallLine(bad), RuntimeFailure, bad);
    assert.throws(() => falseInstallLine(bad), RuntimeFailure, bad);
    assert.throws(() => renderFragment({ ...reiserfs, module: bad }, "cis"), RuntimeFailure, bad);
  }
});

test("fragmentModuleOf recognises our rendered files by content, and nothing else", () => {
  assert.equal(fragmentModuleOf(renderFragment(reiserfs, "cis")), "reiserfs");
  assert.equal(fragmentModuleOf("blacklist reiserfs\n"), null);
  assert.equal(fragmentModuleOf("# fsblacklist-policy: fragment\nblacklist reiser;fs\n"), null);
});

test("appliesToKernel coerces kernel releases to semver, never compares them as text", () => {
  const ntfs = findEntry(policy, "ntfs")!;
  const sysv = findEntry(policy, "sysv")!;
  const ntfs3 = findEntry(policy, "ntfs3")!;
  const cases: [string, string | null, PolicyEntry, boolean][] = [
    ["6.18.44-fc-v657", "6.18.44", reiserfs, false],
    ["6.18.44-fc-v657", "6.18.44", ntfs, false],
    ["6.18.44-fc-v657", "6.18.44", ntfs3, true],
    ["6.1.0-50-amd64", "6.1.0", reiserfs, true],
    ["6.1.0-50-amd64", "6.1.0", ntfs, true],
    ["6.12.100+deb12-amd64", "6.12.100", sysv, true],
    ["6.12.100+deb12-amd64", "6.12.100", ntfs, false],
    // As text "6.9.0" > "6.13.0" and "6.15.1" < "6.9": a string compare would get these wrong.
    ["6.9.0-1-generic", "6.9.0", reiserfs, true],
    ["6.15.1-arch1-1", "6.15.1", sysv, false],
    ["6.13.0-rc1", "6.13.0", reiserfs, false],
    ["7.1.0-rc2", "7.1.0", ntfs, true],
    ["5.14.21-150400.24-default", "5.14.21", ntfs3, false],
  ];
  for (const [release, version, entry, expected] of cases) {
    assert.equal(kernelVersion(release), version, release);
    assert.equal(appliesToKernel(entry, release), expected, `${entry.module} on ${release}`);
  }
});

test("an entry without a range, or a release without a version, applies", () => {
  const jfs = findEntry(policy, "jfs")!;
  assert.equal(jfs.kernels, null);
  assert.equal(appliesToKernel(jfs, "6.1.0-50-amd64"), true);
  assert.equal(kernelVersion("custom-kernel"), null);
  assert.equal(appliesToKernel(reiserfs, "custom-kernel"), true);
});

test("findEntry finds by module name first, then by filesystem type", () => {
  assert.equal(findEntry(policy, "freevxfs")?.module, "freevxfs");
  assert.equal(findEntry(policy, "vxfs")?.module, "freevxfs");
  assert.equal(findEntry(policy, "afs")?.module, "kafs");
  assert.equal(findEntry(policy, "v7")?.module, "sysv");
  assert.equal(findEntry(policy, "ntfs")?.module, "ntfs");
  assert.equal(findEntry(policy, "iso9660"), null);
  assert.equal(findEntry(policy, "ext4"), null);
});

test("entriesForProfile: an unknown profile is a usage error naming the known ones", () => {
  assert.ok(entriesForProfile(policy, "default").every((e) => e.profiles.includes("default")));
  assert.throws(
    () => entriesForProfile(policy, "paranoid"),
    (error: unknown) => error instanceof UsageError && /unknown policy profile 'paranoid'/.test(error.message) && /default, cis/.test(error.hint ?? ""),
  );
});

test("shippedPolicyDir finds blacklist.d from the sources and from the bundle, in dist/ and dist/chunks/", async () => {
  assert.equal(shippedPolicyDir(), path.join(REPO, "blacklist.d"));
  const work = mkdtempSync(path.join(tmpdir(), "fsb-policy-bundle-"));
  try {
    cpSync(path.join(REPO, "blacklist.d"), path.join(work, "blacklist.d"), { recursive: true });
    const entry = path.join(work, "entry.ts");
    writeFileSync(
      entry,
      `import { loadPolicy, shippedPolicyDir } from ${JSON.stringify(path.join(REPO, "src/policy/policy.ts"))};\nconsole.log(JSON.stringify([shippedPolicyDir(), loadPolicy(shippedPolicyDir()).entries.length]));\n`,
    );
    for (const out of ["dist/main.js", "dist/chunks/policy-X.js"]) {
      await build({ entryPoints: [entry], outfile: path.join(work, out), bundle: true, format: "esm", platform: "node", logLevel: "silent" });
      const result = spawnSync(process.execPath, [path.join(work, out)], { encoding: "utf8" });
      assert.equal(result.stderr, "");
      assert.deepEqual(JSON.parse(result.stdout), [path.join(work, "blacklist.d"), policy.entries.length], out);
    }
    rmSync(path.join(work, "blacklist.d"), { recursive: true });
    const missing = spawnSync(process.execPath, [path.join(work, "dist/main.js")], { encoding: "utf8" });
    assert.notEqual(missing.status, 0);
    assert.match(missing.stderr, /the shipped policy is missing/);
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
});
