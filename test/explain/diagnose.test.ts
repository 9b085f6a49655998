import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { diagnose, type Cause, type DiagnoseFacts, type ModprobeOutcome } from "../../src/decide/diagnose.ts";
import { parseMountMessage } from "../../src/decide/mount-message.ts";
import { parseOsRelease } from "../../src/decide/module-packages.ts";

const FRAGMENT = "usr/lib/modprobe.d/60-blacklist_fs-minix.conf";
const DEBIAN = parseOsRelease('PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"\nID=debian\n');
const FEDORA = parseOsRelease("ID=fedora\nVERSION_ID=40\n");

/** minix on a Debian kernel that can load it and nothing stopping it. */
function facts(change: Partial<DiagnoseFacts> = {}): DiagnoseFacts {
  return {
    fstype: "minix",
    unrecognised: null,
    usage: null,
    release: "6.1.0-50-amd64",
    running: true,
    moduleSupport: true,
    autoload: true,
    registered: false,
    moduleIndex: true,
    modprobe: { kind: "loads", module: "minix" },
    kernelBlacklist: [],
    policy: { name: "minix", module: "minix", kernels: null, reason: "rarely used" },
    knownType: true,
    allow: { lifts: true },
    installLineIsOurs: false,
    message: null,
    os: DEBIAN,
    ...change,
  };
}

const blacklistedByFragment: ModprobeOutcome = { kind: "blacklisted", module: "minix", lines: [{ where: `${FRAGMENT}:9`, text: "blacklist minix" }] };

const CASES: [string, Partial<DiagnoseFacts>, Cause, Partial<{ fix: string[]; once: string | null; module: string | null }>][] = [
  ["nothing stops it", {}, "not-blocked", { fix: [], once: null, module: "minix" }],
  ["a vendor fragment blacklists it", { modprobe: blacklistedByFragment }, "blacklisted", { fix: ["fsblacklist allow minix"], once: "modprobe minix" }],
  [
    "an admin's own file blacklists it",
    {
      modprobe: { kind: "blacklisted", module: "minix", lines: [{ where: "etc/modprobe.d/local.conf:3", text: "blacklist minix" }] },
      allow: { lifts: false, reason: "not ours" },
    },
    "blacklisted",
    { fix: ["sed -i '3s/^/# /' /etc/modprobe.d/local.conf"], once: "modprobe minix" },
  ],
  [
    "modprobe.blacklist= and a fragment",
    {
      modprobe: {
        kind: "blacklisted",
        module: "minix",
        lines: [
          { where: `${FRAGMENT}:9`, text: "blacklist minix" },
          { where: "proc/cmdline", text: "modprobe.blacklist=minix" },
        ],
      },
    },
    "cmdline-blacklisted",
    { fix: ["fsblacklist allow minix"], once: "modprobe minix" },
  ],
  [
    "modprobe.blacklist= on Fedora names grubby",
    { os: FEDORA, release: "6.9.7-200.fc40.x86_64", modprobe: { kind: "blacklisted", module: "minix", lines: [{ where: "proc/cmdline", text: "modprobe.blacklist=jfs,minix" }] } },
    "cmdline-blacklisted",
    { fix: ["grubby --update-kernel=ALL --args=modprobe.blacklist=jfs"] },
  ],
  ["module_blacklist= refuses it in the kernel", { modprobe: { kind: "kernel-blacklisted", module: "minix", refused: "minix" }, kernelBlacklist: ["minix"] }, "cmdline-blacklisted", { once: null }],
  [
    "an install line runs /bin/false",
    { modprobe: { kind: "install-blocked", module: "minix", line: { where: "etc/modprobe.d/cis.conf:1", text: "install minix /bin/false" } } },
    "install-blocked",
    { fix: ["sed -i '1s/^/# /' /etc/modprobe.d/cis.conf"], once: "modprobe --ignore-install minix" },
  ],
  [
    "a dependency's install line",
    {
      fstype: "vfat",
      policy: null,
      modprobe: { kind: "dependency-blocked", module: "vfat", dependency: "fat", line: { where: "etc/modprobe.d/no-fat.conf:2", text: "install fat /bin/false" } },
    },
    "dependency-blocked",
    { module: "vfat", fix: ["sed -i '2s/^/# /' /etc/modprobe.d/no-fat.conf"] },
  ],
  ["no module for the cloud kernel", { release: "6.1.0-50-cloud-amd64", modprobe: { kind: "no-module" } }, "module-missing", { fix: ["apt install linux-image-amd64"] }],
  ["no modules installed at all", { moduleIndex: false, modprobe: { kind: "no-module" } }, "module-missing", { fix: [] }],
  ["a name no kernel knows", { fstype: "bogusfs", policy: null, knownType: false, modprobe: { kind: "no-module" } }, "unknown-filesystem", { module: null }],
  [
    "reiserfs after 6.13",
    { fstype: "reiserfs", release: "6.16.3-1-amd64", policy: { name: "reiserfs", module: "reiserfs", kernels: "<6.13.0", reason: "removed in 6.13" }, modprobe: { kind: "no-module" } },
    "removed-from-kernel",
    { module: "reiserfs", fix: [] },
  ],
  [
    "reiserfs before 6.13 but absent is only missing",
    { fstype: "reiserfs", release: "6.1.0-50-cloud-amd64", policy: { name: "reiserfs", module: "reiserfs", kernels: "<6.13.0", reason: "removed in 6.13" }, modprobe: { kind: "no-module" } },
    "module-missing",
    {},
  ],
  ["autoload is off", { autoload: false }, "autoload-disabled", { fix: ["modprobe minix"] }],
  ["the kernel has no module support", { moduleSupport: false, autoload: false }, "no-module-support", { fix: [] }],
  ["no filesystem on the device", { fstype: null, unrecognised: { kind: "no-signature", path: "random.img" } }, "unknown-filesystem", { module: null }],
  ["a LUKS container", { fstype: "crypto_LUKS", usage: "crypto" }, "unknown-filesystem", {}],
  // Precedence: what stops the mount first.
  ["registered beats a blacklist", { registered: true, modprobe: blacklistedByFragment }, "not-blocked", {}],
  ["built in beats a blacklist", { modprobe: { kind: "in-kernel", module: "minix", builtin: true } }, "not-blocked", {}],
  ["no module support beats a blacklist", { moduleSupport: false, autoload: false, modprobe: blacklistedByFragment }, "no-module-support", {}],
  ["no module support beats a missing module", { moduleSupport: false, autoload: false, modprobe: { kind: "no-module" } }, "no-module-support", {}],
  ["autoload off beats a blacklist", { autoload: false, modprobe: blacklistedByFragment }, "autoload-disabled", {}],
  ["without a running kernel, only the configuration counts", { running: false, moduleSupport: false, autoload: false, modprobe: blacklistedByFragment }, "blacklisted", {}],
];

for (const [what, change, cause, expected] of CASES) {
  test(`diagnose: ${what} -> ${cause}`, () => {
    const result = diagnose(facts(change));
    assert.equal(result.cause, cause);
    assert.ok(result.summary.length > 0 && !result.summary.includes("\n"), "one summary line");
    assert.ok(result.evidence.length > 0, "evidence is given");
    assert.ok(result.fix.length > 0 || result.advice !== null, "either a command or advice");
    for (const [key, value] of Object.entries(expected)) assert.deepEqual(result[key as keyof typeof result], value, key);
  });
}

test("diagnose: blacklist evidence names the file and line", () => {
  const result = diagnose(facts({ modprobe: blacklistedByFragment }));
  assert.deepEqual(result.evidence, [`${FRAGMENT}:9: blacklist minix`, "fsblacklist's policy blacklists minix because: rarely used"]);
});

test("diagnose: not-blocked explains what the mount error means instead", () => {
  const message = parseMountMessage("mount: /mnt: wrong fs type, bad option, bad superblock on /dev/loop0, missing codepage or helper program, or other error.");
  const result = diagnose(facts({ registered: true, message }));
  assert.equal(result.cause, "not-blocked");
  assert.match(result.advice!, /corrupt superblock/);
  assert.match(result.summary, /another reason/);
});

test("diagnose: an unknown-type message for a loadable module suggests trying modprobe", () => {
  const message = parseMountMessage("mount: /mnt: unknown filesystem type 'minix'.");
  const result = diagnose(facts({ message }));
  assert.equal(result.cause, "not-blocked");
  assert.deepEqual(result.fix, ["modprobe minix"]);
});

test("diagnose: a mount point error is reported as coming before the module", () => {
  const message = parseMountMessage("mount: /mnt/x: mount point does not exist.");
  const result = diagnose(facts({ modprobe: blacklistedByFragment, message }));
  assert.equal(result.cause, "blacklisted");
  assert.match(result.evidence.at(-1)!, /mount stopped earlier than the module: .*mkdir/);
});

test("diagnose: a file path with spaces is quoted in the fix", () => {
  const result = diagnose(
    facts({ modprobe: { kind: "blacklisted", module: "minix", lines: [{ where: "etc/modprobe.d/my file.conf:2", text: "blacklist minix" }] }, allow: { lifts: false, reason: "x" } }),
  );
  assert.deepEqual(result.fix, ["sed -i '2s/^/# /' '/etc/modprobe.d/my file.conf'"]);
});

test("diagnose: a file name shown with \\xNN escapes is quoted so that bash names its very bytes", () => {
  const cases: [string, Buffer][] = [
    ["black-\\xe9.conf", Buffer.from([...Buffer.from("/etc/modprobe.d/black-"), 0xe9, ...Buffer.from(".conf")])],
    ["it's \\\\x41 \\xff.conf", Buffer.from([...Buffer.from("/etc/modprobe.d/it's \\x41 "), 0xff, ...Buffer.from(".conf")])],
  ];
  for (const [shown, bytes] of cases) {
    const result = diagnose(
      facts({ modprobe: { kind: "blacklisted", module: "minix", lines: [{ where: `etc/modprobe.d/${shown}:2`, text: "blacklist minix" }] }, allow: { lifts: false, reason: "x" } }),
    );
    const prefix = "sed -i '2s/^/# /' ";
    assert.ok(result.fix[0]!.startsWith(prefix), result.fix[0]);
    const named = spawnSync("bash", ["-c", `printf %s ${result.fix[0]!.slice(prefix.length)}`]);
    assert.equal(named.status, 0, named.stderr.toString());
    assert.deepEqual(named.stdout, bytes, `${shown}: ${result.fix[0]}`);
  }
});
