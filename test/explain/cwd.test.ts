// A relative DEVICE or IMAGE is relative to the caller's working directory,
// which reaches explain through the IO (not process.cwd()), so in-process
// callers can give their own.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../src/main.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";

test("explain resolves a relative image against the IO's working directory", async (t) => {
  const root = createFakeRoot();
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-cwd-"));
  t.after(() => {
    root.cleanup();
    fs.rmSync(cwd, { recursive: true, force: true });
  });
  const image = `blank-${process.pid}.img`;
  fs.writeFileSync(path.join(cwd, image), Buffer.alloc(1 << 20));
  assert.equal(fs.existsSync(image), false, "not found through the process's working directory");

  let stdout = "";
  let stderr = "";
  const status = await main(["--root", root.dir, "--json", "explain", image], {
    stdout: { write: (text) => void (stdout += String(text)), isTTY: false },
    stderr: { write: (text) => void (stderr += String(text)), isTTY: false },
    env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", NO_COLOR: "1" },
    uid: 0,
    cwd,
  });
  assert.equal(status, 0, stderr);
  const report = JSON.parse(stdout) as { cause: string; evidence: string[] };
  assert.equal(report.cause, "unknown-filesystem");
  assert.ok(
    report.evidence.some((line) => line.startsWith(`blkid -p ${image}: `)),
    report.evidence.join("\n"),
  );
});
