import { test } from "node:test";
import assert from "node:assert/strict";
import { readdirSync } from "node:fs";
import { FIXTURES, readMountFixture } from "./helpers.ts";
import { failsBeforeDriver, parseMountMessage, usualMeaning, type MountErrorKind } from "../../src/decide/mount-message.ts";

const MNT = "/tmp/fsblacklist-capture/mnt";

// Every fixture captured from the real mount(8), and what must be read out of it.
const EXPECTED: Record<string, { kind: MountErrorKind; fstype?: string; target?: string; source?: string; detail?: string }> = {
  "unknown-type-minix": { kind: "unknown-filesystem-type", fstype: "minix", target: MNT },
  "unknown-type-minix-explicit": { kind: "unknown-filesystem-type", fstype: "minix", target: MNT },
  "unknown-type-vfat": { kind: "unknown-filesystem-type", fstype: "vfat", target: MNT },
  "unknown-type-jfs": { kind: "unknown-filesystem-type", fstype: "jfs", target: MNT },
  "unknown-type-f2fs": { kind: "unknown-filesystem-type", fstype: "f2fs", target: MNT },
  "unknown-type-udf": { kind: "unknown-filesystem-type", fstype: "udf", target: MNT },
  "unknown-type-cramfs": { kind: "unknown-filesystem-type", fstype: "cramfs", target: MNT },
  "unknown-type-iso9660": { kind: "unknown-filesystem-type", fstype: "iso9660", target: MNT },
  "unknown-type-bogus": { kind: "unknown-filesystem-type", fstype: "bogusfs", target: MNT },
  "wrong-fs-type-random": { kind: "wrong-fs-type", source: "/dev/loop0", target: MNT },
  "wrong-fs-type-ext4-on-minix": { kind: "wrong-fs-type", source: "/dev/loop0", target: MNT },
  "wrong-fs-type-bad-option": { kind: "wrong-fs-type", source: "/dev/loop0", target: MNT },
  "wrong-fs-type-tmpfs-option": { kind: "wrong-fs-type", source: "none", target: MNT },
  "ambiguous-two-signatures": { kind: "ambiguous-type", source: "/dev/loop0", target: MNT },
  "special-device-missing": { kind: "special-device-missing", source: "/dev/fsblacklist-no-such-device", target: MNT },
  "loop-missing-image": { kind: "loop-setup-failed", source: "missing.img", target: MNT },
  "loop-directory": { kind: "loop-setup-failed", source: "/tmp/fsblacklist-capture/content", target: MNT },
  "mount-point-missing": { kind: "mount-point-missing", target: "/tmp/fsblacklist-capture/no-such-dir" },
  "mount-point-not-directory": { kind: "mount-point-not-directory", target: "/tmp/fsblacklist-capture/ext4.img" },
  "not-in-fstab": { kind: "not-in-fstab", target: "/tmp/fsblacklist-capture/not-in-fstab" },
  "syscall-enomem-tiny-image": { kind: "syscall-failed", detail: "Cannot allocate memory", target: MNT },
  "already-mounted": { kind: "already-mounted", source: "/tmp/fsblacklist-capture/ext4.img", target: MNT },
  "must-be-superuser": { kind: "must-be-superuser", target: MNT },
  "permission-denied-userns": { kind: "permission-denied", target: MNT },
  "write-protected-warning": { kind: "mounted-read-only", target: MNT },
};

test("every captured fixture has an expectation, and every expectation a fixture", () => {
  const files = readdirSync(FIXTURES)
    .filter((f) => f.endsWith(".txt"))
    .map((f) => f.slice(0, -4))
    .sort();
  assert.deepEqual(files, Object.keys(EXPECTED).sort());
});

for (const [name, expected] of Object.entries(EXPECTED)) {
  test(`parses the real mount output: ${name}`, () => {
    const fixture = readMountFixture(name);
    assert.ok(fixture.command.includes("mount"), "the fixture records its command");
    assert.equal(fixture.exit === 0, expected.kind === "mounted-read-only", "only the warning comes from a mount that worked");
    const parsed = parseMountMessage(fixture.text);
    assert.equal(parsed.kind, expected.kind);
    assert.equal(parsed.fstype, expected.fstype ?? null);
    assert.equal(parsed.target, expected.target ?? null);
    assert.equal(parsed.source, expected.source ?? null);
    assert.equal(parsed.detail, expected.detail ?? null);
    assert.ok(!parsed.line.includes("dmesg(1)"), "the dmesg footer is not part of the message");
    assert.ok(usualMeaning(parsed).length > 20);
  });
}

// Forms this machine's util-linux 2.38 does not print: older and newer
// util-linux, busybox, and mount's words inside a system log. Each string is
// the sentence of the version named (libmount's messages, busybox's perror).
const OTHER_FORMS: [string, string, { kind: MountErrorKind; fstype?: string | null; target?: string | null; source?: string | null; detail?: string | null }][] = [
  ["util-linux before 2.30 (no target prefix)", "mount: unknown filesystem type 'jfs'", { kind: "unknown-filesystem-type", fstype: "jfs", target: null }],
  [
    "util-linux before 2.30, wrapped over two lines",
    "mount: wrong fs type, bad option, bad superblock on /dev/sdb1,\n       missing codepage or helper program, or other error\n\n       In some cases useful info is found in syslog - try\n       dmesg | tail or so.\n",
    { kind: "wrong-fs-type", source: "/dev/sdb1", target: null },
  ],
  [
    "util-linux 2.39+ new mount API",
    "mount: /srv: fsconfig() failed: ext4: Unknown parameter 'bogus'.\n       dmesg(1) may have more information after failed mount system call.",
    { kind: "syscall-failed", target: "/srv", detail: "ext4: Unknown parameter 'bogus'" },
  ],
  ["EIO", "mount: /mnt/usb: can't read superblock on /dev/sdc1.", { kind: "cannot-read-superblock", target: "/mnt/usb", source: "/dev/sdc1" }],
  ["busybox, ENODEV", "mount: mounting /dev/loop0 on /mnt failed: No such device", { kind: "unknown-filesystem-type", source: "/dev/loop0", detail: "No such device" }],
  ["busybox, EINVAL", "mount: mounting /dev/sda1 on /mnt failed: Invalid argument", { kind: "wrong-fs-type", source: "/dev/sda1", detail: "Invalid argument" }],
  ["a journal line", "Nov 21 21:13:12 host mount[812]: mount: /srv/old: unknown filesystem type 'reiserfs'.", { kind: "unknown-filesystem-type", fstype: "reiserfs", target: "/srv/old" }],
  ["another language", "mount: /mnt: Dateisystemtyp »minix« unbekannt.", { kind: "unrecognised", target: null }],
];

for (const [what, text, expected] of OTHER_FORMS) {
  test(`parses ${what}`, () => {
    const parsed = parseMountMessage(text);
    assert.equal(parsed.kind, expected.kind);
    for (const key of ["fstype", "target", "source", "detail"] as const) {
      if (key in expected) assert.equal(parsed[key], expected[key], key);
    }
  });
}

test("only errors before the driver is asked count as failing before it", () => {
  assert.equal(failsBeforeDriver("mount-point-missing"), true);
  assert.equal(failsBeforeDriver("loop-setup-failed"), true);
  assert.equal(failsBeforeDriver("unknown-filesystem-type"), false);
  assert.equal(failsBeforeDriver("wrong-fs-type"), false);
});
