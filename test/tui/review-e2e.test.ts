// `fsblacklist review` in a real terminal (tmux) on a fake root, with the real
// kmod as the judge of what the UI wrote; and `review` without a terminal.
// Needs the bundle (npm run build), tmux, and kmod's modprobe with unshare.

import { after, before, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, rmSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { BIN, runCli } from "../helpers/cli.ts";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { oracleAvailable, runOracle } from "../helpers/kmod-oracle.ts";
import { runRecordingLoads } from "../helpers/loads.ts";
import { makeScratchDir } from "../helpers/tree-generator.ts";
import { TmuxTerminal } from "../helpers/tmux.ts";

const JFS_OVERRIDE = "etc/modprobe.d/60-blacklist_fs-jfs.conf";

/** A fake root with the shipped policy installed by the real `apply`. */
function rootWithPolicy(): FakeRoot {
  const root = createFakeRoot();
  const applied = runCli(["apply", "--root", root.dir]);
  assert.equal(applied.status, 0, applied.stderr);
  return root;
}

async function blacklistLines(root: FakeRoot): Promise<string[]> {
  const [result] = await runOracle([root.dir]);
  assert.equal(result!.status, 0, result!.stderr.toString());
  return result!.config
    .toString("latin1")
    .split("\n")
    .filter((line) => line.startsWith("blacklist "));
}

// For the tests that write nothing.
let shared: FakeRoot;
before(() => {
  shared = rootWithPolicy();
});
after(() => shared.cleanup());

const selected = (screen: string): string => screen.split("\n").find((line) => line.startsWith("›")) ?? "";

test("review in tmux: find jfs, allow it, see the diff, confirm; kmod then no longer blacklists jfs", { skip: !oracleAvailable() && "kmod's modprobe is not installed" }, async () => {
  const root = rootWithPolicy();
  const before = await blacklistLines(root);
  assert.ok(before.includes("blacklist jfs"), before.join("\n"));
  const terminal = new TmuxTerminal([process.execPath, BIN, "review", "--root", root.dir], { env: { NO_COLOR: "1" } });
  try {
    await terminal.waitFor(/fsblacklist review · kernel 6\.1\.0-50-amd64/);
    terminal.text("/jfs");
    terminal.keys("Enter");
    let screen = await terminal.waitFor((s) => selected(s).includes(" jfs "));
    assert.match(selected(screen), /^› jfs +jfs +✗ blocked/);
    terminal.keys("Space");
    screen = await terminal.waitFor(/1 pending/);
    assert.match(selected(screen), /→ allow/);

    terminal.keys("a");
    screen = await terminal.waitFor(/Write these changes\? y yes · n no/);
    assert.match(screen, new RegExp(`^create ${JFS_OVERRIDE}$`, "m"));
    assert.match(screen, /^--- \/dev\/null$/m);
    assert.match(screen, new RegExp(`^\\+\\+\\+ b/${JFS_OVERRIDE}$`, "m"));
    assert.match(screen, /^\+# fsblacklist-override: allow$/m);
    // Nothing is written before the confirmation.
    assert.ok(before.includes("blacklist jfs"));
    assert.throws(() => readFileSync(path.join(root.dir, JFS_OVERRIDE)), { code: "ENOENT" });

    terminal.keys("y");
    screen = await terminal.waitFor(new RegExp(`Applied: allow jfs: wrote ${JFS_OVERRIDE}`));
    assert.match(selected(screen), /^› jfs +jfs +✓ allowed/);
    assert.doesNotMatch(screen, /pending/);
    assert.match(screen, new RegExp(`State +✓ allowed by ${JFS_OVERRIDE}:1`));

    terminal.keys("q");
    assert.equal(await terminal.exitStatus(), 0);
    // Back on the main screen, the shell gets a record of what was written.
    assert.match(terminal.screen(), new RegExp(`^allow jfs: wrote ${JFS_OVERRIDE}$`, "m"));

    const after = await blacklistLines(root);
    assert.ok(!after.includes("blacklist jfs"), after.join("\n"));
    assert.deepEqual(
      after,
      before.filter((line) => line !== "blacklist jfs"),
    );
  } finally {
    terminal.close();
    root.cleanup();
  }
});

test("review in tmux: colour at a terminal, none with NO_COLOR; quitting with a pending change asks and writes nothing", async () => {
  const root = shared;
  const coloured = new TmuxTerminal([process.execPath, BIN, "review", "--root", root.dir]);
  const plain = new TmuxTerminal([process.execPath, BIN, "review", "--root", root.dir], { env: { NO_COLOR: "1" } });
  try {
    await coloured.waitFor(/NAME/);
    await plain.waitFor(/NAME/);
    // Colour sequences (SGR 3x/9x/38) only where colour is allowed.
    const colourSgr = /\u001b\[(?:[0-9;]*;)?(?:3[0-8]|9[0-7])[;m]/;
    assert.match(coloured.screen(true), colourSgr);
    assert.doesNotMatch(plain.screen(true), colourSgr);
    assert.equal(coloured.screen(), plain.screen());

    // A smaller window: the frame is redrawn for it, nothing wraps.
    plain.resize(60, 16);
    const small = await plain.waitFor(/^ {2}NAME .* RE…$/m);
    assert.match(small, /^fsblacklist review/);
    for (const line of small.split("\n")) assert.ok([...line].length <= 60, `wider than 60: ${JSON.stringify(line)}`);
    assert.match(small, /^› adfs /m);

    plain.keys("Space", "q");
    await plain.waitFor(/1 change is not applied yet\. Quit and drop it\?/);
    plain.keys("y");
    assert.equal(await plain.exitStatus(), 0);
    assert.throws(() => readFileSync(path.join(root.dir, "etc/modprobe.d/60-blacklist_fs-adfs.conf")), { code: "ENOENT" });
  } finally {
    coloured.close();
    plain.close();
  }
});

test("review with stdout not a terminal exits 2 naming the commands to use instead", async () => {
  const root = shared;
  const scratch = makeScratchDir("fsb-tui-");
  const out = path.join(scratch, "stdout");
  // stdin is the terminal, stdout a file.
  const terminal = new TmuxTerminal(["sh", "-c", `exec "$0" "$1" review --root "$2" >"$3" 2>&1`, process.execPath, BIN, root.dir, out]);
  try {
    assert.equal(await terminal.exitStatus(), 2);
    const text = readFileSync(out, "utf8");
    assert.match(text, /review needs an interactive terminal/);
    for (const command of ["status", "allow", "block", "reset"]) assert.match(text, new RegExp(`fsblacklist ${command}`));
  } finally {
    terminal.close();
    rmSync(scratch, { recursive: true, force: true });
  }
});

/** Runs the bundled command without a terminal, recording every module it loads, and whether one of them is Ink's. */
function runRecordingInk(args: readonly string[]): { status: number; stderr: string; loaded: string[]; loadedInk: boolean } {
  const run = runRecordingLoads(args);
  return { ...run, loadedInk: run.loaded.some((url) => readFileSync(fileURLToPath(url), "utf8").includes("node_modules/ink/")) };
}

test("review without a terminal exits 2 with the commands to use instead, without loading Ink", () => {
  const result = runRecordingInk(["review", "--root", shared.dir]);
  assert.equal(result.status, 2, result.stderr);
  assert.match(result.stderr, /^fsblacklist: review needs an interactive terminal/m);
  for (const command of ["status", "allow", "block", "reset"]) assert.match(result.stderr, new RegExp(`fsblacklist ${command}`));
  assert.ok(
    result.loaded.some((url) => /\/dist\/cli\.cjs$/.test(url)),
    "the command table ran",
  );
  assert.equal(result.loadedInk, false, `Ink loaded:\n${result.loaded.join("\n")}`);
});

test("status never loads Ink or React", () => {
  const result = runRecordingInk(["status", "--root", shared.dir]);
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.loadedInk, false, `Ink loaded:\n${result.loaded.join("\n")}`);
  assert.ok(!result.loaded.some((url) => readFileSync(fileURLToPath(url), "utf8").includes("node_modules/react/")));
});
