// One spawned run of the bundled command (bin/fsblacklist.js, what the package
// installs) per command, in the order an administrator meets them, on one fake
// root. The command tests run main() in process (test/helpers/cli.ts); these
// prove that the bundle starts, reaches each command and ends with its exit
// code, its output on the right stream and, with --json, a document that its
// schema accepts (runCli checks that).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { runCli } from "../helpers/cli.ts";
import { fragmentName } from "../../src/policy/fragment.ts";

test("every command through the bundle: exit code, stdout and stderr as a user sees them", (t) => {
  const root = createFakeRoot({ loaded: ["jfs"], fstab: "/dev/vda1 / ext4 defaults 0 1\n" });
  t.after(() => root.cleanup());
  const r = (...args: string[]) => runCli(["--root", root.dir, ...args]);

  const help = runCli(["--help"]);
  assert.equal(help.status, 0, help.stderr);
  for (const command of ["status", "showconfig", "apply", "uninstall", "allow", "block", "reset", "explain", "audit", "review", "modprobe-hook"]) {
    assert.match(help.stdout, new RegExp(`^  ${command}\\b`, "m"), `--help lists ${command}`);
  }

  const applied = r("apply", "--json");
  assert.equal(applied.status, 0, applied.stderr);
  assert.deepEqual(
    (JSON.parse(applied.stdout) as { kept: { module: string }[] }).kept.map((k) => k.module),
    ["jfs"],
    "apply keeps the loaded jfs",
  );
  assert.ok(fs.existsSync(path.join(root.dir, "usr/lib/modprobe.d", fragmentName("minix"))), "apply wrote minix's fragment");

  const status = r("status", "minix", "jfs");
  assert.equal(status.status, 0, status.stderr);
  assert.match(status.stdout, /^minix\b.*blocked/m);
  assert.match(status.stdout, /^jfs\b.*kept/m);

  const shown = r("showconfig");
  assert.equal(shown.status, 0, shown.stderr);
  assert.match(shown.stdout, /^blacklist minix$/m);

  const explained = r("explain", "--type", "minix");
  assert.equal(explained.status, 0, explained.stderr);
  assert.match(explained.stdout, /minix/);

  const allowed = r("allow", "minix");
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.ok(fs.existsSync(path.join(root.dir, "etc/modprobe.d", fragmentName("minix"))), "allow wrote the override");
  const blocked = r("block", "minix", "--json");
  assert.equal(blocked.status, 0, blocked.stderr);
  const reset = r("reset", "minix");
  assert.equal(reset.status, 0, reset.stderr);
  assert.equal(fs.existsSync(path.join(root.dir, "etc/modprobe.d", fragmentName("minix"))), false, "reset removed the override");

  const audit = r("audit", "--benchmark", "cis-l1", "--json");
  assert.equal(audit.status, 1, "jfs is kept: the default profile's audit fails, with exit 1");
  assert.ok((JSON.parse(audit.stdout) as { rules: unknown[] }).rules.length > 0);

  // Not a terminal: review refuses with a usage error, and says why on stderr.
  const review = r("review");
  assert.equal(review.status, 2);
  assert.equal(review.stdout, "");
  assert.match(review.stderr, /terminal/);

  // The hook as modprobe runs it (no terminal, no --root: DPKG_ROOT names the root): it does nothing and succeeds.
  const hook = runCli(["modprobe-hook", "minix"], { env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: root.dir }, stdio: ["ignore", "pipe", "pipe"] });
  assert.equal(hook.status, 0, hook.stderr);
  assert.equal(hook.stdout, "");
  assert.equal(fs.existsSync(path.join(root.dir, "etc/modprobe.d", fragmentName("minix"))), false, "the hook wrote nothing");

  const unknown = r("allow", "no-such-fs");
  assert.equal(unknown.status, 2);
  assert.match(unknown.stderr, /^fsblacklist: /m);

  const removed = r("uninstall");
  assert.equal(removed.status, 0, removed.stderr);
  assert.equal(fs.existsSync(path.join(root.dir, "usr/lib/modprobe.d", fragmentName("minix"))), false, "uninstall removed the fragment");
});
