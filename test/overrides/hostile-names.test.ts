// Names end up in file names and in install lines that modprobe runs through a
// root shell. Every hostile name is rejected with exit 2 before anything is
// read or written, and the tree stays byte for byte as it was. The whole table
// runs in process; under `npm test` the runs of the installed command take a
// sample of it (test/helpers/tier.ts), test:evidence all of it.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { runCli, BIN } from "../helpers/cli.ts";
import { main } from "../../src/main.ts";
import type { IO } from "../../src/context.ts";
import { policyRoot, shellQuote, snapshotTree } from "./helpers.ts";
import { shellTerminal } from "../helpers/tmux.ts";
import { SAMPLING } from "../helpers/tier.ts";

const HOSTILE: readonly string[] = ["jfs;rm -rf /", "$(reboot)", "`id`", "../../etc/passwd", "a/b", "jfs\nblacklist x", "", "a".repeat(57), "jfs ext4", "ï", "-rf", "--now"];
const COMMANDS = ["allow", "block", "reset"] as const;
/** What the tests that start the installed command try: a shell command, a line break, an option. */
const SPAWNED: readonly string[] = SAMPLING ? ["jfs;rm -rf /", "jfs\nblacklist x", "-rf"] : HOSTILE;

/** As typed; a leading dash is an option to commander, so such names also go after `--` to reach our own check. */
function argumentForms(command: string, name: string): string[][] {
  return name.startsWith("-")
    ? [
        [command, name],
        [command, "--", name],
      ]
    : [[command, name]];
}

function assertRejected(status: number, stdout: string, stderr: string, args: readonly string[]): void {
  const what = JSON.stringify(args);
  assert.equal(status, 2, `${what}: ${stderr}`);
  assert.equal(stdout, "", what);
  if (args[1] === "--" || !args[1]!.startsWith("-")) assert.match(stderr, /^fsblacklist: invalid filesystem or module name ".*": /, what);
}

test("the installed command rejects every hostile name with exit 2 and leaves the tree untouched", async (t) => {
  const root = policyRoot({ loaded: ["jfs"] });
  t.after(() => root.cleanup());
  const before = snapshotTree(root.dir);
  for (const name of SPAWNED) {
    for (const args of argumentForms("allow", name)) {
      const result = runCli(["--root", root.dir, ...args]);
      assertRejected(result.status, result.stdout, result.stderr, args);
    }
  }
  assert.deepEqual(snapshotTree(root.dir), before);
});

test("allow, block and reset reject every hostile name, a NUL byte and a hostile name next to a valid one", async (t) => {
  // In-process through main(), the entry point the bundle runs: the whole table for every
  // command costs no process start, and it carries a NUL byte that no command line can.
  const root = policyRoot({ loaded: ["jfs"] });
  t.after(() => root.cleanup());
  const before = snapshotTree(root.dir);
  for (const command of COMMANDS) {
    for (const args of [...[...HOSTILE, "jfs\0"].flatMap((name) => argumentForms(command, name)), [command, "jfs", "jfs;reboot"]]) {
      let stdout = "";
      let stderr = "";
      const io: IO = {
        stdout: { write: (text) => void (stdout += String(text)), isTTY: false },
        stderr: { write: (text) => void (stderr += String(text)), isTTY: false },
        env: { NO_COLOR: "1" },
        uid: 0,
      };
      const status = await main(["--root", root.dir, ...args], io);
      assertRejected(status, stdout, stderr, args);
    }
  }
  assert.deepEqual(snapshotTree(root.dir), before);
});

test("modprobe-hook with a hostile name, at a terminal as root: no prompt, exit 0, nothing written", async (t) => {
  const root = policyRoot();
  const terminal = shellTerminal({ DPKG_ROOT: root.dir });
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-hostile-"));
  t.after(() => {
    terminal.close();
    root.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  const before = snapshotTree(root.dir);
  // Exactly as the install line calls it (`fsblacklist modprobe-hook NAME`), the root from $DPKG_ROOT;
  // from a script, so that the screen shows only what the hook prints.
  const script = path.join(scratch, "hostile.sh");
  const lines = SPAWNED.map((name, i) => `${shellQuote(process.execPath)} ${shellQuote(BIN)} modprobe-hook ${shellQuote(name)}; echo "EXIT${i}=$?"`);
  fs.writeFileSync(script, lines.join("\n") + "\necho DONE\n");
  terminal.type(`clear; bash ${shellQuote(script)}`);
  const screen = await terminal.waitFor(/^DONE$/m);
  // `clear` ran before the script, so the screen starts with the script's output.
  const output = screen.slice(0, screen.indexOf("\nDONE")).trim();
  assert.deepEqual(
    output.split("\n"),
    SPAWNED.map((_, i) => `EXIT${i}=0`),
    "nothing but the exit codes: no prompt, no message",
  );
  assert.deepEqual(snapshotTree(root.dir), before);

  // The same terminal and root do prompt for a real module: the silence above was the names'.
  terminal.fresh();
  terminal.type(`${shellQuote(process.execPath)} ${shellQuote(BIN)} modprobe-hook jfs; echo "EXIT=$?"`);
  await terminal.waitFor(/Un-blacklist jfs permanently\? \[y\]es \/ \[n\]o \/ ne\[v\]er:/);
  terminal.type("n");
  await terminal.waitFor(/^EXIT=0$/m);
  assert.deepEqual(snapshotTree(root.dir), before);
});
