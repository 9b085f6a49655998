// Output through file descriptors (src/system/stdio.ts), driven through the
// bundled command with real pipes: a full non-blocking pipe, a reader that goes
// away, and which streams and modules a run builds for a pipe or /dev/null.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, runCli } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";

const ENV = { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" };

/** A root whose configuration prints ~600 KB: ten times what a pipe holds. */
function rootWithLargeConfig(): ReturnType<typeof createFakeRoot> {
  const root = createFakeRoot();
  const lines = Array.from({ length: 12_000 }, (_, i) => `options mod${i} parameter_${i}=${"x".repeat(32)}`);
  fs.mkdirSync(path.join(root.dir, "etc/modprobe.d"), { recursive: true });
  fs.writeFileSync(path.join(root.dir, "etc/modprobe.d/large.conf"), lines.join("\n") + "\n");
  return root;
}

test("a full non-blocking pipe gets every byte, in order, like a blocking one", (t) => {
  const root = rootWithLargeConfig();
  t.after(() => root.cleanup());
  const expected = runCli(["--root", root.dir, "showconfig"]);
  assert.equal(expected.status, 0, expected.stderr);
  assert.ok(expected.stdoutBytes.length > 500_000);

  // Python hands the command a pipe in non-blocking mode and reads it only after a pause,
  // so the pipe is full and writeSync meets EAGAIN.
  const script = `
import fcntl, os, subprocess, sys, time
r, w = os.pipe()
fcntl.fcntl(w, fcntl.F_SETFL, fcntl.fcntl(w, fcntl.F_GETFL) | os.O_NONBLOCK)
child = subprocess.Popen(sys.argv[1:], stdout=w, stderr=subprocess.PIPE)
os.close(w)
time.sleep(0.5)
out = b""
while True:
    chunk = os.read(r, 65536)
    if not chunk:
        break
    out += chunk
err = child.stderr.read()
sys.stdout.buffer.write(out)
sys.stderr.buffer.write(err)
sys.exit(child.wait())
`;
  const result = spawnSync("python3", ["-c", script, process.execPath, BIN, "--root", root.dir, "showconfig"], { env: ENV, maxBuffer: 64 << 20 });
  assert.equal(result.status, 0, result.stderr.toString());
  assert.equal(result.stderr.toString(), "");
  assert.ok(Buffer.compare(result.stdout, expected.stdoutBytes) === 0, "the output through the full non-blocking pipe differs");
});

test("a reader that goes away ends the output quietly: no error, exit 0", (t) => {
  const root = rootWithLargeConfig();
  t.after(() => root.cleanup());
  // bash reports each side's status; `head` closes the pipe after the first line.
  const result = spawnSync(
    "bash",
    [
      "-c",
      'set -o pipefail; "$@" 2>/tmp/fsb-epipe-$$.err | head -n 1 >/dev/null; s=("${PIPESTATUS[@]}"); cat /tmp/fsb-epipe-$$.err; rm -f /tmp/fsb-epipe-$$.err; echo "status ${s[0]}"',
      "bash",
      process.execPath,
      BIN,
      "--root",
      root.dir,
      "showconfig",
    ],
    {
      env: ENV,
      encoding: "utf8",
    },
  );
  assert.equal(result.stdout, "status 0\n", "stderr of the command, then its status");
});

test("for a pipe or /dev/null no stream, tty or net module is built", (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  // Run with a preloaded recorder of the built-in modules loaded after start-up.
  const recorder = path.join(root.dir, "recorder.cjs");
  fs.writeFileSync(
    recorder,
    `const before = new Set(process.moduleLoadList);
process.on("exit", () => require("node:fs").writeFileSync(${JSON.stringify(path.join(root.dir, "loaded-"))} + process.pid, process.moduleLoadList.filter((m) => !before.has(m)).join("\\n")));`,
  );
  const runs = [
    { args: ["--root", root.dir, "status", "--json"], stdio: ["ignore", "pipe", "pipe"] as const },
    { args: ["--root", root.dir, "status"], stdio: ["ignore", "pipe", "pipe"] as const },
    { args: ["--root", root.dir, "status"], stdio: ["ignore", fs.openSync("/dev/null", "w"), "pipe"] as const },
    { args: ["modprobe-hook", "jfs"], stdio: ["ignore", "pipe", "pipe"] as const },
  ];
  for (const run of runs) {
    const result = spawnSync(process.execPath, ["-r", recorder, BIN, ...run.args], { env: { ...ENV, DPKG_ROOT: root.dir }, stdio: [...run.stdio], encoding: "utf8" });
    assert.equal(result.status, 0, `${run.args.join(" ")}: ${result.stderr}`);
    const file = path.join(root.dir, `loaded-${result.pid}`);
    const loaded = fs.readFileSync(file, "utf8").split("\n");
    fs.rmSync(file);
    for (const name of ["NativeModule stream", "NativeModule net", "NativeModule tty", "NativeModule child_process", "NativeModule fs/promises"]) {
      assert.ok(!loaded.includes(name), `${run.args.join(" ")} loaded ${name}`);
    }
    if (run.args.includes("--json")) assert.doesNotThrow(() => JSON.parse(result.stdout));
  }
});
