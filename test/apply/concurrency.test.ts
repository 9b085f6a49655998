// Runs that overlap or die: 20 at once end where one run ends; a run killed with
// SIGKILL while it writes leaves every file old or new, and the next run converges.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn, spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { createFakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { fragmentName } from "../../src/policy/fragment.ts";
import { parseMarker } from "../../src/policy/marker.ts";
import { ADMIN, DEFAULT_MODULES, STATE, VENDOR, apply, applyArgv, makePolicy, settledContents, snapshot, writeConfig } from "./helpers.ts";

interface Exit {
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
}

function start(root: string, args: readonly string[] = []): { child: ReturnType<typeof spawn>; done: Promise<Exit> } {
  const child = spawn(process.execPath, applyArgv(root, args), { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const done = new Promise<Exit>((resolve) => child.on("close", (status, signal) => resolve({ status, signal, stdout, stderr })));
  return { child, done };
}

const SPEC: FakeRootSpec = {
  loaded: ["jfs"],
  mounts: [
    { source: "/dev/vda1", target: "/", fstype: "ext4" },
    { source: "/dev/sdc2", target: "/mnt/mac", fstype: "hfsplus" },
  ],
  fstab: "/dev/sdb1 /mnt/old minix noauto 0 0\n",
};

test("20 concurrent runs end in the same state as one run, and exactly one of them changes anything", async () => {
  const root = createFakeRoot(SPEC);
  const reference = createFakeRoot(SPEC);
  try {
    assert.equal((await apply(reference.dir)).status, 0);
    const runs = await Promise.all(Array.from({ length: 20 }, () => start(root.dir, ["--json"]).done));
    for (const run of runs) {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /^(fsblacklist: waiting for lock run\/fsblacklist\.lock held by pid \d+\n)?$/, "at most one wait message per run, and nothing else");
    }
    const changed = runs.filter((run) => (JSON.parse(run.stdout) as { changed: boolean }).changed);
    assert.equal(changed.length, 1);
    assert.deepEqual(settledContents(root.dir), settledContents(reference.dir));
    assert.ok(!fs.existsSync(path.join(root.dir, "run/fsblacklist.lock")));
  } finally {
    root.cleanup();
    reference.cleanup();
  }
});

test("a run waits for the lock holder, says so once, and goes on when the holder is gone", async () => {
  const root = createFakeRoot();
  // The holder lives until the run has said it waits, however slow the machine.
  const holder = spawn("sleep", ["60"]);
  try {
    fs.mkdirSync(path.join(root.dir, "run"), { recursive: true });
    fs.writeFileSync(path.join(root.dir, "run/fsblacklist.lock"), `${holder.pid}\n`);
    const started = start(root.dir);
    started.child.stderr!.on("data", (chunk: Buffer) => {
      if (chunk.toString().includes("waiting for lock")) holder.kill();
    });
    const run = await started.done;
    assert.equal(run.status, 0);
    assert.equal(run.stderr, `fsblacklist: waiting for lock run/fsblacklist.lock held by pid ${holder.pid}\n`);
    assert.ok(fs.existsSync(path.join(root.dir, VENDOR, fragmentName("jfs"))));
  } finally {
    holder.kill();
    root.cleanup();
  }
});

test("runs killed (SIGKILL) at points spread over their writes leave every file old or new, and the next run converges", async () => {
  // Old: policy 1.0.0 applied with jfs loaded. New: policy 1.1.0, every fragment
  // changed, cramfs dropped, ufs added, with jfs unloaded and minix loaded.
  const modules = DEFAULT_MODULES.filter((m) => m !== "ufs").slice(0, 16);
  assert.ok(modules.includes("jfs") && modules.includes("minix") && modules.includes("cramfs"));
  const v1 = makePolicy(
    "1.0.0",
    modules.map((module) => ({ module, since: "1.0.0" })),
  );
  const v2 = makePolicy("1.1.0", [...modules.filter((m) => m !== "cramfs").map((module) => ({ module, since: "1.0.1" })), { module: "ufs", since: "1.1.0" }]);
  const template = createFakeRoot({ loaded: ["jfs"] });
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-kill-"));
  try {
    writeConfig(template.dir, `policyDir: ${v1.dir}\n`);
    assert.equal((await apply(template.dir)).status, 0);
    writeConfig(template.dir, `policyDir: ${v2.dir}\n`);
    fs.writeFileSync(path.join(template.dir, "proc/modules"), "minix 45056 0 - Live 0x0000000000000000\n");
    fs.renameSync(path.join(template.dir, "sys/module/jfs"), path.join(template.dir, "sys/module/minix"));
    const old = snapshot(template.dir);

    const reference = path.join(work, "reference");
    spawnSync("cp", ["-a", template.dir, reference]);
    assert.equal((await apply(reference)).status, 0);
    const fresh = snapshot(reference);
    const settled = settledContents(reference);
    const vendorChanges = (snap: Map<string, { content: string }>): number =>
      [...new Set([...old.keys(), ...snap.keys()])].filter((f) => f.startsWith(`${VENDOR}/`) && !path.basename(f).startsWith(".") && snap.get(f)?.content !== old.get(f)?.content).length;
    const allChanges = vendorChanges(fresh);
    assert.equal(allChanges, modules.length + 1, "every fragment is rewritten, one removed, one added");

    let midway = 0;
    for (let i = 0; i < 8; i++) {
      const root = path.join(work, `run-${i}`);
      spawnSync("cp", ["-a", template.dir, root]);
      const { child, done } = start(root);
      // Kill it once it has changed a growing number of fragments (1, 3, 5, ...), give or take what it does meanwhile.
      const killAt = 1 + ((2 * i) % allChanges);
      const deadline = Date.now() + 20_000;
      while (child.exitCode === null && Date.now() < deadline && vendorChanges(snapshot(root, [VENDOR])) < killAt) {
        await new Promise((r) => setImmediate(r));
      }
      child.kill("SIGKILL");
      await done;

      const now = snapshot(root);
      const changed = vendorChanges(now);
      if (changed > 0 && changed < allChanges) midway++;
      for (const [file, facts] of now) {
        if (file === "run/fsblacklist.lock") continue;
        if (path.basename(file).startsWith(".")) continue; // a temporary file that kmod never reads; the next run removes it
        if (file === STATE) JSON.parse(facts.content);
        else if (file === `${ADMIN}/${fragmentName("minix")}`) assert.equal(parseMarker(facts.content)?.kind, "keep", "the new keep is whole");
        else assert.ok(facts.content === old.get(file)?.content || facts.content === fresh.get(file)?.content, `${file} is old or new`);
      }
      // minix is kept before any fragment changes; jfs's keep goes only after them.
      if (changed > 0) assert.ok(now.has(`${ADMIN}/${fragmentName("minix")}`), "minix was kept before anything else was written");
      if (!now.has(`${ADMIN}/${fragmentName("jfs")}`)) assert.equal(changed, allChanges, "jfs's keep is lifted last");

      const next = await apply(root);
      assert.equal(next.status, 0, next.stderr);
      const converged = settledContents(root);
      // A run killed while it held the lock leaves the lock file behind, and a next run with
      // nothing to do never takes the lock; the owner is dead, so whoever needs it breaks it.
      const leftLock = converged["run/fsblacklist.lock"];
      if (leftLock !== undefined) {
        assert.throws(() => process.kill(Number.parseInt(leftLock, 10), 0), "a lock left behind names a dead process");
        delete converged["run/fsblacklist.lock"];
      }
      assert.deepEqual(converged, settled, `run ${i} converges`);
    }
    assert.ok(midway >= 1, `at least one run died between its first and its last fragment (${midway} of 8)`);
  } finally {
    template.cleanup();
    fs.rmSync(work, { recursive: true, force: true });
    v1.cleanup();
    v2.cleanup();
  }
});
