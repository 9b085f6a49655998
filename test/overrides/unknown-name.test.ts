// A name for allow/block/reset that no installed kernel and not the policy
// knows: the pure decision (one row per rule), then the same rules through
// planOverride on fake roots, where the facts are read.

import { describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createContext, type IO } from "../../src/context.ts";
import { refuseUnknownName, type UnknownNameFacts } from "../../src/decide/unknown-name.ts";
import { FsbError } from "../../src/errors.ts";
import { planOverride } from "../../src/services/overrides.ts";
import { policyRoot, snapshotTree } from "./helpers.ts";
import type { FakeRootSpec } from "../helpers/fake-root.ts";

const KERNELS = ["6.1.0-50-amd64", "6.12.100+deb12-amd64"];
const base: UnknownNameFacts = { request: "block", name: "jsf", releases: KERNELS, blacklisted: false, overridden: false };

describe("refuseUnknownName", () => {
  const rows: { title: string; facts: Partial<UnknownNameFacts>; refused: boolean }[] = [
    { title: "block of a name nothing knows: a typo", facts: {}, refused: true },
    { title: "allow of a name nothing knows: a typo", facts: { request: "allow" }, refused: true },
    { title: "reset: whatever the name, there may be an override to drop", facts: { request: "reset" }, refused: false },
    { title: "no installed kernel to ask (an image being built)", facts: { releases: [] }, refused: false },
    { title: "the configuration blacklists it already", facts: { blacklisted: true }, refused: false },
    { title: "allow of a name the configuration blacklists", facts: { request: "allow", blacklisted: true }, refused: false },
    { title: "something is at its override path", facts: { overridden: true }, refused: false },
    { title: "reset without any kernel", facts: { request: "reset", releases: [] }, refused: false },
  ];
  for (const row of rows) {
    test(row.title, () => {
      const refusal = refuseUnknownName({ ...base, ...row.facts });
      assert.equal(refusal !== null, row.refused, JSON.stringify(refusal));
    });
  }

  test("the refusal names the name and every kernel asked, and says what to do", () => {
    assert.deepEqual(refuseUnknownName({ ...base, releases: ["6.1.0-50-amd64"] }), {
      message: "unknown filesystem or module 'jsf': no installed kernel (6.1.0-50-amd64) has a module or filesystem of that name, and the policy does not list it",
      hint: "check the spelling; fsblacklist status lists the policy's filesystems",
    });
    assert.match(refuseUnknownName(base)!.message, /\(6\.1\.0-50-amd64, 6\.12\.100\+deb12-amd64\)/);
  });
});

describe("planOverride with a name nothing knows", () => {
  const io: IO = { stdout: { write: () => undefined, isTTY: false }, stderr: { write: () => undefined, isTTY: false }, env: {}, uid: 0 };

  async function plan(spec: FakeRootSpec, request: "allow" | "block" | "reset", files: Record<string, string> = {}) {
    const root = policyRoot(spec);
    try {
      for (const [file, text] of Object.entries(files)) {
        fs.mkdirSync(path.dirname(path.join(root.dir, file)), { recursive: true });
        fs.writeFileSync(path.join(root.dir, file), text);
      }
      const before = snapshotTree(root.dir);
      const ctx = await createContext({ root: root.dir }, io);
      try {
        return await planOverride(ctx, request, ["nosuchfs"]);
      } finally {
        assert.deepEqual(snapshotTree(root.dir), before, "planning writes nothing");
      }
    } finally {
      root.cleanup();
    }
  }

  test("is a usage error naming the installed kernels", async () => {
    await assert.rejects(plan({}, "block"), (error: unknown) => {
      assert.ok(error instanceof FsbError);
      assert.equal(error.exitCode, 2);
      assert.match(error.message, /^unknown filesystem or module 'nosuchfs': no installed kernel \(6\.1\.0-50-amd64\) has/);
      return true;
    });
  });

  test("is taken as a module name when an administrator's file blacklists it", async () => {
    const { changes } = await plan({}, "allow", { "etc/modprobe.d/local.conf": "blacklist nosuchfs\n" });
    assert.deepEqual(
      changes.map((c) => [c.action, c.module]),
      [["refused", "nosuchfs"]],
      "allowed as a module; refused only because the administrator's line stays",
    );
  });

  test("is taken as a module name when its override path holds a file", async () => {
    const { changes } = await plan({}, "block", { "etc/modprobe.d/60-blacklist_fs-nosuchfs.conf": "# the administrator's\n" });
    assert.deepEqual(
      changes.map((c) => [c.action, c.module]),
      [["refused", "nosuchfs"]],
    );
  });

  test("is taken as a module name by reset, and without an installed kernel", async () => {
    assert.deepEqual(
      (await plan({}, "reset")).changes.map((c) => [c.action, c.module]),
      [["unchanged", "nosuchfs"]],
    );
    const noKernel = await plan({ kernel: null }, "block");
    assert.deepEqual(
      noKernel.changes.map((c) => [c.action, c.module, c.path]),
      [["block", "nosuchfs", "etc/modprobe.d/60-blacklist_fs-nosuchfs.conf"]],
    );
  });
});
