// explain on a system with several kernels: when the filesystem has no module
// for the kernel judged, it says which other installed kernel has it (a module
// or built in, and inside the policy's kernel range).

import { test } from "node:test";
import assert from "node:assert/strict";
import { addKernel, createFakeRoot } from "../helpers/fake-root.ts";
import { runInProcess } from "../helpers/cli.ts";

interface ExplainJson {
  cause: string;
  evidence: string[];
  advice: string | null;
  kernel: string;
}

async function explain(root: string, type: string): Promise<ExplainJson> {
  const result = await runInProcess(["--root", root, "explain", "--type", type, "--json"]);
  assert.equal(result.status, 0, result.stderr);
  return JSON.parse(result.stdout) as ExplainJson;
}

test("the running cloud kernel lacks jfs and reiserfs: explain names the installed kernels where each works, never one outside the policy's range", async () => {
  const root = createFakeRoot({ kernel: "6.1.0-50-cloud-amd64" });
  addKernel(root.dir, "6.1.0-50-amd64");
  addKernel(root.dir, "6.12.100+deb12-amd64", "7.2.0-1-amd64");
  try {
    const jfs = await explain(root.dir, "jfs");
    assert.equal(jfs.kernel, "6.1.0-50-cloud-amd64");
    assert.equal(jfs.cause, "module-missing");
    assert.equal(jfs.evidence.at(-1), "jfs works on other installed kernels: 6.1.0-50-amd64 (module), 7.2.0-1-amd64 (module)");
    assert.match(jfs.advice ?? "", /Or boot one of the installed kernels 6\.1\.0-50-amd64, 7\.2\.0-1-amd64, where jfs works\.$/);

    // reiserfs left Linux in 6.13 (the policy's range <6.13.0): the 7.2 kernel's files do not count.
    const reiserfs = await explain(root.dir, "reiserfs");
    assert.equal(reiserfs.evidence.at(-1), "reiserfs works on another installed kernel: 6.1.0-50-amd64 (module)");

    const text = await runInProcess(["--root", root.dir, "explain", "--type", "jfs"]);
    assert.match(text.stdout, /^  jfs works on other installed kernels: 6\.1\.0-50-amd64 \(module\), 7\.2\.0-1-amd64 \(module\)$/m);
  } finally {
    root.cleanup();
  }
});

test("a single kernel, or a filesystem every kernel lacks: nothing about other kernels", async () => {
  const root = createFakeRoot({ kernel: "6.1.0-50-cloud-amd64" });
  try {
    assert.ok(!(await explain(root.dir, "jfs")).evidence.some((e) => e.includes("installed kernel")));
    addKernel(root.dir, "6.1.0-50-amd64");
    const cramfs = await explain(root.dir, "cramfs");
    assert.ok(!cramfs.evidence.some((e) => e.includes("installed kernel")), cramfs.evidence.join("\n"));
  } finally {
    root.cleanup();
  }
});
