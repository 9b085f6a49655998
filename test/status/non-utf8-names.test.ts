// `status` on modprobe.d files whose names are not UTF-8: kmod reads them like
// any other, so they decide what is blocked, and status names them readably:
// each byte that is not UTF-8 as \xNN, a literal backslash doubled, so that two
// names never read alike.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { main } from "../../src/main.ts";
import { assertJsonOutput } from "../helpers/json-schemas.ts";

async function status(args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  let stdout = "";
  let stderr = "";
  const code = await main(["status", ...args], {
    stdout: { write: (t) => void (stdout += String(t)), isTTY: false },
    stderr: { write: (t) => void (stderr += String(t)), isTTY: false },
    env: { NO_COLOR: "1" },
    uid: 0,
  });
  assertJsonOutput(["status", ...args], stdout, code);
  return { status: code, stdout, stderr };
}

/** Writes `text` to the file named by `name` (bytes) in the root-relative `dir`. */
function writeNamed(root: string, dir: string, name: Buffer, text: string): void {
  fs.mkdirSync(path.join(root, dir), { recursive: true });
  fs.writeFileSync(Buffer.concat([Buffer.from(path.join(root, dir) + "/"), name]), text);
}

const latin1Name = (text: string): Buffer => Buffer.from(text, "latin1");

test("status: a file whose name is not UTF-8 decides, masks, and is named with \\xNN in decidedBy", async (t) => {
  const root = createFakeRoot({ kernel: "6.1.0-50-amd64" });
  t.after(() => root.cleanup());
  // "black-é.conf" in Latin-1, and a UTF-8 name that would read the same if backslashes were not doubled.
  writeNamed(root.dir, "etc/modprobe.d", latin1Name("black-\xe9.conf"), "# the administrator's, saved in Latin-1\nblacklist btrfs\n");
  writeNamed(root.dir, "etc/modprobe.d", Buffer.from("black-\\xe9.conf"), "blacklist xfs\n");
  // The same byte name in a lower directory is masked by an empty file above it: nilfs2 stays loadable.
  writeNamed(root.dir, "usr/lib/modprobe.d", latin1Name("site-\xff.conf"), "blacklist nilfs2\n");
  writeNamed(root.dir, "etc/modprobe.d", latin1Name("site-\xff.conf"), "");

  const run = await status(["--root", root.dir, "--json", "btrfs", "xfs"]);
  assert.equal(run.status, 0, run.stderr);
  assert.equal(run.stderr, "", "no warning: the files are read");
  const report = JSON.parse(run.stdout) as { filesystems: { name: string; state: string; decidedBy: string | null }[] };
  assert.deepEqual(
    report.filesystems.map((f) => [f.name, f.state, f.decidedBy]),
    [
      ["btrfs", "blocked", "etc/modprobe.d/black-\\xe9.conf:2"],
      ["xfs", "blocked", "etc/modprobe.d/black-\\\\xe9.conf:1"],
    ],
  );

  const nilfs2 = JSON.parse((await status(["--root", root.dir, "--json", "nilfs2"])).stdout) as { filesystems: { state: string; decidedBy: string | null }[] };
  assert.notEqual(nilfs2.filesystems[0]!.state, "blocked", "the vendor file is masked by the empty file of the same bytes");

  const human = await status(["--root", root.dir, "btrfs"]);
  assert.equal(human.status, 0, human.stderr);
  assert.ok(human.stdout.includes("etc/modprobe.d/black-\\xe9.conf:2"), human.stdout);
});
