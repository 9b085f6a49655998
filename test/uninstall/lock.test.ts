// uninstall takes the same lock as apply: it waits for a run that holds it, says
// so once, and of several runs at once exactly one changes anything, also when
// another run's --purge removed the state directory while it waited.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { BIN } from "../helpers/cli.ts";
import { STATE, VENDOR, apply } from "../apply/helpers.ts";
import { main } from "../../src/main.ts";
import type { IO } from "../../src/context.ts";
import type { UninstallJson } from "./helpers.ts";

interface Exit {
  status: number | null;
  stdout: string;
  stderr: string;
}

function start(root: string, args: readonly string[]): { child: ReturnType<typeof spawn>; done: Promise<Exit> } {
  const child = spawn(process.execPath, [BIN, "--root", root, "uninstall", ...args], { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" } });
  let stdout = "";
  let stderr = "";
  child.stdout!.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr!.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  return { child, done: new Promise<Exit>((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr }))) };
}

test("uninstall waits for the lock holder (an apply, say), says so once, and goes on when the holder is gone", async () => {
  const root = createFakeRoot();
  // The holder lives until the run has said it waits, however slow the machine.
  const holder = spawn("sleep", ["60"]);
  try {
    assert.equal((await apply(root.dir)).status, 0);
    fs.writeFileSync(path.join(root.dir, "run/fsblacklist.lock"), `${holder.pid}\n`);
    const started = start(root.dir, []);
    let waited = false;
    started.child.stderr!.on("data", (chunk: Buffer) => {
      if (!chunk.toString().includes("waiting for lock")) return;
      // Nothing is removed while the lock is held.
      waited = fs.readdirSync(path.join(root.dir, VENDOR)).length > 0;
      holder.kill();
    });
    const run = await started.done;
    assert.equal(run.status, 0);
    assert.equal(run.stderr, `fsblacklist: waiting for lock run/fsblacklist.lock held by pid ${holder.pid}\n`);
    assert.ok(waited, "the fragments were still there while it waited");
    assert.deepEqual(fs.readdirSync(path.join(root.dir, VENDOR)), []);
    assert.ok(!fs.existsSync(path.join(root.dir, "run/fsblacklist.lock")));
  } finally {
    holder.kill();
    root.cleanup();
  }
});

test("six runs at once: all succeed, exactly one changes anything", async () => {
  const root = createFakeRoot({ loaded: ["jfs"] });
  try {
    assert.equal((await apply(root.dir)).status, 0);
    const runs = await Promise.all(Array.from({ length: 6 }, () => start(root.dir, ["--json", "--purge"]).done));
    for (const run of runs) {
      assert.equal(run.status, 0, run.stderr);
      assert.match(run.stderr, /^(fsblacklist: waiting for lock run\/fsblacklist\.lock held by pid \d+\n)?$/);
    }
    assert.equal(runs.filter((run) => (JSON.parse(run.stdout) as { changed: boolean }).changed).length, 1);
    assert.deepEqual(fs.readdirSync(path.join(root.dir, VENDOR)), []);
    assert.deepEqual(fs.readdirSync(path.join(root.dir, "etc/modprobe.d")), []);
    assert.ok(!fs.existsSync(path.join(root.dir, "var/lib/fsblacklist")));
  } finally {
    root.cleanup();
  }
});

test("another run removes var/lib/fsblacklist while this one waits for the lock: it goes on as if the directory had never been there", async (t) => {
  const root = createFakeRoot({ loaded: ["jfs"] });
  const holder = spawn("sleep", ["60"]);
  t.after(() => {
    holder.kill();
    root.cleanup();
  });
  assert.equal((await apply(root.dir)).status, 0);
  fs.writeFileSync(path.join(root.dir, "run/fsblacklist.lock"), `${holder.pid}\n`);
  let stdout = "";
  let stderr = "";
  // In-process, so that the run's view of the root was taken before the removal (its first look, without the lock).
  const io: IO = {
    stdout: { write: (text) => void (stdout += String(text)), isTTY: false },
    stderr: {
      write: (text) => {
        stderr += String(text);
        if (!String(text).includes("waiting for lock")) return;
        fs.rmSync(path.join(root.dir, "var/lib/fsblacklist"), { recursive: true });
        holder.kill();
      },
      isTTY: false,
    },
    env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", NO_COLOR: "1" },
    uid: 0,
  };
  const status = await main(["--root", root.dir, "--json", "uninstall", "--purge"], io);
  assert.equal(status, 0, stderr);
  assert.equal(stderr, `fsblacklist: waiting for lock run/fsblacklist.lock held by pid ${holder.pid}\n`);
  const json = JSON.parse(stdout) as UninstallJson;
  assert.equal(json.changed, true);
  assert.deepEqual(json.state, { path: STATE, action: "none", directory: null }, "nothing left of the state to remove");
  assert.deepEqual(fs.readdirSync(path.join(root.dir, VENDOR)), []);
  assert.deepEqual(fs.readdirSync(path.join(root.dir, "etc/modprobe.d")), []);
  assert.ok(!fs.existsSync(path.join(root.dir, "var/lib/fsblacklist")), "not made again");
});
