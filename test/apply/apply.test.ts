// `fsblacklist apply` end to end on fake roots (real Debian module metadata, a
// fake running kernel), with the real kmod deciding what is blocked.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { BIN, runInProcess } from "../helpers/cli.ts";
import { renderMarker, parseMarker } from "../../src/policy/marker.ts";
import { fragmentName, renderFragment } from "../../src/policy/fragment.ts";
import { ADMIN, DEFAULT_MODULES, SHIPPED, STATE, VENDOR, apply, applyJson, contents, kmodVerdict, loadableFor, makePolicy, snapshot, writeConfig } from "./helpers.ts";

const FSTAB = `# <file system> <mount point> <type> <options> <dump> <pass>
/dev/vda1  /          ext4  errors=remount-ro  0 1
/dev/sdb1  /mnt/old   minix noauto,user        0 0
`;

function inUseRoot(files: Record<string, string> = {}) {
  return createFakeRoot({
    loaded: ["jfs", "vfat", "fat", "hfsplus"],
    registered: ["jfs", "vfat", "hfsplus"],
    mounts: [
      { source: "/dev/vda1", target: "/", fstype: "ext4" },
      { source: "/dev/vda15", target: "/boot/efi", fstype: "vfat" },
      { source: "/dev/sdc2", target: "/mnt/mac", fstype: "hfsplus" },
    ],
    fstab: FSTAB,
    files,
  });
}

test("fresh install with nothing in use: kmod blacklists every filesystem of the policy", async () => {
  const root = createFakeRoot();
  try {
    const { json } = await applyJson(root.dir);
    assert.equal(json.changed, true);
    assert.deepEqual(json.kept, []);
    assert.deepEqual(
      json.actions.map((a) => a.action),
      DEFAULT_MODULES.map(() => "install"),
    );
    assert.equal(json.initramfsStale, true, "a fresh blacklist is not in the initramfs yet");
    assert.equal(json.kernel, "6.1.0-50-amd64");

    const kmod = kmodVerdict(root.dir);
    for (const module of DEFAULT_MODULES) {
      assert.ok(kmod.blacklisted.has(module), `${module} is blacklisted for kmod`);
      assert.match(kmod.installs.get(module) ?? "", /fsblacklist modprobe-hook/);
    }
    const entry = SHIPPED.entries.find((e) => e.module === "jfs")!;
    assert.equal(fs.readFileSync(path.join(root.dir, VENDOR, fragmentName("jfs")), "utf8"), renderFragment(entry, "default"));
    const state = JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8"));
    assert.equal(state.policyVersion, SHIPPED.version);
    assert.deepEqual(state.installed, DEFAULT_MODULES.map((m) => `${VENDOR}/${fragmentName(m)}`).sort());
    assert.ok(!fs.existsSync(path.join(root.dir, "run/fsblacklist.lock")), "the lock is released");
  } finally {
    root.cleanup();
  }
});

test("filesystems the system uses stay loadable for kmod, the rest are blocked, and the keep says why", async () => {
  const root = inUseRoot();
  try {
    const { json } = await applyJson(root.dir);
    assert.deepEqual(
      json.kept.map((k) => k.module),
      ["hfsplus", "jfs", "minix"],
    );
    const reason = (m: string): string => json.kept.find((k) => k.module === m)!.reason;
    assert.match(reason("jfs"), /jfs loaded \(proc\/modules\)/);
    assert.match(reason("minix"), /minix \/dev\/sdb1 on \/mnt\/old, noauto \(etc\/fstab:3\)/);
    assert.match(reason("hfsplus"), /hfsplus mounted at \/mnt\/mac \(proc\/self\/mountinfo:\d+\)/);

    const keeps = json.actions.filter((a) => a.action === "keep");
    assert.deepEqual(
      keeps.map((a) => a.path),
      ["hfsplus", "jfs", "minix"].map((m) => `${ADMIN}/${fragmentName(m)}`),
    );
    const firstInstall = json.actions.findIndex((a) => a.action === "install");
    assert.ok(
      json.actions.slice(0, firstInstall).every((a) => a.action === "keep"),
      "keeps are written before the fragments they mask",
    );

    const marker = parseMarker(fs.readFileSync(path.join(root.dir, ADMIN, fragmentName("jfs")), "utf8"));
    assert.equal(marker?.kind, "keep");
    assert.equal(marker?.kernel, "6.1.0-50-amd64");
    assert.equal(marker?.reason, reason("jfs"));

    const status = await runInProcess(["--root", root.dir, "status", "--json"]);
    assert.equal(status.status, 0, status.stderr);
    const states = (JSON.parse(status.stdout) as { filesystems: { name: string; state: string; why: string; decidedBy: string | null }[] }).filesystems;
    for (const module of ["jfs", "minix", "hfsplus"]) {
      const fsStatus = states.find((f) => f.name === module);
      assert.equal(fsStatus?.state, "kept", `status says ${module} is kept`);
      assert.ok(fsStatus.why.includes(reason(module)), `status gives the reason: ${fsStatus.why}`);
      assert.equal(fsStatus.decidedBy, `${ADMIN}/${fragmentName(module)}:1`);
    }
    assert.equal(states.find((f) => f.name === "ufs")?.state, "blocked");

    const kmod = kmodVerdict(root.dir);
    for (const module of ["jfs", "minix", "hfsplus", "vfat", "fat"]) assert.ok(loadableFor(kmod, module), `${module} stays loadable for kmod`);
    for (const module of DEFAULT_MODULES.filter((m) => !["jfs", "minix", "hfsplus"].includes(m))) {
      assert.ok(kmod.blacklisted.has(module), `${module} is blacklisted for kmod`);
    }
  } finally {
    root.cleanup();
  }
});

test("an administrator's own file is untouched byte for byte, and allow/block overrides survive apply", async () => {
  const overrideDate = "2024-03-01T10:00:00.000Z";
  const allowUfs = renderMarker({ kind: "allow", module: "ufs", reason: "allowed by the administrator (fsblacklist allow)", date: overrideDate, kernel: "6.1.0-50-amd64" });
  const blockHfsplus =
    renderMarker({ kind: "block", module: "hfsplus", reason: "blocked by the administrator (fsblacklist block)", date: overrideDate, kernel: "6.1.0-50-amd64" }) +
    "blacklist hfsplus\ninstall hfsplus /usr/bin/fsblacklist modprobe-hook hfsplus 2>/dev/null; /sbin/modprobe --ignore-install hfsplus $CMDLINE_OPTS\n";
  const adminJfs = "# mine: jfs stays as I say\r\nblacklist jfs\n";
  const root = inUseRoot({
    [`${ADMIN}/${fragmentName("jfs")}`]: adminJfs,
    [`${ADMIN}/local.conf`]: "blacklist minix\n",
    [`${ADMIN}/${fragmentName("ufs")}`]: allowUfs,
    [`${ADMIN}/${fragmentName("hfsplus")}`]: blockHfsplus,
  });
  try {
    const before = snapshot(root.dir, [ADMIN]);
    const { json } = await applyJson(root.dir);
    assert.deepEqual(snapshot(root.dir, [ADMIN]).get(`${ADMIN}/local.conf`), before.get(`${ADMIN}/local.conf`));
    for (const m of ["jfs", "ufs", "hfsplus"]) {
      assert.deepEqual(snapshot(root.dir, [ADMIN]).get(`${ADMIN}/${fragmentName(m)}`), before.get(`${ADMIN}/${fragmentName(m)}`), `${m}'s override is untouched`);
    }
    const skip = (m: string) => json.actions.find((a) => a.action === "skip" && a.module === m)?.reason;
    assert.equal(skip("jfs"), "the administrator's own file of this name decides");
    assert.equal(skip("ufs"), `allowed by \`fsblacklist allow\` (${overrideDate})`);
    assert.equal(skip("hfsplus"), `blocked by \`fsblacklist block\` (${overrideDate})`);
    assert.ok(
      json.notes.some((n) => n.startsWith("hfsplus is in use (") && n.includes("stays blocked")),
      json.notes.join("\n"),
    );
    assert.deepEqual(
      json.kept.map((k) => k.module),
      ["minix"],
      "only minix is kept: the others are decided by the administrator",
    );

    const kmod = kmodVerdict(root.dir);
    assert.ok(kmod.blacklisted.has("jfs"), "the administrator's file blacklists jfs");
    assert.ok(!kmod.installs.has("jfs"), "the administrator's file masks our install line");
    assert.ok(loadableFor(kmod, "ufs"), "allow survives");
    assert.ok(kmod.blacklisted.has("hfsplus"), "block survives although hfsplus is mounted");
  } finally {
    root.cleanup();
  }
});

test("a second apply reports no change and rewrites nothing", async () => {
  const root = inUseRoot();
  try {
    await applyJson(root.dir);
    const before = snapshot(root.dir);
    const { json, result } = await applyJson(root.dir);
    assert.equal(json.changed, false);
    assert.deepEqual(json.actions, []);
    assert.equal(json.initramfsStale, true, "the first run's rebuild is still owed: none was run or seen");
    assert.deepEqual(
      json.kept.map((k) => k.module),
      ["hfsplus", "jfs", "minix"],
    );
    assert.deepEqual(snapshot(root.dir), before, "same content, same mtimes, same inodes");
    assert.equal(result.stderr, "");
    const text = await apply(root.dir);
    assert.equal(text.status, 0);
    assert.match(text.stdout, /Nothing to do: the system already follows policy /);
    assert.deepEqual(snapshot(root.dir), before);
  } finally {
    root.cleanup();
  }
});

test("--dry-run prints the plan and changes no file", async () => {
  const root = inUseRoot();
  try {
    const before = snapshot(root.dir);
    const text = await apply(root.dir, ["--dry-run"]);
    assert.equal(text.status, 0, text.stderr);
    assert.match(text.stdout, /would keep\s+etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf \(jfs\): jfs loaded/);
    assert.match(text.stdout, /would install\s+usr\/lib\/modprobe\.d\/60-blacklist_fs-minix\.conf \(minix\)/);
    assert.match(text.stdout, /Dry run: nothing was changed\./);
    const { json } = await applyJson(root.dir, ["--dry-run"]);
    assert.equal(json.dryRun, true);
    assert.equal(json.changed, true, "it would change");
    assert.deepEqual(snapshot(root.dir), before);
    assert.ok(!fs.existsSync(path.join(root.dir, "run/fsblacklist.lock")) && !fs.existsSync(path.join(root.dir, "var/lib/fsblacklist")));
  } finally {
    root.cleanup();
  }
});

test("under --root without a running kernel, apply decides from fstab and mount units alone and says so", async () => {
  const root = createFakeRoot({
    running: false,
    fstab: FSTAB,
    mountUnits: { "srv-data.mount": "[Unit]\nDescription=Data\n\n[Mount]\nWhat=/dev/sdd1\nWhere=/srv/data\nType=ufs\nOptions=ro,ufstype=ufs2\n" },
  });
  try {
    const { json } = await applyJson(root.dir);
    assert.equal(json.kernel, null);
    assert.deepEqual(
      json.kept.map((k) => [k.module, k.kernel]),
      [
        ["minix", null],
        ["ufs", null],
      ],
    );
    assert.match(json.kept.find((k) => k.module === "ufs")!.reason, /etc\/systemd\/system\/srv-data\.mount/);
    assert.ok(
      json.notes.some((n) => /no running kernel under .*: what to keep was decided from etc\/fstab and mount units alone/.test(n)),
      json.notes.join("\n"),
    );
    assert.equal(parseMarker(fs.readFileSync(path.join(root.dir, ADMIN, fragmentName("minix")), "utf8"))?.kernel, null);
  } finally {
    root.cleanup();
  }
});

test("keeps: lifted when the evidence is gone, kept without a running kernel to look at", async () => {
  const root = createFakeRoot({ loaded: ["jfs"] });
  try {
    await applyJson(root.dir);
    const keepFile = path.join(root.dir, ADMIN, fragmentName("jfs"));
    assert.ok(fs.existsSync(keepFile));
    // The system seen without its proc/ and sys/ (a chroot): the keep must stay.
    fs.renameSync(path.join(root.dir, "proc"), path.join(root.dir, "proc.away"));
    fs.renameSync(path.join(root.dir, "sys"), path.join(root.dir, "sys.away"));
    const blind = (await applyJson(root.dir)).json;
    assert.deepEqual(
      blind.kept.map((k) => k.module),
      ["jfs"],
    );
    assert.ok(blind.notes.some((n) => n.startsWith("jfs stays kept")));
    assert.ok(fs.existsSync(keepFile));
    fs.renameSync(path.join(root.dir, "proc.away"), path.join(root.dir, "proc"));
    fs.renameSync(path.join(root.dir, "sys.away"), path.join(root.dir, "sys"));
    // Now jfs is unloaded: the keep is lifted.
    fs.writeFileSync(path.join(root.dir, "proc/modules"), "");
    fs.rmSync(path.join(root.dir, "sys/module/jfs"), { recursive: true });
    const { json } = await applyJson(root.dir);
    assert.deepEqual(
      json.actions.map((a) => [a.action, a.module]),
      [["unkeep", "jfs"]],
    );
    assert.match(json.actions[0]!.reason, /^no longer in use \(kept since .*: jfs loaded \(proc\/modules\)\); the policy's blacklist applies again$/);
    assert.equal(json.initramfsStale, true);
    assert.ok(!fs.existsSync(keepFile));
    assert.ok(kmodVerdict(root.dir).blacklisted.has("jfs"));
  } finally {
    root.cleanup();
  }
});

test("a policy update removes the fragment of a dropped entry and reports new entries", async () => {
  const v1 = makePolicy("1.0.0", [
    { module: "jfs", since: "1.0.0" },
    { module: "minix", since: "1.0.0" },
    { module: "cramfs", since: "1.0.0" },
  ]);
  const v2 = makePolicy("1.1.0", [
    { module: "jfs", since: "1.0.0" },
    { module: "minix", since: "1.0.0" },
    { module: "ufs", since: "1.1.0" },
  ]);
  const root = createFakeRoot({ files: { [`${VENDOR}/50-distribution.conf`]: "blacklist floppy\n" } });
  try {
    writeConfig(root.dir, `policyDir: ${v1.dir}\n`);
    assert.deepEqual((await applyJson(root.dir)).json.newEntries, [], "a first install has no 'new' entries");
    writeConfig(root.dir, `policyDir: ${v2.dir}\n`);
    const { json } = await applyJson(root.dir);
    assert.deepEqual(
      json.actions.map((a) => `${a.action} ${a.path}`),
      [`install ${VENDOR}/${fragmentName("ufs")}`, `remove ${VENDOR}/${fragmentName("cramfs")}`],
    );
    assert.equal(json.actions[1]!.reason, "no longer in policy 1.1.0");
    assert.deepEqual(json.newEntries, [{ module: "ufs", since: "1.1.0", reason: "ufs for tests" }]);
    assert.equal(json.previousPolicyVersion, "1.0.0");
    assert.equal(fs.readFileSync(path.join(root.dir, VENDOR, "50-distribution.conf"), "utf8"), "blacklist floppy\n", "a file we did not write stays");
    const kmod = kmodVerdict(root.dir);
    assert.ok(!kmod.blacklisted.has("cramfs") && kmod.blacklisted.has("ufs") && kmod.blacklisted.has("floppy"));
    assert.deepEqual((await applyJson(root.dir)).json.newEntries, [], "reported once");
  } finally {
    root.cleanup();
    v1.cleanup();
    v2.cleanup();
  }
});

test("a damaged state file of fsblacklist's is reported and treated as absent, and the run repairs it", async () => {
  const root = createFakeRoot({ files: { [STATE]: '{"format": "fsblacklist-state-1", "policyVersion": "1.0.0", "installed": 3}' } });
  try {
    const result = await apply(root.dir, ["--json"]);
    assert.equal(result.status, 0);
    assert.match(result.stderr, /^fsblacklist: warning: var\/lib\/fsblacklist\/state\.json: .*; ignoring it, the next apply rewrites it\n$/);
    const json = JSON.parse(result.stdout);
    assert.equal(json.previousPolicyVersion, null);
    const state = JSON.parse(fs.readFileSync(path.join(root.dir, STATE), "utf8"));
    assert.equal(state.installed.length, DEFAULT_MODULES.length);
    assert.equal((await apply(root.dir)).stderr, "");
  } finally {
    root.cleanup();
  }
});

test("the fragments land in the configured directories, and the cis profile writes its own install lines", async () => {
  const root = createFakeRoot({ loaded: ["udf"] });
  try {
    writeConfig(root.dir, "vendorDir: lib/modprobe.d\nprofile: cis\n");
    const { json } = await applyJson(root.dir);
    assert.ok(json.actions.filter((a) => a.action === "install").every((a) => a.path.startsWith("lib/modprobe.d/")));
    assert.deepEqual(
      json.kept.map((k) => k.module),
      ["udf"],
    );
    const kmod = kmodVerdict(root.dir);
    assert.equal(kmod.installs.get("squashfs"), "/bin/false");
    assert.ok(loadableFor(kmod, "udf"));
    assert.deepEqual(Object.keys(contents(snapshot(root.dir, [VENDOR]))), []);
  } finally {
    root.cleanup();
  }
});

test("not as root: a dry run works, a real run of a root it cannot write fails whole with exit 1", () => {
  const root = createFakeRoot({ loaded: ["jfs"] });
  try {
    fs.chmodSync(root.dir, 0o755);
    const run = (args: string[]) =>
      spawnSync("setpriv", ["--reuid", "65534", "--regid", "65534", "--clear-groups", process.execPath, BIN, "--root", root.dir, "apply", ...args], {
        encoding: "utf8",
        env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" },
      });
    const before = snapshot(root.dir);
    const dry = run(["--dry-run"]);
    assert.equal(dry.status, 0, dry.stderr);
    assert.match(dry.stdout, /would keep\s+etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf/);
    const real = run([]);
    assert.equal(real.status, 1);
    assert.match(
      real.stderr,
      /^fsblacklist: cannot create lock run\/fsblacklist\.lock: permission denied \(EACCES\)\nhint: changing the system needs root|cannot write etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf: permission denied \(EACCES\)/,
    );
    assert.deepEqual(snapshot(root.dir), before);
  } finally {
    root.cleanup();
  }
});
