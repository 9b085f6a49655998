// Text from the system reaches human output escaped: a mount point (from a
// volume label, through mountinfo's and fstab's octal escapes) and a modprobe.d
// file name carrying an escape sequence that erases the line and a newline that
// starts a forged one ("removed ...") appear as `\x1b[2K\nremoved ...` in the
// text of status, apply and explain, and exactly as they are in --json. The
// keep's reason holds such a mount point: its marker line escapes it (and a
// backslash) so that it reads back exactly, and allow, block, reset and
// uninstall print it escaped.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";

const FORGED = "\x1b[2K\nremoved passwd\x9b1A\x07";
const ESCAPED = "\\x1b[2K\\nremoved passwd\\x9b1A\\x07";
const MOUNT_POINT = `/media/usb${FORGED}`;
const FILE_NAME = `00-local${FORGED}.conf`;
/** What no line of human output may hold: C0 but the newline ending a line, DEL, C1. */
const CONTROL = /[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/;

async function fsb(root: string, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  return runInProcess(["--root", root, ...args]);
}

function assertEscaped(what: string, text: string): void {
  assert.doesNotMatch(text, CONTROL, `${what}: a control character reached the terminal:\n${text}`);
  assert.ok(!text.split("\n").some((line) => line.startsWith("removed ")), `${what}: a forged line:\n${text}`);
}

test("a mount point and a file name with escape sequences and newlines: escaped in status, apply and explain text, exact in --json", async (t) => {
  const root = createFakeRoot({
    mounts: [
      { source: "/dev/vda1", target: "/", fstype: "ext4" },
      { source: "/dev/sdc1", target: MOUNT_POINT, fstype: "hfsplus" },
    ],
    // fstab's octal escapes: \033 ESC, \012 newline, \233 and \007 as bytes the kernel would pass through.
    fstab: "/dev/vda1 / ext4 defaults 0 1\n/dev/sdb1 /mnt/old\\033[2K\\012removed\\040/etc/passwd minix noauto 0 0\n",
    files: { [`etc/modprobe.d/${FILE_NAME}`]: "install fat /bin/false\n" },
  });
  t.after(() => root.cleanup());

  const applied = await fsb(root.dir, "apply");
  assert.equal(applied.status, 0, applied.stderr);
  assertEscaped("apply", applied.stdout + applied.stderr);
  assert.ok(applied.stdout.includes(`/media/usb${ESCAPED}`), `apply names the mount point escaped:\n${applied.stdout}`);
  assert.ok(applied.stdout.includes("/mnt/old\\x1b[2K\\nremoved /etc/passwd"), `apply names the fstab mount point escaped:\n${applied.stdout}`);

  const status = await fsb(root.dir, "status", "hfsplus", "vfat", "minix");
  assert.equal(status.status, 0, status.stderr);
  assertEscaped("status", status.stdout + status.stderr);
  assert.ok(status.stdout.includes(`/media/usb${ESCAPED}`), `status names the mount point escaped:\n${status.stdout}`);
  assert.ok(status.stdout.includes(`00-local${ESCAPED}.conf`), `status names the file escaped:\n${status.stdout}`);
  const table = await fsb(root.dir, "status");
  assertEscaped("status (table)", table.stdout + table.stderr);

  const explained = await fsb(root.dir, "explain", "--type", "vfat");
  assert.equal(explained.status, 0, explained.stderr);
  assertEscaped("explain", explained.stdout + explained.stderr);
  assert.ok(explained.stdout.includes(`00-local${ESCAPED}.conf`), `explain names the file escaped:\n${explained.stdout}`);

  // JSON keeps every character: the same strings, exactly.
  const json = JSON.parse((await fsb(root.dir, "--json", "status")).stdout) as { filesystems: { name: string; decidedBy: string | null; usedBy?: string[] }[] };
  assert.equal(json.filesystems.find((f) => f.name === "vfat")!.decidedBy, `etc/modprobe.d/${FILE_NAME}:1`);
  assert.ok(JSON.stringify(json).includes(JSON.stringify(MOUNT_POINT).slice(1, -1)), "status --json holds the mount point exactly");
  const explainJson = JSON.parse((await fsb(root.dir, "--json", "explain", "--type", "vfat")).stdout) as { evidence: string[] };
  assert.ok(
    explainJson.evidence.some((e) => e.includes(FILE_NAME)),
    `explain --json holds the file name exactly: ${explainJson.evidence.join(" | ")}`,
  );
});

test("the keep's reason in its marker: exact in apply --json and uninstall --json, escaped in the text of allow, block, reset and uninstall", async (t) => {
  // Backslashes too: the marker writes them as `\\`.
  const mountPoint = `/media/a\\b${FORGED}\\`;
  const root = createFakeRoot({
    loaded: ["hfsplus"],
    mounts: [
      { source: "/dev/vda1", target: "/", fstype: "ext4" },
      { source: "/dev/sdc1", target: mountPoint, fstype: "hfsplus" },
    ],
    fstab: "/dev/vda1 / ext4 defaults 0 1\n",
  });
  t.after(() => root.cleanup());
  const keptReason = async (): Promise<string> => {
    const applied = await fsb(root.dir, "--json", "apply");
    assert.equal(applied.status, 0, applied.stderr);
    const kept = (JSON.parse(applied.stdout) as { kept: { module: string; reason: string }[] }).kept.find((k) => k.module === "hfsplus");
    assert.ok(kept !== undefined, applied.stdout);
    return kept.reason;
  };
  const first = await keptReason();
  assert.ok(first.includes(mountPoint), `apply --json: the reason holds the mount point exactly: ${JSON.stringify(first)}`);
  const keep = fs.readFileSync(path.join(root.dir, "etc/modprobe.d/60-blacklist_fs-hfsplus.conf"), "utf8");
  assert.doesNotMatch(keep, CONTROL, `the keep file holds no control character:\n${keep}`);
  assert.ok(!keep.split("\n").some((line) => line.endsWith("\\")), `no line of the keep ends in a backslash:\n${keep}`);
  assert.ok(keep.includes("/media/a\\\\b\\x1b[2K\\nremoved passwd\\x9b1A\\x07\\\\ ("), `the reason is escaped in the marker:\n${keep}`);
  // The second apply reads the reason back from the marker.
  assert.equal(await keptReason(), first, "the reason read back from the marker is the one written");

  const plain = await fsb(root.dir, "uninstall", "--dry-run");
  assert.equal(plain.status, 0, plain.stderr);
  assertEscaped("uninstall", plain.stdout + plain.stderr);
  assert.ok(plain.stdout.includes(ESCAPED), `uninstall names the keep's reason escaped:\n${plain.stdout}`);
  const unJson = await fsb(root.dir, "--json", "uninstall", "--dry-run");
  assert.equal(unJson.status, 0, unJson.stderr);
  const unKeep = (JSON.parse(unJson.stdout) as { actions: { module: string; file: string; reason: string }[] }).actions.find((a) => a.module === "hfsplus" && a.file === "override");
  assert.ok(unKeep?.reason.includes(first), `uninstall --json holds the keep's reason exactly: ${JSON.stringify(unKeep)}`);

  const allow = await fsb(root.dir, "allow", "--dry-run", "hfsplus");
  assert.equal(allow.status, 0, allow.stderr);
  assertEscaped("allow", allow.stdout + allow.stderr);
  assert.ok(allow.stdout.includes(`/media/a\\\\b${ESCAPED}\\\\ (`), `allow's diff shows the keep's marker as written:\n${allow.stdout}`);

  const blockJson = await fsb(root.dir, "--json", "block", "--dry-run", "hfsplus");
  assert.equal(blockJson.status, 0, blockJson.stderr);
  assert.ok(blockJson.stdout.includes(JSON.stringify(mountPoint).slice(1, -1)), `block --json holds the mount point exactly:\n${blockJson.stdout}`);
  const block = await fsb(root.dir, "block", "hfsplus");
  assert.equal(block.status, 0, block.stderr);
  assertEscaped("block", block.stdout + block.stderr);
  assert.ok(block.stdout.includes(ESCAPED), `block names the mount point escaped:\n${block.stdout}`);

  const reset = await fsb(root.dir, "reset", "hfsplus");
  assert.equal(reset.status, 0, reset.stderr);
  assertEscaped("reset", reset.stdout + reset.stderr);
  assert.ok(reset.stdout.includes(ESCAPED), `reset names the mount point escaped:\n${reset.stdout}`);
});
