// `fsblacklist status` on fake roots built from real kernels' module metadata,
// and on the real machine.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, readFileSync } from "node:fs";
import { release as hostRelease } from "node:os";
import { createFakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { BIN, runInProcess } from "../helpers/cli.ts";
import { main } from "../../src/main.ts";
import { entriesForProfile, fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";
import { renderMarker, type OverrideKind } from "../../src/policy/marker.ts";
import { assertJsonOutput } from "../helpers/json-schemas.ts";

interface Run {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs the command table in this process (the bundle is exercised by the process tests below). */
async function status(args: string[], env: NodeJS.ProcessEnv = {}): Promise<Run> {
  let stdout = "";
  let stderr = "";
  const code = await main(["status", ...args], {
    stdout: { write: (t) => void (stdout += String(t)), isTTY: false },
    stderr: { write: (t) => void (stderr += String(t)), isTTY: false },
    env: { NO_COLOR: "1", ...env },
    uid: 0,
  });
  assertJsonOutput(["status", ...args], stdout, code);
  return { status: code, stdout, stderr };
}

const policy = loadPolicy(shippedPolicyDir());
const defaultEntries = entriesForProfile(policy, "default");

/** "usr/lib/modprobe.d/<fragment>:<line of its blacklist line>", as status should name it. */
function vendorLine(module: string): string {
  const entry = defaultEntries.find((e) => e.module === module)!;
  const line = renderFragment(entry, "default").split("\n").indexOf(`blacklist ${module}`) + 1;
  return `usr/lib/modprobe.d/${fragmentName(module)}:${line}`;
}

/** The shipped fragments as `apply` installs them, plus overrides in etc/modprobe.d. */
function installedPolicy(overrides: Record<string, OverrideKind | string> = {}): Record<string, string> {
  const files: Record<string, string> = {};
  for (const entry of defaultEntries) files[`usr/lib/modprobe.d/${fragmentName(entry.module)}`] = renderFragment(entry, "default");
  for (const [module, kind] of Object.entries(overrides)) {
    const body = kind === "block" ? `blacklist ${module}\ninstall ${module} /bin/false\n` : "";
    const text =
      kind === "keep" || kind === "allow" || kind === "block"
        ? renderMarker({ kind, module, reason: `${module} mounted at /srv (proc/self/mountinfo:6)`, date: "2025-01-02T03:04:05.000Z", kernel: "6.1.0-50-amd64" }) + body
        : kind;
    files[`etc/modprobe.d/${fragmentName(module)}`] = text;
  }
  return files;
}

interface JsonFs {
  name: string;
  module: string | null;
  state: string;
  decidedBy: string | null;
  loaded: boolean;
  mounted: boolean;
  inFstab: boolean;
  present: boolean;
  reason: string | null;
  inPolicy: boolean;
  usedBy: string[];
}
interface JsonReport {
  kernel: string | null;
  notes: string[];
  filesystems: JsonFs[];
}

async function statusJson(root: string, args: string[] = []): Promise<JsonReport> {
  const run = await status(["--root", root, "--json", ...args]);
  assert.equal(run.status, 0, run.stderr);
  return JSON.parse(run.stdout) as JsonReport;
}

function withRoot<T>(spec: FakeRootSpec, work: (dir: string) => Promise<T>): Promise<T> {
  const root = createFakeRoot(spec);
  return work(root.dir).finally(() => root.cleanup());
}

const RICH: FakeRootSpec = {
  kernel: "6.1.0-50-amd64",
  loaded: ["hfsplus", "fat", "vfat"],
  registered: ["hfsplus", "vfat"],
  mounts: [
    { source: "/dev/vda2", target: "/", fstype: "ext4" },
    { source: "/dev/vda1", target: "/boot/efi", fstype: "vfat" },
    { source: "/dev/sdb1", target: "/srv", fstype: "hfsplus" },
  ],
  fstab: "/dev/vda2 / ext4 defaults 0 1\n/dev/vda1 /boot/efi vfat umask=0077 0 1\nLABEL=old /mnt/old jfs noauto 0 0\n",
  files: {
    ...installedPolicy({ hfsplus: "keep", minix: "allow", ufs: "block", hfs: "# the administrator allows hfs here\n" }),
    "etc/modprobe.d/local.conf": "# site policy\nblacklist btrfs\ninstall fat /bin/false\n",
  },
};

test("status --json: the contract's shape, every state, and what decides each", async () => {
  await withRoot(RICH, async (dir) => {
    const report = await statusJson(dir);
    assert.equal(report.kernel, "6.1.0-50-amd64");
    assert.deepEqual(report.notes, []);
    const byName = new Map(report.filesystems.map((f) => [f.name, f]));
    for (const f of report.filesystems) {
      for (const key of ["name", "module", "state", "decidedBy", "loaded", "mounted", "inFstab", "reason"]) assert.ok(key in f, `${f.name} lacks ${key}`);
      assert.ok(f.decidedBy === null || !f.decidedBy.startsWith("/"), `${f.name}: ${f.decidedBy} is not root-relative`);
    }
    // Every policy filesystem is listed.
    for (const entry of defaultEntries)
      assert.ok(
        report.filesystems.some((f) => f.module === entry.module),
        entry.module,
      );

    const jfs = byName.get("jfs")!;
    assert.deepEqual(
      { state: jfs.state, decidedBy: jfs.decidedBy, inFstab: jfs.inFstab, mounted: jfs.mounted, loaded: jfs.loaded, present: jfs.present, inPolicy: jfs.inPolicy },
      { state: "blocked", decidedBy: vendorLine("jfs"), inFstab: true, mounted: false, loaded: false, present: true, inPolicy: true },
    );
    assert.equal(jfs.reason, defaultEntries.find((e) => e.module === "jfs")!.reason);
    assert.deepEqual(jfs.usedBy, ["jfs LABEL=old on /mnt/old, noauto (etc/fstab:3)"]);

    const hfsplus = byName.get("hfsplus")!;
    assert.deepEqual([hfsplus.state, hfsplus.decidedBy, hfsplus.loaded, hfsplus.mounted], ["kept", "etc/modprobe.d/60-blacklist_fs-hfsplus.conf:1", true, true]);
    assert.deepEqual([byName.get("minix")!.state, byName.get("minix")!.decidedBy], ["allowed", "etc/modprobe.d/60-blacklist_fs-minix.conf:1"]);
    assert.deepEqual([byName.get("ufs")!.state, byName.get("ufs")!.decidedBy], ["pinned", "etc/modprobe.d/60-blacklist_fs-ufs.conf:7"]);
    assert.deepEqual([byName.get("hfs")!.state, byName.get("hfs")!.decidedBy], ["allowed", "etc/modprobe.d/60-blacklist_fs-hfs.conf:1"]);
    assert.deepEqual([byName.get("vxfs")!.module, byName.get("vxfs")!.state], ["freevxfs", "blocked"]);
    // Not in the policy, but blocked by the configuration: listed too.
    const btrfs = byName.get("btrfs")!;
    assert.deepEqual([btrfs.state, btrfs.decidedBy, btrfs.inPolicy, btrfs.reason], ["blocked", "etc/modprobe.d/local.conf:2", false, null]);
    const vfat = byName.get("vfat")!;
    assert.deepEqual([vfat.state, vfat.decidedBy, vfat.mounted, vfat.inFstab], ["blocked", "etc/modprobe.d/local.conf:3", true, true]);
    assert.equal(byName.get("msdos")?.state, "blocked");
    assert.equal(byName.get("ext4"), undefined, "a filesystem nothing blocks and the policy does not list is not shown");
  });
});

test("status on the cloud kernel: built-in and unavailable filesystems, named ones in detail", async () => {
  await withRoot({ kernel: "6.1.0-50-cloud-amd64", files: installedPolicy() }, async (dir) => {
    const report = await statusJson(dir, ["ext3", "jfs", "iso9660", "nls-cp437"]);
    assert.deepEqual(
      report.filesystems.map((f) => [f.name, f.module, f.state, f.present]),
      [
        ["ext4", "ext4", "builtin", false],
        ["iso9660", "isofs", "allowed", true],
        ["jfs", "jfs", "unavailable", false],
        ["nls_cp437", "nls_cp437", "allowed", true],
      ],
    );
    const text = await status(["--root", dir, "jfs", "vxfs"]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /^jfs: unavailable, no module for this kernel$/m);
    assert.match(text.stdout, /^vxfs \(module freevxfs\): unavailable/m);
    assert.match(text.stdout, /^  policy: /m);
  });
});

test("status: a note when the policy is not installed; unknown or invalid names are usage errors (exit 2)", async () => {
  await withRoot({}, async (dir) => {
    assert.deepEqual((await statusJson(dir)).notes, ["The policy's fragments are not installed in usr/lib/modprobe.d: `fsblacklist apply` (as root) installs them."]);
    const unknown = await status(["--root", dir, "jfs", "nosuchfs"]);
    assert.equal(unknown.status, 2);
    assert.equal(unknown.stdout, "");
    assert.match(unknown.stderr, /unknown filesystem or module 'nosuchfs'/);
    const hostile = await status(["--root", dir, "--json", "jfs;reboot"]);
    assert.equal(hostile.status, 2);
    assert.match(JSON.parse(hostile.stdout).error.message, /invalid filesystem or module name "jfs;reboot"/);
    assert.match(hostile.stderr, /invalid filesystem or module name "jfs;reboot"/);
  });
});

test("status table: fits 80 columns, has a summary, lists what is in use", async () => {
  await withRoot(RICH, async (dir) => {
    const run = await status(["--root", dir]);
    assert.equal(run.status, 0, run.stderr);
    const lines = run.stdout.split("\n");
    for (const line of lines) assert.ok(line.length <= 80, `too wide (${line.length}): ${line}`);
    assert.match(run.stdout, /^FILESYSTEM +STATE +IN USE +DECIDED BY$/m);
    assert.match(run.stdout, new RegExp(`^jfs +blocked +fstab +vendor ${vendorLine("jfs").split("/").pop()!.replaceAll(".", "\\.")}$`, "m"));
    assert.match(run.stdout, /^hfsplus +kept +mounted +admin 60-blacklist_fs-hfsplus\.conf:1$/m);
    assert.match(run.stdout, /^vxfs \(freevxfs\) +blocked +- +vendor 60-blacklist_fs-freevxfs\.conf:\d+$/m);
    assert.match(run.stdout, /^btrfs +blocked +- +admin local\.conf:2$/m);
    const total = (await statusJson(dir)).filesystems.length;
    assert.match(run.stdout, new RegExp(`^${total} filesystems: \\d+ blocked, 1 pinned, 1 kept, \\d+ allowed, \\d+ unavailable\\.$`, "m"));
    assert.match(run.stdout.replace(/\n {4}/g, " "), /^  vfat: vfat loaded \(proc\/modules\); .* vfat mounted at \/boot\/efi \(proc\/self\/mountinfo:6\);/m);
    assert.doesNotMatch(run.stdout, /\x1b\[/);
  });
});

test("status explains a kernel without module support, without auto-loading, and a root without a running kernel", async () => {
  await withRoot({ kernel: null, osrelease: "6.18.44-test", moduleSupport: false, registered: ["squashfs", "ext4"], files: installedPolicy() }, async (dir) => {
    const report = await statusJson(dir);
    assert.match(report.notes.join("\n"), /has no loadable module support/);
    assert.ok(report.filesystems.every((f) => f.state === "unavailable" || f.state === "builtin"));
    const named = (await statusJson(dir, ["squashfs", "ext4"])).filesystems;
    assert.deepEqual(
      named.map((f) => [f.name, f.state, f.mounted]),
      [
        ["ext4", "builtin", true],
        ["squashfs", "builtin", false],
      ],
    );
  });
  await withRoot({ autoload: false, loaded: ["fuse"], registered: ["fuseblk"], files: installedPolicy() }, async (dir) => {
    assert.match((await statusJson(dir)).notes.join("\n"), /auto-loading is off/);
    // Registered by a loaded module, so not built in.
    assert.deepEqual(
      (await statusJson(dir, ["fuseblk"])).filesystems.map((f) => [f.module, f.state, f.loaded]),
      [["fuse", "allowed", true]],
    );
  });
  await withRoot({ running: false, fstab: "/dev/vda1 /srv jfs defaults 0 2\n", files: installedPolicy() }, async (dir) => {
    const report = await statusJson(dir);
    assert.equal(report.kernel, null);
    assert.match(report.notes.join("\n"), /No running kernel under .* module facts are from the installed kernel 6\.1\.0-50-amd64/);
    const jfs = report.filesystems.find((f) => f.name === "jfs")!;
    assert.deepEqual([jfs.state, jfs.inFstab, jfs.loaded], ["blocked", true, false]);
  });
  await withRoot({ running: false, kernel: null, files: installedPolicy({ minix: "allow" }) }, async (dir) => {
    const report = await statusJson(dir);
    assert.match(report.notes.join("\n"), /no kernel modules are installed there either/);
    const byName = new Map(report.filesystems.map((f) => [f.name, f]));
    assert.deepEqual([byName.get("jfs")!.state, byName.get("jfs")!.decidedBy], ["blocked", vendorLine("jfs")]);
    assert.equal(byName.get("minix")!.state, "allowed");
  });
});

test("status as an unprivileged user on a fake root (the bundled command as nobody)", {
  skip: process.getuid?.() === 0 && existsSync("/usr/bin/setpriv") ? false : "needs root to drop privileges with setpriv",
}, async () => {
  const root = createFakeRoot(RICH);
  try {
    chmodSync(root.dir, 0o755);
    const run = await runInProcess(["status", "--root", root.dir, "--json"]);
    const asNobody = runCliAs(["status", "--root", root.dir, "--json"]);
    assert.equal(asNobody.status, 0, asNobody.stderr);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(JSON.parse(asNobody.stdout), JSON.parse(run.stdout));
  } finally {
    root.cleanup();
  }
});

function runCliAs(args: string[]): Run {
  const result = spawnSync("setpriv", ["--reuid=65534", "--regid=65534", "--clear-groups", process.execPath, BIN, ...args], {
    encoding: "utf8",
    env: { PATH: process.env["PATH"] ?? "/usr/bin:/bin", NO_COLOR: "1" },
  });
  assertJsonOutput(args, result.stdout, result.status);
  return { status: result.status ?? -1, stdout: result.stdout, stderr: result.stderr };
}

test("status on this machine, as a newcomer runs it (as root, and the bundled command as nobody)", async () => {
  const run = await runInProcess(["status"]);
  assert.equal(run.status, 0, run.stderr);
  assert.match(run.stdout, /^Kernel: /);
  assert.match(run.stdout, /^\d+ filesystems: /m);
  const json = await runInProcess(["status", "--json"]);
  assert.equal(json.status, 0, json.stderr);
  const report = JSON.parse(json.stdout) as JsonReport;
  assert.equal(report.kernel, readFileSync("/proc/sys/kernel/osrelease", "utf8").trim() || hostRelease());
  if (!existsSync("/proc/modules")) {
    assert.match(run.stdout, /has no loadable module support/);
    assert.ok(report.filesystems.every((f) => f.state === "unavailable" || f.state === "builtin"));
  }
  if (process.getuid?.() === 0 && existsSync("/usr/bin/setpriv")) {
    const asNobody = runCliAs(["status", "--json"]);
    assert.equal(asNobody.status, 0, asNobody.stderr);
    assert.deepEqual(JSON.parse(asNobody.stdout), report);
  }
});

test("a module with several types is shown by its own name, its other types after it (status nfs cifs fuse ext4)", async (t) => {
  const root = createFakeRoot({});
  t.after(() => root.cleanup());
  const run = await status(["--root", root.dir, "--json", "nfs4", "smb3", "fuseblk", "ext3"]);
  assert.equal(run.status, 0, run.stderr);
  const rows = (JSON.parse(run.stdout) as { filesystems: { name: string; module: string; types: string[] }[] }).filesystems;
  assert.deepEqual(
    rows.map((r) => [r.name, r.module, r.types]),
    [
      ["cifs", "cifs", ["cifs", "smb3"]],
      ["ext4", "ext4", ["ext4", "ext2", "ext3"]],
      ["fuse", "fuse", ["fuse", "fuseblk", "fusectl"]],
      ["nfs", "nfs", ["nfs", "nfs4"]],
    ],
  );
});
