// The package as npm installs it (run `npm run build` first): `npm pack`, unpacked
// in a directory outside the repository, its command run from there. The
// CommonJS bundle must find the policy in the blacklist.d/ next to the package,
// not the repository's.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createFakeRoot } from "../helpers/fake-root.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const JFS = "blacklist.d/60-blacklist_fs-jfs.conf";

function run(command: string, args: string[], cwd: string): { status: number | null; stdout: string; stderr: string } {
  const result = spawnSync(command, args, { cwd, encoding: "utf8", env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" } });
  if (result.error) throw result.error;
  return result;
}

test("the packed package reads the policy shipped in it", (t) => {
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-packed-"));
  const root = createFakeRoot({ loaded: [] });
  t.after(() => {
    fs.rmSync(scratch, { recursive: true, force: true });
    root.cleanup();
  });

  const pack = run("npm", ["pack", "--ignore-scripts", "--silent", "--pack-destination", scratch], REPO);
  assert.equal(pack.status, 0, pack.stderr);
  const tarball = path.join(scratch, pack.stdout.trim().split("\n").at(-1)!);
  const untar = run("tar", ["-xzf", tarball, "-C", scratch], scratch);
  assert.equal(untar.status, 0, untar.stderr);
  const pkg = path.join(scratch, "package");
  for (const name of ["bin/fsblacklist.js", "dist/main.cjs", "dist/cli.cjs", "blacklist.d/policy.json", JFS]) {
    assert.ok(fs.existsSync(path.join(pkg, name)), `${name} is in the package`);
  }
  assert.equal(fs.existsSync(path.join(pkg, "src")), false, "the sources are not");
  // What npm would install beside it; nothing is installed for the test.
  fs.symlinkSync(path.join(REPO, "node_modules"), path.join(pkg, "node_modules"));

  const marker = `Packed copy read (${process.pid}).`;
  const shipped = fs.readFileSync(path.join(REPO, JFS), "utf8");
  assert.doesNotMatch(shipped, new RegExp(marker.replace(/[().]/g, "\\$&")));
  const edited = shipped.replace(/^# reason: .*$/m, `# reason: ${marker}`);
  assert.notEqual(edited, shipped);
  fs.writeFileSync(path.join(pkg, JFS), edited);

  const bin = path.join(pkg, "bin/fsblacklist.js");
  const status = run(process.execPath, [bin, "--root", root.dir, "status", "--json"], scratch);
  assert.equal(status.status, 0, status.stderr);
  const report = JSON.parse(status.stdout) as { filesystems: { name: string; reason: string }[] };
  const reasons = new Map(report.filesystems.map((fs) => [fs.name, fs.reason]));
  assert.equal(reasons.get("jfs"), marker, "the reason of the packed blacklist.d");
  assert.match(reasons.get("minix") ?? "", /\S/, "the other fragments are read as packed");

  // Without it the command says so, naming the packed location: it never falls back to the repository's.
  fs.rmSync(path.join(pkg, "blacklist.d"), { recursive: true });
  const missing = run(process.execPath, [bin, "--root", root.dir, "status", "--json"], scratch);
  assert.equal(missing.status, 1, missing.stderr);
  const wanted = `the shipped policy is missing (no policy.json in ${path.join(pkg, "blacklist.d")}`;
  assert.ok(missing.stderr.includes(wanted), missing.stderr);
  // Under --json the same failure is also the one error document on stdout.
  const doc = JSON.parse(missing.stdout) as { error: { message: string; exitCode: number } };
  assert.ok(doc.error.message.startsWith(wanted), missing.stdout);
  assert.equal(doc.error.exitCode, 1);
});
