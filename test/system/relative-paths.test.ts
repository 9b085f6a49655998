// A relative --root or --config is relative to the caller's working directory,
// which reaches the Context through the IO (not process.cwd()), so in-process
// callers can give their own.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { main } from "../../src/main.ts";
import type { IO } from "../../src/context.ts";

function capture(cwd: string): { io: IO; out: () => string; err: () => string } {
  let stdout = "";
  let stderr = "";
  return {
    io: {
      stdout: { write: (text) => void (stdout += String(text)), isTTY: false },
      stderr: { write: (text) => void (stderr += String(text)), isTTY: false },
      env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", NO_COLOR: "1" },
      uid: 0,
      cwd,
    },
    out: () => stdout,
    err: () => stderr,
  };
}

test("relative --root and --config are taken from the IO's working directory", async (t) => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-relative-"));
  t.after(() => fs.rmSync(cwd, { recursive: true, force: true }));
  const rootName = `root-${process.pid}`;
  const configName = `settings-${process.pid}.yaml`;
  fs.mkdirSync(path.join(cwd, rootName, "etc/modprobe.d"), { recursive: true });
  fs.writeFileSync(path.join(cwd, rootName, "etc/modprobe.d/local.conf"), "blacklist relativeroot\n");
  fs.writeFileSync(path.join(cwd, configName), "kmodVersion: 31\n");
  assert.equal(fs.existsSync(rootName), false, "not found through the process's working directory");
  assert.equal(fs.existsSync(configName), false, "not found through the process's working directory");

  const run = capture(cwd);
  const status = await main(["--root", rootName, "--config", configName, "--json", "showconfig"], run.io);
  assert.equal(status, 0, run.err());
  const shown = JSON.parse(run.out()) as { kmodVersion: number; entries: { module: string; source: string }[] };
  assert.equal(shown.kmodVersion, 31, "the configuration in the IO's working directory");
  assert.deepEqual(
    shown.entries.filter((entry) => entry.module === "relativeroot").map((entry) => entry.source),
    ["etc/modprobe.d/local.conf:1"],
    "the root in the IO's working directory",
  );
});

test("a missing relative --root or --config is named as given", async (t) => {
  const cwd = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-relative-"));
  t.after(() => fs.rmSync(cwd, { recursive: true, force: true }));
  fs.mkdirSync(path.join(cwd, "root"));

  const noRoot = capture(cwd);
  assert.equal(await main(["--root", "absent", "showconfig"], noRoot.io), 2);
  assert.match(noRoot.err(), /--root absent: no such directory/);

  const noConfig = capture(cwd);
  assert.equal(await main(["--root", "root", "--config", "absent.yaml", "showconfig"], noConfig.io), 2);
  assert.match(noConfig.err(), /absent\.yaml: no such configuration file/);
});
