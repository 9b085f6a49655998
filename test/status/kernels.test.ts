// status --all-kernels and --kernel on fake roots with two and three kernel
// metadata trees: Debian's 6.1 (filesystems as modules), 6.1 cloud (ext4 built
// in, most filesystem modules not built) and 6.12 renamed 7.2.0-1-amd64 to
// stand for a kernel after reiserfs left (the policy's range <6.13.0).

import { test } from "node:test";
import assert from "node:assert/strict";
import { addKernel, createFakeRoot } from "../helpers/fake-root.ts";
import { runInProcess } from "../helpers/cli.ts";

const FUTURE = "7.2.0-1-amd64";

function threeKernels() {
  const root = createFakeRoot({ loaded: ["jfs"] });
  addKernel(root.dir, "6.1.0-50-cloud-amd64");
  addKernel(root.dir, "6.12.100+deb12-amd64", FUTURE);
  return root;
}

test("--all-kernels --json: per kernel, a module present in one kernel only, built into another, outside the entry's range in a third", async () => {
  const root = threeKernels();
  try {
    const result = await runInProcess(["--root", root.dir, "status", "--all-kernels", "--json", "ext4", "jfs", "reiserfs", "sysv"]);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { kernel: string; kernels: Record<string, Record<string, string>> };
    assert.equal(report.kernel, "6.1.0-50-amd64");
    assert.deepEqual(report.kernels, {
      "6.1.0-50-amd64": { ext4: "present", jfs: "present", reiserfs: "present", sysv: "present" },
      // The cloud kernel: ext4 compiled in (fs-ext4 in modules.builtin.modinfo), jfs and reiserfs not built, sysv a module.
      "6.1.0-50-cloud-amd64": { ext4: "builtin", jfs: "not-built", reiserfs: "not-built", sysv: "present" },
      // The policy lists reiserfs for <6.13.0 and sysv for <6.15.0: a 7.2 kernel is outside both, whatever its files say.
      [FUTURE]: { ext4: "present", jfs: "present", reiserfs: "outside-range", sysv: "outside-range" },
    });
  } finally {
    root.cleanup();
  }
});

test("--all-kernels in text: a column per kernel, named below the table", async () => {
  const root = threeKernels();
  try {
    const result = await runInProcess(["--root", root.dir, "status", "--all-kernels", "ext4", "jfs", "reiserfs"]);
    assert.equal(result.status, 0, result.stderr);
    assert.match(result.stdout, /^FILESYSTEM +STATE +IN USE +K1 +K2 +K3 +DECIDED BY$/m);
    assert.match(result.stdout, /^ext4 +allowed +mounted +module +built-in +module +-$/m);
    assert.match(result.stdout, /^jfs +allowed +loaded +module +none +module +-$/m);
    assert.match(result.stdout, /^reiserfs +allowed +- +module +none +range +-$/m);
    assert.match(result.stdout, /^K1 = 6\.1\.0-50-amd64 \(judged above\)\nK2 = 6\.1\.0-50-cloud-amd64\nK3 = 7\.2\.0-1-amd64\n/m);
    const plain = await runInProcess(["--root", root.dir, "status", "--json"]);
    assert.equal((JSON.parse(plain.stdout) as { kernels?: unknown }).kernels, undefined, "without --all-kernels no other kernel is read");
  } finally {
    root.cleanup();
  }
});

test("two kernels: --kernel judges the installed one named, with use still from the running kernel", async () => {
  const root = createFakeRoot({ loaded: ["jfs"], files: { "etc/modprobe.d/x.conf": "blacklist minix\n" } });
  addKernel(root.dir, "6.1.0-50-cloud-amd64");
  try {
    const result = await runInProcess(["--root", root.dir, "status", "--kernel", "6.1.0-50-cloud-amd64", "--json", "ext4", "jfs", "minix"]);
    assert.equal(result.status, 0, result.stderr);
    const report = JSON.parse(result.stdout) as { kernel: string; notes: string[]; filesystems: { name: string; state: string; present: boolean; loaded: boolean }[] };
    assert.equal(report.kernel, "6.1.0-50-cloud-amd64");
    assert.match(report.notes[0]!, /^Judging the installed kernel 6\.1\.0-50-cloud-amd64; loaded, mounted and in use are about the running kernel 6\.1\.0-50-amd64\.$/);
    const byName = Object.fromEntries(report.filesystems.map((f) => [f.name, f]));
    assert.equal(byName["ext4"]?.state, "builtin");
    assert.equal(byName["jfs"]?.state, "unavailable");
    assert.equal(byName["jfs"]?.loaded, true, "loaded in the running kernel");
    assert.equal(byName["minix"]?.state, "unavailable", "not built for the cloud kernel: the blacklist line does not matter there");
    const running = JSON.parse((await runInProcess(["--root", root.dir, "status", "--json", "ext4", "minix"])).stdout) as { filesystems: { name: string; state: string }[] };
    assert.deepEqual(
      running.filesystems.map((f) => f.state),
      ["allowed", "blocked"],
      "the running kernel's own verdicts",
    );
  } finally {
    root.cleanup();
  }
});

test("--kernel with a release that is not installed is a usage error naming the argument and the installed kernels", async () => {
  const root = createFakeRoot();
  addKernel(root.dir, "6.12.100+deb12-amd64");
  try {
    for (const bad of ["5.10.0-9-amd64", "../6.1.0-50-amd64", ""]) {
      const result = await runInProcess(["--root", root.dir, "status", "--kernel", bad]);
      assert.equal(result.status, 2, bad);
      assert.equal(result.stdout, "");
      assert.match(result.stderr, new RegExp(`^fsblacklist: --kernel ${bad.replace(/[.]/g, "\\.")}: no kernel of that release is installed`));
      assert.match(result.stderr, /hint: installed: 6\.1\.0-50-amd64, 6\.12\.100\+deb12-amd64/);
    }
  } finally {
    root.cleanup();
  }
});
