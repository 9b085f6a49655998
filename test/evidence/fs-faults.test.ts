// File-system faults, made real with mounts: a read-only admin directory (a
// read-only bind mount), a full file system (a tiny tmpfs filled up), a read-only
// state directory, a read-only lock directory, a whole root mounted read-only.
// Every changing command exits 1 with a message naming the path and the cause;
// nothing is lost (files are byte for byte as before, or, where a command made
// some of its changes, each file its old or its new version); and once the file
// system is healed, running the command again ends where an undisturbed run ends.
// Read-only commands keep working on a read-only root.
//
// test/apply/failures.test.ts covers apply with a read-only admin or vendor
// directory and a full vendor directory; this suite adds allow, block and reset,
// the state and lock directories, and the read-only root.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { ADMIN, LOCK, STATE, contents, copyTree, fsb, installedRoot, scratchDir, settled, snapshotTree, treeDiff } from "./helpers.ts";
import { readOnly } from "../helpers/mounts.ts";

const isRoot = process.getuid?.() === 0;
const SPEC = { loaded: ["jfs"], fstab: "/dev/vda1 / ext4 defaults 0 1\n" };

function sh(command: string): void {
  const result = spawnSync("sh", ["-c", command], { encoding: "utf8" });
  if (result.status !== 0) throw new Error(`${command}: exit ${result.status}: ${result.stderr}`);
}

/**
 * Runs `work` with a small tmpfs over `dir` (its files copied in) that has exactly
 * `freePages` pages of room left; always unmounts. `heal` frees the room.
 */
function full<T>(dir: string, freePages: number, work: (heal: () => void) => T): T {
  const saved = `${dir}.saved`;
  fs.renameSync(dir, saved);
  fs.mkdirSync(dir);
  sh(`mount -t tmpfs -o size=256k,mode=755 fsblacklist-evidence '${dir}'`);
  try {
    sh(`cp -a '${saved}'/. '${dir}'/`);
    // Reserve the room to leave, fill everything else, then give the reserve back.
    fs.writeFileSync(path.join(dir, "reserve"), Buffer.alloc(4096 * freePages));
    const fd = fs.openSync(path.join(dir, "filler"), "w");
    try {
      const page = Buffer.alloc(4096, 1);
      for (;;) fs.writeSync(fd, page);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOSPC") throw error;
    } finally {
      fs.closeSync(fd);
    }
    fs.rmSync(path.join(dir, "reserve"));
    return work(() => fs.rmSync(path.join(dir, "filler")));
  } finally {
    // Back to a plain directory with what the tmpfs holds now (the filler aside).
    fs.rmSync(path.join(dir, "filler"), { force: true });
    fs.rmSync(saved, { recursive: true, force: true });
    fs.mkdirSync(saved);
    sh(`cp -a '${dir}'/. '${saved}'/ && umount '${dir}'`);
    fs.rmdirSync(dir);
    fs.renameSync(saved, dir);
  }
}

interface Case {
  name: string;
  args: readonly string[];
  /** Prepares the root (before the reference copy is taken). */
  prepare?: (root: string) => void;
  /** Runs the command under the fault and returns what it printed; the fault is healed on return. */
  fault: (root: string, run: () => ReturnType<typeof fsb>) => ReturnType<typeof fsb>;
  message: RegExp;
  /** Some changes may have been made before the failure (each file then old or new). */
  partial?: boolean;
}

const CASES: Case[] = [
  ...(["allow hfs efs", "block minix cramfs", "reset jfs"] as const).map(
    (command): Case => ({
      name: `${command}: the admin directory is read-only`,
      args: command.split(" "),
      fault: (root, run) => readOnly(path.join(root, ADMIN), run),
      message: /^fsblacklist: cannot (write|remove) etc\/modprobe\.d\/60-blacklist_fs-\w+\.conf: read-only file system \(EROFS\)[^\n]*nothing was changed\n/,
    }),
  ),
  {
    // Room for the first override, not the second: the first is taken back.
    name: "allow hfs efs bfs: the admin directory fills up after one file",
    args: ["allow", "hfs", "efs", "bfs"],
    fault: (root, run) => full(path.join(root, ADMIN), 1, () => run()),
    message: /^fsblacklist: cannot write etc\/modprobe\.d\/60-blacklist_fs-\w+\.conf: (ENOSPC|no space left on device)[^\n]*nothing was changed\n/,
  },
  {
    name: "block minix: the admin directory is full",
    args: ["block", "minix"],
    fault: (root, run) => full(path.join(root, ADMIN), 0, () => run()),
    message: /^fsblacklist: cannot write etc\/modprobe\.d\/60-blacklist_fs-minix\.conf: (ENOSPC|no space left on device)/,
  },
  {
    name: "apply with jfs no longer in use: the state directory is read-only",
    args: ["apply"],
    prepare: (root) => unload(root, "jfs"),
    fault: (root, run) => readOnly(path.join(root, path.dirname(STATE)), run),
    message: /^fsblacklist: cannot write var\/lib\/fsblacklist\/state\.json: read-only file system \(EROFS\); \d+ of \d+ changes were made, every file is whole\n/,
    partial: true,
  },
  {
    name: "apply with minix now in use: the admin directory is full",
    args: ["apply"],
    prepare: (root) => load(root, "minix"),
    fault: (root, run) => full(path.join(root, ADMIN), 0, () => run()),
    message: /^fsblacklist: cannot write etc\/modprobe\.d\/60-blacklist_fs-minix\.conf: no space left on device \(ENOSPC\); 0 of \d+ changes were made/,
  },
  ...(["apply", "allow hfs"] as const).map(
    (command): Case => ({
      name: `${command}: the lock directory (run/) is read-only`,
      args: command.split(" "),
      ...(command === "apply" ? { prepare: (root: string) => load(root, "minix") } : {}),
      fault: (root, run) => readOnly(path.join(root, path.dirname(LOCK)), run),
      message: /^fsblacklist: cannot create lock run\/fsblacklist\.lock: read-only file system \(EROFS\)\n/,
    }),
  ),
];

function load(root: string, module: string): void {
  fs.writeFileSync(path.join(root, "proc/modules"), `${module} 45056 0 - Live 0x0000000000000000\n`);
  fs.mkdirSync(path.join(root, "sys/module", module), { recursive: true });
  fs.writeFileSync(path.join(root, "sys/module", module, "initstate"), "live\n");
}

function unload(root: string, module: string): void {
  fs.writeFileSync(path.join(root, "proc/modules"), "");
  fs.rmSync(path.join(root, "sys/module", module), { recursive: true, force: true });
}

test("faults while writing: exit 1 naming the path, nothing lost, and the healed run converges", { skip: isRoot ? false : "needs root for mounts" }, async (t) => {
  const scratch = scratchDir("fsb-faults-");
  const base = installedRoot(SPEC);
  t.after(() => {
    base.cleanup();
    scratch.cleanup();
  });
  // After apply: the vendor fragments and a keep for jfs (loaded), which reset removes.

  for (const [i, c] of CASES.entries()) {
    const root = path.join(scratch.dir, `root-${i}`);
    const reference = path.join(scratch.dir, `reference-${i}`);
    copyTree(base.dir, root);
    c.prepare?.(root);
    copyTree(root, reference);
    const clean = fsb(["--root", reference, ...c.args]);
    assert.equal(clean.status, 0, `${c.name}: the undisturbed run: ${clean.stderr}`);
    const before = snapshotTree(root);
    const oldContents = contents(root);
    const newContents = contents(reference);

    const run = c.fault(root, () => fsb(["--root", root, ...c.args]));
    assert.equal(run.status, 1, `${c.name}: exit ${run.status}: ${run.stderr}`);
    assert.match(run.stderr, c.message, c.name);
    assert.doesNotMatch(run.stderr, /unexpected error|\n\s+at /, c.name);

    if (c.partial === true) {
      const now = contents(root);
      for (const rel of new Set([...now.keys(), ...oldContents.keys()])) {
        const value = now.get(rel);
        assert.ok(value === oldContents.get(rel) || value === newContents.get(rel), `${c.name}: ${rel} is neither old nor new`);
      }
      assert.equal(now.get(STATE), oldContents.get(STATE), `${c.name}: the state file is the old one`);
    } else {
      assert.deepEqual(treeDiff(before, snapshotTree(root)), [], `${c.name}: the tree changed`);
    }

    const again = fsb(["--root", root, ...c.args]);
    assert.equal(again.status, 0, `${c.name}: on the healed file system: ${again.stderr}`);
    assert.deepEqual(settled(root), settled(reference), `${c.name}: does not converge`);
  }
});

test("a root mounted read-only: status, showconfig, explain and every --dry-run work; changes fail naming the lock", { skip: isRoot ? false : "needs root for mounts" }, (t) => {
  // minix was kept by apply; jfs is loaded since, so apply has a keep to write.
  const root = installedRoot({ ...SPEC, loaded: ["minix"] });
  t.after(() => root.cleanup());
  fs.appendFileSync(path.join(root.dir, "proc/modules"), "jfs 45056 0 - Live 0x0000000000000000\n");
  const before = snapshotTree(root.dir);
  readOnly(root.dir, () => {
    for (const args of [["status", "--json"], ["showconfig"], ["explain", "--type", "jfs"], ["apply", "--dry-run"], ["allow", "--dry-run", "hfs"], ["block", "--dry-run", "minix"]]) {
      const run = fsb(["--root", root.dir, ...args]);
      assert.equal(run.status, 0, `${args.join(" ")}: ${run.stderr}`);
      assert.doesNotMatch(run.stderr, /EROFS|unexpected/, args.join(" "));
    }
    for (const args of [["apply"], ["allow", "hfs"], ["block", "efs"], ["reset", "minix"]]) {
      const run = fsb(["--root", root.dir, ...args]);
      assert.equal(run.status, 1, `${args.join(" ")}: exit ${run.status}: ${run.stderr}`);
      assert.match(run.stderr, /^fsblacklist: cannot create lock run\/fsblacklist\.lock: read-only file system \(EROFS\)\nhint: /, args.join(" "));
    }
  });
  assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), []);
});
