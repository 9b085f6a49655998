// policyDir is a directory on the host running fsblacklist (the shipped
// blacklist.d by default). A relative one is relative to the directory of the
// configuration file that sets it, as `$import` is, never to the current
// directory (nothing is read from there).

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { loadConfig } from "../../src/system/config.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { main } from "../../src/main.ts";
import type { IO } from "../../src/context.ts";
import { makePolicy } from "../apply/helpers.ts";

function tempDir(t: TestContext, prefix: string): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), prefix));
  t.after(() => fs.rmSync(dir, { recursive: true, force: true }));
  return dir;
}

function write(file: string, text: string): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, text);
}

test("--config FILE: a relative policyDir is taken from FILE's directory, wherever the command runs", async (t) => {
  const site = tempDir(t, "fsb-site-");
  const root = tempDir(t, "fsb-root-");
  const elsewhere = tempDir(t, "fsb-cwd-");
  const policy = makePolicy("9.0.0", [{ module: "minix", since: "9.0.0" }]);
  t.after(() => policy.cleanup());
  fs.cpSync(policy.dir, path.join(site, "policies/site"), { recursive: true });
  write(path.join(site, "conf/config.yaml"), "policyDir: ../policies/site\n");

  const config = await loadConfig(new RootFs(root), { path: "conf/config.yaml", cwd: site });
  assert.equal(config.policyDir, path.join(site, "policies/site"));

  // End to end, from a working directory where the relative path leads nowhere.
  let stdout = "";
  let stderr = "";
  const io: IO = {
    stdout: { write: (text) => void (stdout += String(text)), isTTY: false },
    stderr: { write: (text) => void (stderr += String(text)), isTTY: false },
    env: { PATH: process.env["PATH"] ?? "/usr/sbin:/usr/bin:/sbin:/bin", NO_COLOR: "1" },
    uid: 0,
    cwd: elsewhere,
  };
  const status = await main(["--root", root, "--config", path.join(site, "conf/config.yaml"), "--json", "status"], io);
  assert.equal(status, 0, stderr);
  assert.deepEqual(
    (JSON.parse(stdout) as { filesystems: { name: string }[] }).filesystems.map((f) => f.name),
    ["minix"],
    "the site policy's one filesystem",
  );
});

test("the configuration under the root: a relative policyDir is beside it (etc/fsblacklist/), an absolute one is a host path as before", async (t) => {
  const root = tempDir(t, "fsb-root-");
  write(path.join(root, "etc/fsblacklist/config.yaml"), "policyDir: blacklist.d\n");
  assert.equal((await loadConfig(new RootFs(root), undefined)).policyDir, path.join(root, "etc/fsblacklist/blacklist.d"));

  write(path.join(root, "etc/fsblacklist/config.yaml"), "policyDir: /opt/fsblacklist/policy\n");
  assert.equal((await loadConfig(new RootFs(root), undefined)).policyDir, "/opt/fsblacklist/policy");
});

test("a relative policyDir in an $import is relative to the imported file, not to the file that imports it", async (t) => {
  const root = tempDir(t, "fsb-root-");
  write(path.join(root, "etc/fsblacklist/site/base.yaml"), "policyDir: policy\n");
  write(path.join(root, "etc/fsblacklist/config.yaml"), "$import: site/base.yaml\n");
  assert.equal((await loadConfig(new RootFs(root), undefined)).policyDir, path.join(root, "etc/fsblacklist/site/policy"));
});
