// Text from the system reaches human output escaped: a mount point (from a
// volume label, through mountinfo's and fstab's octal escapes) and a modprobe.d
// file name carrying an escape sequence that erases the line and a newline that
// starts a forged one ("removed ...") appear as `\x1b[2K\nremoved ...` in the
// text of status, apply and explain, and exactly as they are in --json.

import { test } from "node:test";
import assert from "node:assert/strict";
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
