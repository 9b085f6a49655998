// With --json every command prints exactly one JSON document on stdout, on
// failure too: {"error": {"message", "hint", "exitCode"}} and what the run knew.
// With the command lines scripts and the Ansible module pass, through main().

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInProcess, type CliResult } from "../helpers/cli.ts";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";

interface ErrorDoc {
  error: { message: string; hint: string | null; exitCode: number };
  [key: string]: unknown;
}

/** The one document on stdout, which must be an error with the run's exit code. */
function errorOf(result: CliResult, exitCode: number): ErrorDoc {
  assert.equal(result.status, exitCode, result.stderr);
  const doc = JSON.parse(result.stdout) as ErrorDoc;
  assert.deepEqual(Object.keys(doc.error), ["message", "hint", "exitCode"]);
  assert.equal(doc.error.exitCode, exitCode);
  assert.ok(doc.error.message.length > 0);
  // stderr still tells a person the same thing.
  assert.ok(result.stderr.includes(doc.error.message.split("\n")[0]!.slice(0, 40)), result.stderr);
  return doc;
}

async function withRoot(spec: Parameters<typeof createFakeRoot>[0], body: (root: FakeRoot) => Promise<void>): Promise<void> {
  const root = createFakeRoot(spec);
  try {
    await body(root);
  } finally {
    root.cleanup();
  }
}

const FOREIGN_STATE = { "var/lib/fsblacklist/state.json": '{"owner": "someone else"}\n' };

test("usage errors (exit 2) print an error document: an unknown option, a missing argument, an unknown command", async () => {
  for (const argv of [
    ["status", "--json", "--bogus"],
    ["allow", "--json"],
    ["--json", "frobnicate"],
    ["status", "--json", "--kernel"],
  ]) {
    const doc = errorOf(await runInProcess(argv), 2);
    assert.equal(doc.error.hint, "run 'fsblacklist --help' for usage");
  }
});

test("--json after -- is an argument, not the option: no document", async () => {
  const result = await runInProcess(["status", "--", "--json"]);
  assert.equal(result.status, 2);
  assert.equal(result.stdout, "");
});

test("status, showconfig, audit, explain: bad input is an error document with exit 2", async () => {
  await withRoot({}, async (root) => {
    const status = errorOf(await runInProcess(["status", "nosuchfs", "--root", root.dir, "--json"]), 2);
    assert.match(status.error.message, /nosuchfs/);
    errorOf(await runInProcess(["showconfig", "--root", path.join(root.dir, "missing"), "--json"]), 2);
    errorOf(await runInProcess(["audit", "--benchmark", "nonesuch", "--root", root.dir, "--json"]), 2);
    const explain = errorOf(await runInProcess(["explain", path.join(root.dir, "no-such-image"), "--root", root.dir, "--json"]), 2);
    assert.match(explain.error.message, /no-such-image/);
    errorOf(await runInProcess(["review", "--root", root.dir, "--json"]), 2);
  });
});

test("--root '' is a usage error document for every command", async () => {
  for (const command of ["status", "showconfig", "apply", "uninstall", "audit"]) errorOf(await runInProcess([command, "--root", "", "--json"]), 2);
});

test("apply and uninstall refuse a foreign state file with an error document (exit 1)", async () => {
  await withRoot({ files: FOREIGN_STATE }, async (root) => {
    for (const argv of [["apply"], ["apply", "--dry-run"], ["uninstall"], ["uninstall", "--purge", "--dry-run"]]) {
      const doc = errorOf(await runInProcess([...argv, "--root", root.dir, "--json"]), 1);
      assert.match(doc.error.message, /not fsblacklist's state file/);
      assert.match(doc.error.hint ?? "", /stateFile/);
    }
  });
});

test("apply into a read-only modprobe.d: the error document, and nothing written", { skip: process.getuid?.() !== 0 && "needs root (chattr +i)" }, async () => {
  await withRoot({}, async (root) => {
    const vendor = path.join(root.dir, "usr/lib/modprobe.d");
    fs.mkdirSync(vendor, { recursive: true });
    execFileSync("chattr", ["+i", vendor]);
    try {
      const doc = errorOf(await runInProcess(["apply", "--root", root.dir, "--json"]), 1);
      assert.match(doc.error.message, /cannot write usr\/lib\/modprobe\.d\/.*operation not permitted/);
      assert.deepEqual(fs.readdirSync(vendor), []);
    } finally {
      execFileSync("chattr", ["-i", vendor]);
    }
  });
});

test("a refused allow prints the error with the plan beside it, dry run or not", { skip: process.getuid?.() !== 0 && "needs root to change overrides" }, async () => {
  await withRoot({ files: { "etc/modprobe.d/local.conf": "install jfs /bin/false\n" } }, async (root) => {
    for (const dryRun of [["--dry-run"], []]) {
      const doc = errorOf(await runInProcess(["allow", "jfs", ...dryRun, "--root", root.dir, "--json"]), 1);
      assert.match(doc.error.message, /refused/);
      const actions = doc["actions"] as { action: string; module: string; reason: string }[];
      assert.equal(actions.length, 1);
      assert.equal(actions[0]!.action, "refused");
      assert.match(actions[0]!.reason, /local\.conf:1/);
      assert.equal(doc["dryRun"], dryRun.length > 0);
    }
    assert.deepEqual(fs.readdirSync(path.join(root.dir, "etc/modprobe.d")), ["local.conf"]);
  });
});

test("block of a dependency-only module and reset of an administrator's file are error documents (exit 1)", async () => {
  await withRoot({ files: { "etc/modprobe.d/60-blacklist_fs-hfs.conf": "blacklist hfs\n" } }, async (root) => {
    const block = errorOf(await runInProcess(["block", "fat", "--dry-run", "--root", root.dir, "--json"]), 1);
    assert.equal((block["actions"] as { action: string }[])[0]!.action, "refused");
    const reset = errorOf(await runInProcess(["reset", "hfs", "--dry-run", "--root", root.dir, "--json"]), 1);
    assert.equal((reset["actions"] as { action: string }[])[0]!.action, "refused");
  });
});

test("success still prints one document without an error key", async () => {
  await withRoot({}, async (root) => {
    for (const argv of [["status"], ["showconfig"], ["apply", "--dry-run"], ["uninstall", "--dry-run"], ["explain", "--type", "jfs"], ["block", "jfs", "--dry-run"]]) {
      const result = await runInProcess([...argv, "--root", root.dir, "--json"]);
      assert.equal(result.status, 0, `${argv.join(" ")}: ${result.stderr}`);
      const doc = JSON.parse(result.stdout) as Record<string, unknown>;
      assert.equal("error" in doc, false);
    }
  });
});
