// allow, block and reset on fake roots, with the real kmod (`modprobe -C ... -c`)
// saying what is blacklisted afterwards.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { BIN, runInProcess, type CliResult } from "../helpers/cli.ts";
import { runOracle } from "../helpers/kmod-oracle.ts";
import { parseMarker } from "../../src/policy/marker.ts";
import { ADMIN_DIR, VENDOR_DIR, linesFor, overridePath, policyRoot, snapshotTree } from "./helpers.ts";

const JFS_HOOK = "install jfs /usr/bin/fsblacklist modprobe-hook jfs 2>/dev/null; /sbin/modprobe --ignore-install jfs $CMDLINE_OPTS";

async function cli(root: string, ...args: string[]): Promise<CliResult> {
  return runInProcess(["--root", root, ...args]);
}

test("allow jfs: kmod no longer blacklists jfs; reset brings the vendor default back byte for byte", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const [initial] = await runOracle([root.dir]);
  assert.deepEqual(linesFor(initial!.config, "jfs"), ["blacklist jfs", JFS_HOOK], "the vendor fragment blocks jfs to begin with");

  const allowed = await cli(root.dir, "allow", "jfs");
  assert.equal(allowed.status, 0, allowed.stderr);
  assert.match(allowed.stdout, /jfs: allowed: wrote etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf/);
  assert.match(allowed.stdout, /masks usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf/);
  const marker = parseMarker(fs.readFileSync(overridePath(root, "jfs"), "utf8"));
  assert.equal(marker?.kind, "allow");
  assert.equal(marker?.kernel, root.release);

  const [afterAllow] = await runOracle([root.dir]);
  assert.deepEqual(linesFor(afterAllow!.config, "jfs"), [], "no blacklist and no install line for jfs after allow");
  assert.deepEqual(linesFor(afterAllow!.config, "minix"), linesFor(initial!.config, "minix"), "other filesystems stay as they were");

  const again = await cli(root.dir, "allow", "jfs");
  assert.equal(again.status, 0);
  assert.match(again.stdout, /nothing to do: already allowed/);

  const reset = await cli(root.dir, "reset", "jfs");
  assert.equal(reset.status, 0, reset.stderr);
  assert.match(reset.stdout, /the default applies again: blacklisted by usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf:\d+/);
  assert.equal(fs.existsSync(overridePath(root, "jfs")), false);
  const [afterReset] = await runOracle([root.dir]);
  assert.deepEqual(afterReset!.config, initial!.config);
});

test("block jfs pins the blacklist: it survives apply with jfs loaded, and reset restores the default", async (t) => {
  // Two systems with jfs loaded and in fstab: one where the admin blocked jfs, one where nobody did.
  const spec = { loaded: ["jfs"], fstab: "/dev/sdb1 /srv jfs defaults 0 2\n" };
  const blocked = policyRoot(spec);
  const control = policyRoot(spec);
  t.after(() => {
    blocked.cleanup();
    control.cleanup();
  });

  const block = await cli(blocked.dir, "block", "jfs");
  assert.equal(block.status, 0, block.stderr);
  assert.match(block.stdout, /jfs: blocked: wrote etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf/);
  assert.match(block.stdout, /jfs is in use: jfs loaded \(proc\/modules\); jfs \/dev\/sdb1 on \/srv \(etc\/fstab:1\)/);
  const pinned = fs.readFileSync(overridePath(blocked, "jfs"));
  assert.equal(parseMarker(pinned.toString("utf8"))?.kind, "block");
  // The body is the policy's own fragment, byte for byte.
  const vendor = fs.readFileSync(path.join(blocked.dir, VENDOR_DIR, "60-blacklist_fs-jfs.conf"), "utf8");
  assert.ok(pinned.toString("utf8").endsWith(vendor));

  for (const root of [blocked, control]) {
    const apply = await cli(root.dir, "apply");
    assert.equal(apply.status, 0, apply.stderr);
  }
  const [afterBlock, afterKeep] = await runOracle([blocked.dir, control.dir]);
  assert.deepEqual(linesFor(afterBlock!.config, "jfs"), ["blacklist jfs", JFS_HOOK], "apply does not lift an admin's block");
  assert.deepEqual(linesFor(afterKeep!.config, "jfs"), [], "without the block, apply keeps the loaded jfs usable");
  assert.deepEqual(fs.readFileSync(overridePath(blocked, "jfs")), pinned, "apply leaves the block override as it was");

  const reset = await cli(blocked.dir, "reset", "jfs");
  assert.equal(reset.status, 0, reset.stderr);
  const [afterReset] = await runOracle([blocked.dir]);
  assert.deepEqual(linesFor(afterReset!.config, "jfs"), ["blacklist jfs", JFS_HOOK], "the vendor fragment decides again");
});

test("filesystem types resolve to their module: block iso9660 blacklists isofs, allow vxfs masks freevxfs", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const block = await cli(root.dir, "--json", "block", "iso9660");
  assert.equal(block.status, 0, block.stderr);
  const doc = JSON.parse(block.stdout) as { changed: boolean; actions: { action: string; path: string; module: string; reason: string }[] };
  assert.equal(doc.changed, true);
  assert.deepEqual(
    doc.actions.map((a) => [a.action, a.path, a.module]),
    [["block", "etc/modprobe.d/60-blacklist_fs-isofs.conf", "isofs"]],
  );
  const allow = await cli(root.dir, "allow", "vxfs");
  assert.equal(allow.status, 0, allow.stderr);
  assert.match(allow.stdout, /vxfs \(module freevxfs\): allowed/);

  const [after] = await runOracle([root.dir]);
  assert.deepEqual(linesFor(after!.config, "isofs"), ["blacklist isofs", "install isofs /usr/bin/fsblacklist modprobe-hook isofs 2>/dev/null; /sbin/modprobe --ignore-install isofs $CMDLINE_OPTS"]);
  assert.deepEqual(linesFor(after!.config, "freevxfs"), []);
});

test("an administrator's own file under the fragment name is never modified: allow, block and reset refuse, exit 1", async (t) => {
  const root = policyRoot({ files: { [`${ADMIN_DIR}/60-blacklist_fs-jfs.conf`]: "# mine: jfs stays blocked here\nblacklist jfs\n" } });
  t.after(() => root.cleanup());
  const before = snapshotTree(root.dir);
  for (const command of ["allow", "block", "reset"]) {
    for (const extra of command === "allow" ? [[], ["--dry-run"], ["--json"]] : [[]]) {
      const result = await cli(root.dir, command, "jfs", ...extra);
      assert.equal(result.status, 1, `${command} ${extra.join(" ")}: ${result.stderr}`);
      const text = extra[0] === "--json" ? (JSON.parse(result.stdout) as { actions: { reason: string }[] }).actions[0]!.reason : result.stdout + result.stderr;
      assert.match(text, /etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf is a file without fsblacklist's marker: it belongs to the administrator/);
    }
    assert.deepEqual(snapshotTree(root.dir), before, `${command} left the tree as it was`);
  }
});

test("a link to /dev/null under the fragment name is the administrator's mask too", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  fs.mkdirSync(path.join(root.dir, ADMIN_DIR), { recursive: true });
  fs.symlinkSync("/dev/null", overridePath(root, "minix"));
  const before = snapshotTree(root.dir);
  const result = await cli(root.dir, "block", "minix");
  assert.equal(result.status, 1);
  assert.match(result.stderr, /is a link to \/dev\/null without fsblacklist's marker/);
  assert.deepEqual(snapshotTree(root.dir), before);
});

test("allow refuses, writing nothing, when a file fsblacklist does not manage would still block the module", async (t) => {
  const root = policyRoot({
    files: {
      [`${ADMIN_DIR}/local.conf`]: "# site policy\nblacklist jfs\ninstall minix /bin/false\n",
    },
  });
  t.after(() => root.cleanup());
  const before = snapshotTree(root.dir);
  const jfs = await cli(root.dir, "allow", "jfs", "hfs");
  assert.equal(jfs.status, 1);
  assert.match(jfs.stderr, /jfs: refused: jfs would stay unloadable: etc\/modprobe\.d\/local\.conf:2 blacklists jfs; fsblacklist does not manage those lines/);
  assert.match(jfs.stderr, /nothing was written/);
  assert.match(jfs.stdout, /^hfs: not done, because nothing is written when a change is refused: would allow: write etc\/modprobe\.d\/60-blacklist_fs-hfs\.conf$/m);
  const minix = await cli(root.dir, "allow", "minix");
  assert.equal(minix.status, 1);
  assert.match(minix.stderr, /etc\/modprobe\.d\/local\.conf:3 runs `\/bin\/false` instead of loading minix/);
  assert.deepEqual(snapshotTree(root.dir), before, "hfs was not allowed either: a refusal fails the whole run");
});

test("--dry-run prints the diff and writes nothing; --json prints one document", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const before = snapshotTree(root.dir);
  const dry = await cli(root.dir, "block", "minix", "--dry-run");
  assert.equal(dry.status, 0, dry.stderr);
  assert.match(dry.stdout, /^--- \/dev\/null\n\+\+\+ b\/etc\/modprobe\.d\/60-blacklist_fs-minix\.conf\n@@ -0,0 \+1,\d+ @@\n/m);
  assert.match(dry.stdout, /^\+# fsblacklist-override: block$/m);
  assert.match(dry.stdout, /^\+blacklist minix$/m);
  assert.match(dry.stdout, /^minix: would block: write etc\/modprobe\.d\/60-blacklist_fs-minix\.conf: /m);
  assert.match(dry.stdout, /dry run: nothing was written/);
  const json = await cli(root.dir, "--json", "allow", "minix", "--dry-run");
  assert.equal(json.status, 0);
  const doc = JSON.parse(json.stdout) as Record<string, unknown>;
  assert.deepEqual(Object.keys(doc).sort(), ["actions", "changed", "dryRun", "initramfsStale"]);
  assert.equal(doc["dryRun"], true);
  assert.equal(doc["changed"], true);
  const [{ diff, ...allow }] = doc["actions"] as [{ diff: string }];
  assert.match(diff, /^--- \/dev\/null\n\+\+\+ b\/etc\/modprobe\.d\/60-blacklist_fs-minix\.conf\n@@ -0,0 \+1,\d+ @@\n\+# Managed by fsblacklist/);
  assert.deepEqual(
    [allow],
    [
      {
        action: "allow",
        path: "etc/modprobe.d/60-blacklist_fs-minix.conf",
        module: "minix",
        name: "minix",
        reason: "kmod no longer blacklists minix (masks usr/lib/modprobe.d/60-blacklist_fs-minix.conf)",
        notes: [],
        written: false,
      },
    ],
  );
  assert.deepEqual(snapshotTree(root.dir), before);
});

test("reset removes only what fsblacklist wrote: a keep override from apply goes, an unknown name is a usage error", async (t) => {
  const root = policyRoot({ loaded: ["minix"] });
  t.after(() => root.cleanup());
  assert.equal((await cli(root.dir, "apply")).status, 0);
  assert.equal(parseMarker(fs.readFileSync(overridePath(root, "minix"), "utf8"))?.kind, "keep");
  const reset = await cli(root.dir, "reset", "minix", "jfs");
  assert.equal(reset.status, 0, reset.stderr);
  assert.match(reset.stdout, /minix: removed etc\/modprobe\.d\/60-blacklist_fs-minix\.conf: the default applies again: blacklisted by usr\/lib/);
  assert.match(reset.stdout, /jfs: nothing to do: no override/);
  assert.equal(fs.existsSync(overridePath(root, "minix")), false);

  const typo = await cli(root.dir, "block", "jsf");
  assert.equal(typo.status, 2);
  assert.match(typo.stderr, /unknown filesystem or module 'jsf'/);
});

test("changes need root on the real system; under --root whoever can write the tree may change it", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  spawnSync("chown", ["-R", "65534:65534", root.dir]);
  const asNobody = (args: string[]): ReturnType<typeof spawnSync> =>
    spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, BIN, ...args], {
      encoding: "utf8",
      env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" },
    });
  const onHost = asNobody(["allow", "jfs"]);
  assert.equal(onHost.status, 2, String(onHost.stderr));
  assert.match(String(onHost.stderr), /allow changes etc\/modprobe\.d and needs root/);
  assert.match(String(onHost.stderr), /hint: run it as root \(sudo fsblacklist allow \.\.\.\), or add --dry-run/);

  const underRoot = asNobody(["--root", root.dir, "allow", "jfs"]);
  assert.equal(underRoot.status, 0, String(underRoot.stderr));
  assert.equal(fs.statSync(overridePath(root, "jfs")).uid, 65534);
});

test("allow --now writes the override, then loads through the real modprobe; a failed load is exit 1 and the override stays", async (t) => {
  // The fake root's modules are empty placeholders, so the real modprobe (given -d ROOT -S RELEASE)
  // finds qnx4 and the kernel refuses to insert it: a load failure on every host.
  const withModules = policyRoot();
  const noModuleSupport = policyRoot({ moduleSupport: false });
  t.after(() => {
    withModules.cleanup();
    noModuleSupport.cleanup();
  });
  const hostHasIt = fs.existsSync("/sys/module/qnx4");
  if (hostHasIt) t.skip("qnx4 is loaded on this host: modprobe would report success");
  else {
    const result = await cli(withModules.dir, "allow", "qnx4", "--now");
    assert.equal(result.status, 1, result.stderr);
    assert.match(result.stdout, /qnx4: allowed: wrote etc\/modprobe\.d\/60-blacklist_fs-qnx4\.conf/);
    assert.match(result.stderr, /^fsblacklist: could not load qnx4 \(modprobe: /m);
    assert.match(result.stderr, /hint: the override stays: qnx4 is no longer blacklisted/);
    assert.equal(parseMarker(fs.readFileSync(overridePath(withModules, "qnx4"), "utf8"))?.kind, "allow");

    const json = await cli(noModuleSupport.dir, "--json", "allow", "qnx4", "--now");
    assert.equal(json.status, 1, json.stderr);
    const doc = JSON.parse(json.stdout) as { changed: boolean; loaded: { module: string; ok: boolean; error: string }[] };
    assert.equal(doc.changed, true);
    assert.equal(doc.loaded[0]?.module, "qnx4");
    assert.equal(doc.loaded[0]?.ok, false);
    assert.match(doc.loaded[0]!.error, /this kernel has no loadable module support \(there is no \/proc\/modules\)/);
    assert.ok(fs.existsSync(overridePath(noModuleSupport, "qnx4")));
  }
});
