// `fsblacklist review` stopped from outside, in a real terminal (tmux): by
// SIGTERM, by SIGHUP and by SIGINT sent as a signal, by the terminal going
// away, and by Ctrl-C at the keyboard (a key in raw mode, not a signal). The
// terminal must be the shell's again, nothing must be written (a confirmed
// write under way finishes whole), and the review dies of the signal (a
// shell's status 128+signal) or, after Ctrl-C, exits 130 as if it had.
// Needs the bundle (npm run build), tmux, and root for the chroot of the
// initramfs tool.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { closeSync, constants as fsConstants, existsSync, mkdirSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync, writeSync } from "node:fs";
import * as path from "node:path";
import { constants } from "node:os";
import { BIN, runCli } from "../helpers/cli.ts";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { installShell } from "../helpers/initramfs-tool.ts";
import { TmuxTerminal } from "../helpers/tmux.ts";
import { makeScratchDir } from "../helpers/tree-generator.ts";
import { snapshotTree, treeDiff } from "../helpers/tree-snapshot.ts";

const BEFORE = "shell text before review";

/**
 * The review at a shell that printed a line before it, and that says afterwards
 * whether the terminal's modes (raw mode, echo) are what they were. Its stderr
 * goes to the terminal, or to the file `stderr` when given.
 */
function reviewAtShell(root: string, stderr?: string): TmuxTerminal {
  const script = [
    "modes=$(stty -g)",
    `echo "${BEFORE}"`,
    stderr === undefined ? '"$0" "$1" review --root "$2"' : '"$0" "$1" review --root "$2" 2>"$3"',
    "status=$?",
    'if [ "$(stty -g)" = "$modes" ]; then echo "terminal modes as before"; else echo "terminal modes changed"; fi',
    "exit $status",
  ].join("; ");
  // Wide enough for the message after it on one line.
  return new TmuxTerminal(["sh", "-c", script, process.execPath, BIN, root, ...(stderr === undefined ? [] : [stderr])], { env: { NO_COLOR: "1" }, columns: 160 });
}

/** tmux's own record of the pane: on the alternate screen, cursor shown. */
function paneModes(terminal: TmuxTerminal): string {
  return terminal.display("alternate #{alternate_on}, cursor #{cursor_flag}");
}

/** The pid of the review running on `root` (the shell runs it as a child). */
async function reviewPid(root: string): Promise<number> {
  const wanted = [process.execPath, BIN, "review", "--root", root].join("\0");
  for (const entry of readdirSync("/proc")) {
    if (!/^\d+$/.test(entry)) continue;
    let cmdline: string;
    try {
      cmdline = readFileSync(`/proc/${entry}/cmdline`, "utf8");
    } catch {
      continue; // gone meanwhile
    }
    if (cmdline.replace(/\0$/, "") === wanted) return Number(entry);
  }
  throw new Error(`no review process for ${root}`);
}

const selected = (screen: string): string => screen.split("\n").find((line) => line.startsWith("›")) ?? "";

/** Marks jfs to be allowed, and waits until the review shows it pending. */
async function markJfs(terminal: TmuxTerminal): Promise<void> {
  terminal.text("/jfs");
  terminal.keys("Enter");
  await terminal.waitFor((s) => selected(s).includes(" jfs "));
  terminal.keys("Space");
  await terminal.waitFor(/1 pending/);
}

function rootWithPolicy(): FakeRoot {
  const root = createFakeRoot();
  assert.equal(runCli(["apply", "--root", root.dir]).status, 0);
  return root;
}

async function stopWith(signal: "SIGTERM" | "SIGHUP" | "SIGINT", options: { markJfs: boolean }): Promise<{ status: number; screen: string; modes: string }> {
  const root = rootWithPolicy();
  try {
    const before = snapshotTree(root.dir);
    const terminal = reviewAtShell(root.dir);
    try {
      await terminal.waitFor(/fsblacklist review · kernel/);
      if (options.markJfs) await markJfs(terminal);
      process.kill(await reviewPid(root.dir), signal);
      const status = await terminal.exitStatus();
      const screen = terminal.screen();
      assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], "the root is untouched");
      return { status, screen, modes: paneModes(terminal) };
    } finally {
      terminal.close();
    }
  } finally {
    root.cleanup();
  }
}

function assertShellScreenBack(screen: string, modes: string): void {
  // The alternate screen is gone: the shell's own lines show again, the review's do not.
  assert.match(screen, new RegExp(`^${BEFORE}$`, "m"), screen);
  assert.doesNotMatch(screen, /fsblacklist review ·|NAME +MODULE/, screen);
  assert.match(screen, /^terminal modes as before$/m, screen);
  assert.equal(modes, "alternate 0, cursor 1");
}

test("SIGTERM with a change pending: the shell's screen, cursor and modes come back, the change is dropped, exit 143", async () => {
  const { status, screen, modes } = await stopWith("SIGTERM", { markJfs: true });
  assert.equal(status, 128 + constants.signals.SIGTERM);
  assertShellScreenBack(screen, modes);
  assert.match(screen, /^fsblacklist: review stopped by SIGTERM; 1 pending change dropped \(not written\): allow jfs$/m, screen);
});

test("SIGHUP and SIGINT (as signals) restore the terminal the same way and exit 128+signal", async () => {
  const [hup, int] = await Promise.all([stopWith("SIGHUP", { markJfs: false }), stopWith("SIGINT", { markJfs: false })]);
  assert.equal(hup.status, 128 + constants.signals.SIGHUP);
  assertShellScreenBack(hup.screen, hup.modes);
  assert.match(hup.screen, /^fsblacklist: review stopped by SIGHUP; no changes were pending$/m, hup.screen);
  assert.equal(int.status, 128 + constants.signals.SIGINT);
  assertShellScreenBack(int.screen, int.modes);
  assert.match(int.screen, /^fsblacklist: review stopped by SIGINT; no changes were pending$/m, int.screen);
});

test("the terminal going away (no signal reaches the review, its input ends) ends it like SIGHUP, without a crash", async (t) => {
  const root = rootWithPolicy();
  const scratch = makeScratchDir("fsb-tui-");
  t.after(() => {
    root.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });
  const stderr = path.join(scratch, "stderr");
  const status = path.join(scratch, "status");
  const before = snapshotTree(root.dir);
  // The shell (the session leader, the one the kernel tells of the hangup) ignores it and outlives the terminal.
  const script = 'trap "" HUP; "$0" "$1" review --root "$2" 2>"$3"; echo $? >"$4"';
  const terminal = new TmuxTerminal(["sh", "-c", script, process.execPath, BIN, root.dir, stderr, status], { env: { NO_COLOR: "1" } });
  try {
    await terminal.waitFor(/fsblacklist review · kernel/);
    await markJfs(terminal);
  } finally {
    terminal.close();
  }
  const deadline = Date.now() + 10_000;
  while (!existsSync(status) || readFileSync(status, "utf8") === "") {
    assert.ok(Date.now() < deadline, `the review did not end; its stderr:\n${existsSync(stderr) ? readFileSync(stderr, "utf8") : ""}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  // Besides the shell's own "Hangup" for how its child ended: no crash, no stack trace.
  const said = readFileSync(stderr, "utf8")
    .split("\n")
    .filter((line) => line !== "" && line !== "Hangup");
  assert.deepEqual(said, ["fsblacklist: review stopped by SIGHUP; 1 pending change dropped (not written): allow jfs"]);
  assert.equal(readFileSync(status, "utf8"), `${128 + constants.signals.SIGHUP}\n`);
  assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], "the root is untouched");
});

/**
 * Ctrl-C at the keyboard, the way a user types it: in raw mode it is a key,
 * not a signal, and the review treats it as q (asking first while changes are
 * pending) but ends with the status of an interrupted command.
 */
async function interruptWithKeys(options: { markJfs: boolean }): Promise<{ status: number; screen: string; modes: string; stderr: string }> {
  const root = rootWithPolicy();
  const scratch = makeScratchDir("fsb-tui-");
  try {
    const stderr = path.join(scratch, "stderr");
    const before = snapshotTree(root.dir);
    const terminal = reviewAtShell(root.dir, stderr);
    try {
      await terminal.waitFor(/fsblacklist review · kernel/);
      if (options.markJfs) {
        await markJfs(terminal);
        terminal.keys("C-c");
        const question = await terminal.waitFor(/1 change is not applied yet\. Quit and drop it\?/);
        assert.match(question, /pending: allow jfs/);
        assert.equal(paneModes(terminal), "alternate 1, cursor 0", "still the review's screen");
      }
      terminal.keys("C-c");
      const status = await terminal.exitStatus();
      assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], "the root is untouched");
      return { status, screen: terminal.screen(), modes: paneModes(terminal), stderr: readFileSync(stderr, "utf8") };
    } finally {
      terminal.close();
    }
  } finally {
    root.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  }
}

test("Ctrl-C with a change pending asks as q does; a second Ctrl-C quits without writing, names the dropped change on stderr, exit 130", async () => {
  const { status, screen, modes, stderr } = await interruptWithKeys({ markJfs: true });
  assert.equal(status, 128 + constants.signals.SIGINT, screen);
  assertShellScreenBack(screen, modes);
  assert.equal(stderr, "fsblacklist: review interrupted (Ctrl-C); 1 pending change dropped (not written): allow jfs\n");
});

test("Ctrl-C with nothing pending quits at once: exit 130, nothing on stderr, the terminal the shell's again", async () => {
  const { status, screen, modes, stderr } = await interruptWithKeys({ markJfs: false });
  assert.equal(status, 128 + constants.signals.SIGINT, screen);
  assertShellScreenBack(screen, modes);
  assert.equal(stderr, "");
});

/** Lets a reader blocked on the FIFO go on; false while none is there yet. */
function release(fifo: string): boolean {
  let fd: number;
  try {
    fd = openSync(fifo, fsConstants.O_WRONLY | fsConstants.O_NONBLOCK);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === "ENXIO") return false;
    throw error;
  }
  writeSync(fd, "go\n");
  closeSync(fd);
  return true;
}

/**
 * Confirms allowing jfs, with an initramfs tool that says it started and then
 * waits for the test (the write is under way until it ends), stops the review
 * with `stop` then, and lets the tool finish once the shell's screen is back.
 * The review's stderr goes to the file `stderr` when given.
 */
async function stopDuringWrite(root: string, stop: (terminal: TmuxTerminal) => Promise<void>, stderr?: string): Promise<{ status: number; screen: string; modes: string }> {
  installShell(root);
  mkdirSync(path.join(root, "usr/bin"), { recursive: true });
  writeFileSync(path.join(root, "usr/bin/dracut"), "#!/bin/sh\n: > /run/dracut-started\nread go < /run/dracut-go\n", { mode: 0o755 });
  const fifo = path.join(root, "run/dracut-go");
  assert.equal(spawnSync("mkfifo", [fifo]).status, 0);
  mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
  writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), "initramfs: {mode: regenerate, underRoot: true}\n");

  const terminal = reviewAtShell(root, stderr);
  try {
    await terminal.waitFor(/fsblacklist review · kernel/);
    await markJfs(terminal);
    terminal.keys("a");
    await terminal.waitFor(/Write these changes\? y yes · n no/);
    terminal.keys("y");
    await terminal.waitFor(() => existsSync(path.join(root, "run/dracut-started")));
    await stop(terminal);
    // The screen is the shell's again at once; the review waits for the write.
    await terminal.waitFor(new RegExp(`^${BEFORE}$`, "m"));
    assert.doesNotMatch(terminal.screen(), /fsb-test: exited/);
    assert.ok(release(fifo), "the initramfs tool is waiting");
    const status = await terminal.exitStatus();
    const screen = terminal.screen();
    assert.match(screen, /^allow jfs: wrote etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf$/m);
    assert.match(screen, /^rebuilt the initramfs \(chroot \S+ \/usr\/bin\/dracut --regenerate-all --force\)$/m);
    assert.match(readFileSync(path.join(root, "etc/modprobe.d/60-blacklist_fs-jfs.conf"), "utf8"), /^# fsblacklist-override: allow$/m);
    return { status, screen, modes: paneModes(terminal) };
  } finally {
    release(fifo); // a test that failed early must not leave the tool (and the review) waiting
    terminal.close();
  }
}

test("SIGTERM while a confirmed write is under way: it finishes whole and is reported, then the review dies of the signal", { skip: process.getuid?.() !== 0 && "chroot needs root" }, async (t) => {
  const root = rootWithPolicy();
  t.after(() => root.cleanup());
  const { status, screen, modes } = await stopDuringWrite(root.dir, async () => {
    process.kill(await reviewPid(root.dir), "SIGTERM");
  });
  assert.equal(status, 128 + constants.signals.SIGTERM, screen);
  assert.match(screen, /^fsblacklist: review stopped by SIGTERM after writing the confirmed changes$/m);
  assert.equal(modes, "alternate 0, cursor 1");
});

test("Ctrl-C while a confirmed write is under way: it finishes whole and is reported, nothing was dropped, exit 130", { skip: process.getuid?.() !== 0 && "chroot needs root" }, async (t) => {
  const root = rootWithPolicy();
  const scratch = makeScratchDir("fsb-tui-");
  t.after(() => {
    root.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });
  const stderr = path.join(scratch, "stderr");
  const { status, screen, modes } = await stopDuringWrite(root.dir, async (terminal) => terminal.keys("C-c"), stderr);
  assert.equal(status, 128 + constants.signals.SIGINT, screen);
  // Not even an escape sequence: the bundle's restore-cursor writes to stderr only when it is a terminal.
  assert.equal(readFileSync(stderr, "utf8"), "");
  assert.equal(modes, "alternate 0, cursor 1");
});
