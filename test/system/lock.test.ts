import { test } from "node:test";
import assert from "node:assert/strict";
import { mkdtempSync, mkdirSync, writeFileSync, utimesSync, existsSync, readdirSync, rmSync } from "node:fs";
import { spawn } from "node:child_process";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { RootFs } from "../../src/system/root-fs.ts";
import { withLock, LOCK_PATH } from "../../src/system/lock.ts";

function freshRoot(): string {
  const dir = mkdtempSync(join(tmpdir(), "fsb-lock-"));
  mkdirSync(join(dir, "run"));
  return dir;
}

test("the lock is taken, holds our pid while the work runs, and is gone afterwards", async (t) => {
  const root = freshRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const result = await withLock(new RootFs(root), async () => {
    const { readFileSync } = await import("node:fs");
    return readFileSync(join(root, LOCK_PATH), "utf8");
  });
  assert.match(result, new RegExp(`^${process.pid} \\d+\n$`), "our pid and start time");
  assert.equal(existsSync(join(root, LOCK_PATH)), false);
  assert.deepEqual(readdirSync(join(root, "run")), [], "no private lock files left behind");
});

test("a lock left by a killed run (dead pid) is broken", async (t) => {
  const root = freshRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const child = spawn(process.execPath, ["-e", "0"]);
  const deadPid = child.pid!;
  await new Promise((resolve) => child.on("exit", resolve));
  writeFileSync(join(root, LOCK_PATH), `${deadPid}\n`);
  let waited = false;
  const ran = await withLock(new RootFs(root), async () => true, { onWait: () => (waited = true), timeoutMs: 5_000 });
  assert.equal(ran, true);
  assert.equal(waited, false);
});

test("an old lock file without a pid is broken; a fresh one is waited for", async (t) => {
  const root = freshRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const lock = join(root, LOCK_PATH);
  writeFileSync(lock, "");
  await assert.rejects(
    withLock(new RootFs(root), async () => true, { timeoutMs: 300 }),
    /timed out waiting for lock/,
  );
  const old = (Date.now() - 120_000) / 1000;
  utimesSync(lock, old, old);
  assert.equal(await withLock(new RootFs(root), async () => true, { timeoutMs: 5_000 }), true);
});

test("a live owner makes us wait and say so once", async (t) => {
  const root = freshRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  const fs = new RootFs(root);
  const waits: number[] = [];
  let releaseFirst!: () => void;
  const first = withLock(fs, () => new Promise<void>((resolve) => (releaseFirst = resolve)));
  await new Promise((resolve) => setTimeout(resolve, 50));
  const order: string[] = [];
  const second = withLock(fs, async () => void order.push("second"), { onWait: (pid) => waits.push(pid) });
  await new Promise((resolve) => setTimeout(resolve, 200));
  order.push("first done");
  releaseFirst();
  await first;
  await second;
  assert.deepEqual(order, ["first done", "second"]);
  assert.deepEqual(waits, [process.pid]);
});

test("a lock whose pid now belongs to another process (start time differs) is broken", async (t) => {
  const root = freshRoot();
  t.after(() => rmSync(root, { recursive: true, force: true }));
  // Our own pid is alive, but it did not start at clock tick 1: the pid was reused.
  writeFileSync(join(root, LOCK_PATH), `${process.pid} 1\n`);
  let waited = false;
  const ran = await withLock(new RootFs(root), async () => true, { onWait: () => (waited = true), timeoutMs: 2_000 });
  assert.equal(ran, true);
  assert.equal(waited, false);
});
