// On the machine the tests run on: a real `mount -o loop minix.img` and
// `fsblacklist explain` on the real system must agree. On the development
// machine the kernel (6.18.44-fc) has no loadable-module support, so the mount
// fails with "unknown filesystem type 'minix'" and the cause is
// no-module-support; on a kernel that can load minix, whatever happens must
// still match what explain says.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync, truncateSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { runCli } from "../helpers/cli.ts";
import { parseMountMessage } from "../../src/decide/mount-message.ts";

const ENV = { ...process.env, LC_ALL: "C", PATH: `${process.env["PATH"] ?? ""}:/usr/sbin:/sbin` };
const BLOCKING = ["blacklisted", "install-blocked", "dependency-blocked", "cmdline-blacklisted", "module-missing", "no-module-support", "autoload-disabled", "removed-from-kernel"];

interface Explained {
  fstype: string | null;
  cause: string;
  evidence: string[];
}

test("a real failed mount of a minix image and fsblacklist explain agree", (t) => {
  if (process.getuid?.() !== 0) return t.skip("mounting needs root");
  const dir = mkdtempSync(join(tmpdir(), "fsblacklist-this-machine-"));
  const image = join(dir, "minix.img");
  const mountPoint = join(dir, "mnt");
  try {
    mkdirSync(mountPoint);
    writeFileSync(image, "");
    truncateSync(image, 4 << 20);
    const mkfs = spawnSync("mkfs.minix", [image], { env: ENV, encoding: "utf8" });
    assert.equal(mkfs.status, 0, `mkfs.minix: ${mkfs.stderr}`);

    const mount = spawnSync("mount", ["-o", "loop", image, mountPoint], { env: ENV, encoding: "utf8" });
    const fromImage = runCli(["explain", "--root", "/", "--json", image]);
    assert.equal(fromImage.status, 0, fromImage.stderr);
    const byImage = JSON.parse(fromImage.stdout) as Explained;
    assert.equal(byImage.fstype, "minix");

    if (mount.status === 0) {
      spawnSync("umount", [mountPoint], { env: ENV });
      assert.equal(byImage.cause, "not-blocked", "minix mounted, so nothing may be blamed");
      return;
    }
    const said = mount.stderr + mount.stdout;
    const parsed = parseMountMessage(said);
    if (parsed.kind === "loop-setup-failed") return t.skip(`no loop device available here: ${said.trim()}`);
    assert.equal(parsed.kind, "unknown-filesystem-type", said);
    assert.equal(parsed.fstype, "minix");

    const fromMessage = runCli(["explain", "--root", "/", "--json", "--message", said]);
    assert.equal(fromMessage.status, 0, fromMessage.stderr);
    const byMessage = JSON.parse(fromMessage.stdout) as Explained;
    assert.equal(byMessage.fstype, "minix");
    assert.equal(byMessage.cause, byImage.cause, "the image and mount's own words lead to the same cause");
    assert.ok(BLOCKING.includes(byImage.cause), `mount failed, so explain must name what blocks minix, not ${byImage.cause}`);

    // The kernel's own view: minix is not registered, and without proc/modules it cannot be loaded.
    const registered = readFileSync("/proc/filesystems", "utf8")
      .split("\n")
      .map((l) => l.split("\t")[1]);
    assert.ok(!registered.includes("minix"));
    if (!existsSync("/proc/modules")) {
      assert.equal(byImage.cause, "no-module-support");
      assert.ok(byImage.evidence.some((e) => e.startsWith("proc/modules does not exist")));
    }
  } finally {
    spawnSync("umount", [mountPoint], { env: ENV, stdio: "ignore" });
    rmSync(dir, { recursive: true, force: true });
  }
});
