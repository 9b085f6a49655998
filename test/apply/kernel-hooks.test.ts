// The kernel lifecycle hooks under packaging/: Debian's /etc/kernel/postinst.d
// and postrm.d scripts run by the real run-parts the way the linux-image
// packages run them, systemd's kernel-install plugin run by the real
// kernel-install, and the pacman hook for mkinitcpio systems. Each re-runs apply
// before the initramfs tools that share its directory, and exits 0 even when
// fsblacklist fails, so a kernel's installation never fails because of us.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { CLI, DEFAULT_MODULES, VENDOR, writeConfig } from "./helpers.ts";

const PACKAGING = fileURLToPath(new URL("../../packaging/", import.meta.url));
const NEW_KERNEL = "6.12.100+deb12-amd64";

/** A PATH directory whose `fsblacklist` runs the bundled command (seeing `root` as `/` when `chrooted`). */
function binDir(root: string, chrooted: boolean): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-bin-"));
  const quoted = CLI.map((word) => `'${word}'`).join(" ");
  fs.writeFileSync(path.join(dir, "fsblacklist"), `#!/bin/sh\nexec ${quoted}${chrooted ? ` --root '${root}'` : ""} "$@"\n`, { mode: 0o755 });
  return dir;
}

/**
 * Stand-ins for the initramfs tools' own hooks in the same directory: each logs
 * its name and how many fragments the vendor directory held when it ran, which
 * is what the image it builds would carry.
 */
function installToolHooks(dir: string, names: readonly string[], root: string): void {
  for (const name of names) {
    fs.writeFileSync(path.join(dir, name), `#!/bin/sh\necho "${name} $* fragments=$(ls '${root}/${VENDOR}' 2>/dev/null | wc -l)" >> '${root}/hook-log'\n`, { mode: 0o755 });
  }
}

function hookLog(root: string): string[] {
  const file = path.join(root, "hook-log");
  return fs.existsSync(file) ? fs.readFileSync(file, "utf8").trim().split("\n") : [];
}

for (const phase of ["postinst", "postrm"] as const) {
  /** The linux-image package's own call (linux-image-*.postinst / .postrm). */
  const runParts = (root: string, env: NodeJS.ProcessEnv) =>
    spawnSync("run-parts", ["--verbose", "--exit-on-error", `--arg=${NEW_KERNEL}`, `--arg=/boot/vmlinuz-${NEW_KERNEL}`, path.join(root, `etc/kernel/${phase}.d`)], {
      encoding: "utf8",
      env: { NO_COLOR: "1", ...env },
    });
  const install = (root: string): void => {
    const dir = path.join(root, `etc/kernel/${phase}.d`);
    fs.mkdirSync(dir, { recursive: true });
    fs.copyFileSync(path.join(PACKAGING, `kernel/${phase}.d/50-fsblacklist`), path.join(dir, "50-fsblacklist"));
    fs.chmodSync(path.join(dir, "50-fsblacklist"), 0o755);
    installToolHooks(dir, ["dkms", "dracut", "initramfs-tools", "zz-update-grub"], root);
  };

  test(`Debian ${phase}.d: run-parts runs apply for the kernel before the initramfs tools' hooks`, () => {
    const root = createFakeRoot({ loaded: ["jfs"] });
    const bin = binDir(root.dir, false);
    try {
      install(root.dir);
      const result = runParts(root.dir, { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, DPKG_ROOT: root.dir });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, new RegExp(`run-parts: executing ${root.dir}/etc/kernel/${phase}.d/50-fsblacklist ${NEW_KERNEL.replace(/\+/g, "\\+")} /boot/vmlinuz-`));
      assert.match(result.stderr, /fsblacklist apply: policy \S+ \(profile default\)/, "apply's report goes to stderr, as run-parts' own lines do");
      const fragments = DEFAULT_MODULES.length;
      assert.deepEqual(hookLog(root.dir), [
        `dkms ${NEW_KERNEL} /boot/vmlinuz-${NEW_KERNEL} fragments=${fragments}`,
        `dracut ${NEW_KERNEL} /boot/vmlinuz-${NEW_KERNEL} fragments=${fragments}`,
        `initramfs-tools ${NEW_KERNEL} /boot/vmlinuz-${NEW_KERNEL} fragments=${fragments}`,
        `zz-update-grub ${NEW_KERNEL} /boot/vmlinuz-${NEW_KERNEL} fragments=${fragments}`,
      ]);
      assert.ok(fs.existsSync(path.join(root.dir, "etc/modprobe.d/60-blacklist_fs-jfs.conf")), "jfs is in use: kept");
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
      root.cleanup();
    }
  });

  test(`Debian ${phase}.d: a failing fsblacklist warns, exits 0, and run-parts goes on to the other hooks`, () => {
    const root = createFakeRoot();
    const bin = binDir(root.dir, false);
    try {
      install(root.dir);
      writeConfig(root.dir, "profile: no-such-profile\n");
      const result = runParts(root.dir, { PATH: `${bin}:/usr/sbin:/usr/bin:/sbin:/bin`, DPKG_ROOT: root.dir });
      assert.equal(result.status, 0, result.stderr);
      assert.match(result.stderr, /fsblacklist: unknown policy profile 'no-such-profile'\n/);
      const after = phase === "postinst" ? "installing" : "removing";
      assert.match(
        result.stderr,
        new RegExp(`warning: 'fsblacklist apply' failed \\(exit 2\\) after ${after} kernel ${NEW_KERNEL.replace(/\+/g, "\\+")}; the previous module blacklist stays in force`),
      );
      assert.equal(hookLog(root.dir).length, 4, "every later hook still ran");
      assert.ok(!fs.existsSync(path.join(root.dir, VENDOR)), "nothing was written");
    } finally {
      fs.rmSync(bin, { recursive: true, force: true });
      root.cleanup();
    }
  });

  test(`Debian ${phase}.d: after fsblacklist was removed (the conffile stays) the hook is quiet and exits 0`, () => {
    const root = createFakeRoot();
    try {
      install(root.dir);
      const result = runParts(root.dir, { PATH: "/usr/sbin:/usr/bin:/sbin:/bin", DPKG_ROOT: root.dir });
      assert.equal(result.status, 0, result.stderr);
      assert.doesNotMatch(result.stderr, /warning|fsblacklist:/);
      assert.equal(hookLog(root.dir).length, 4);
    } finally {
      root.cleanup();
    }
  });
}

/** The real kernel-install, with only our plugin and a private boot directory and configuration. */
function kernelInstall(_root: string, args: readonly string[], bin: string | null) {
  const work = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-kernel-install-"));
  try {
    fs.writeFileSync(path.join(work, "vmlinuz"), "");
    const plugin = path.join(PACKAGING, "kernel/install.d/40-fsblacklist.install");
    const argv = args[0] === "add" ? [...args, path.join(work, "vmlinuz")] : [...args];
    return spawnSync("kernel-install", argv, {
      encoding: "utf8",
      env: {
        PATH: `${bin === null ? "" : `${bin}:`}/usr/sbin:/usr/bin:/sbin:/bin`,
        NO_COLOR: "1",
        KERNEL_INSTALL_PLUGINS: plugin,
        KERNEL_INSTALL_CONF_ROOT: work,
        BOOT_ROOT: path.join(work, "boot"),
        MACHINE_ID: "0123456789abcdef0123456789abcdef",
      },
    });
  } finally {
    fs.rmSync(work, { recursive: true, force: true });
  }
}

const haveKernelInstall = spawnSync("kernel-install", ["--version"]).status === 0;

test("systemd kernel-install: the plugin runs apply on add and remove and never fails the kernel's installation", { skip: !haveKernelInstall && "no kernel-install (systemd) on this machine" }, () => {
  const root = createFakeRoot({ loaded: ["jfs"] });
  const bin = binDir(root.dir, true);
  try {
    const added = kernelInstall(root.dir, ["add", NEW_KERNEL], bin);
    assert.equal(added.status, 0, added.stderr);
    assert.match(added.stderr, /fsblacklist apply: policy \S+ \(profile default\)/);
    assert.equal(fs.readdirSync(path.join(root.dir, VENDOR)).length, DEFAULT_MODULES.length);
    assert.ok(fs.existsSync(path.join(root.dir, "etc/modprobe.d/60-blacklist_fs-jfs.conf")));

    fs.rmSync(path.join(root.dir, VENDOR), { recursive: true });
    const removed = kernelInstall(root.dir, ["remove", NEW_KERNEL], bin);
    assert.equal(removed.status, 0, removed.stderr);
    assert.equal(fs.readdirSync(path.join(root.dir, VENDOR)).length, DEFAULT_MODULES.length, "remove re-applies too");

    writeConfig(root.dir, "profile: no-such-profile\n");
    const failing = kernelInstall(root.dir, ["add", NEW_KERNEL], bin);
    assert.equal(failing.status, 0, failing.stderr);
    assert.match(failing.stderr, new RegExp(`warning: 'fsblacklist apply' failed \\(exit 2\\) after kernel-install add ${NEW_KERNEL.replace(/\+/g, "\\+")};`));

    const absent = kernelInstall(root.dir, ["add", NEW_KERNEL], null);
    assert.equal(absent.status, 0, absent.stderr);
    assert.doesNotMatch(absent.stderr, /warning/);
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
    root.cleanup();
  }
});

test("the mkinitcpio systems' pacman hook runs on kernels, after the transaction, before mkinitcpio's own hook", () => {
  const name = "85-fsblacklist-kernel.hook";
  const hook = fs.readFileSync(path.join(PACKAGING, "pacman", name), "utf8");
  for (const op of ["Install", "Upgrade", "Remove"]) assert.match(hook, new RegExp(`^Operation = ${op}$`, "m"));
  assert.match(hook, /^Type = Path$/m);
  assert.match(hook, /^Target = usr\/lib\/modules\/\*\/vmlinuz$/m);
  assert.match(hook, /^When = PostTransaction$/m);
  assert.match(hook, /^Exec = \/usr\/share\/libalpm\/scripts\/fsblacklist-apply$/m);
  assert.ok(name < "90-mkinitcpio-install.hook", "pacman runs hooks in file-name order");
  for (const file of ["kernel/postinst.d/50-fsblacklist", "kernel/postrm.d/50-fsblacklist", "kernel/install.d/40-fsblacklist.install", "pacman/fsblacklist-apply"]) {
    assert.ok((fs.statSync(path.join(PACKAGING, file)).mode & 0o111) !== 0, `${file} is executable`);
  }
  assert.ok("40-fsblacklist.install" < "50-dracut.install" && "40-fsblacklist.install" < "50-mkinitcpio.install");
});
