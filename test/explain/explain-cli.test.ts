// `fsblacklist explain`: real images detected by the real blkid, against fake
// roots with real Debian kernel metadata; one test per cause. All run the
// command in this process: test/helpers/cli.ts's runInProcess where its exit
// code and output streams are what is tested. Under `npm test` three of the
// images take the every-image check (test/helpers/tier.ts); test:evidence
// takes all nine.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { execFileSync } from "node:child_process";
import { runInProcess as runCommand } from "../helpers/cli.ts";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { sampled } from "../helpers/tier.ts";
import { makeImages, readMountFixture, runInProcess, type ImageName, type Images } from "./helpers.ts";
import { canRunOracle, runModprobe } from "../facts/modprobe-oracle.ts";

const POLICY_DIR = new URL("../../blacklist.d/", import.meta.url);
const fragment = (module: string): string => readFileSync(new URL(`60-blacklist_fs-${module}.conf`, POLICY_DIR), "utf8");
const lineOf = (text: string, wanted: string): number => text.split("\n").indexOf(wanted) + 1;

interface Explained {
  fstype: string | null;
  module: string | null;
  cause: string;
  evidence: string[];
  fix: string[];
  once: string | null;
  summary: string;
  advice: string | null;
  kernel: string | null;
  typeFrom: string | null;
  mountError: { kind: string; line: string; meaning: string } | null;
}

let images: Images;
/** A Debian 6.1 system with nothing blacklisted, shared by the tests that only read it. */
let plain: FakeRoot;
before(() => {
  images = makeImages();
  plain = createFakeRoot({});
});
after(() => {
  images.cleanup();
  plain.cleanup();
});

/** explain --json under the root; the parsed document. */
async function explainAt(root: string, args: string[]): Promise<Explained> {
  const result = await runInProcess(["explain", "--root", root, "--json", ...args]);
  assert.equal(result.status, 0, `exit 0 expected; stderr: ${result.stderr}`);
  return JSON.parse(result.stdout) as Explained;
}

/** explain --json against a fresh fake root made for this test. */
async function explainIn(spec: FakeRootSpec, args: string[]): Promise<Explained> {
  const root = createFakeRoot(spec);
  try {
    return await explainAt(root.dir, args);
  } finally {
    root.cleanup();
  }
}

const image = (name: ImageName): string => {
  assert.ok(images.has(name), `${name}.img could not be made: is its mkfs tool installed?`);
  return images.path(name);
};

describe("one test per cause", async () => {
  test("blacklisted: a vendor fragment in usr/lib/modprobe.d", async () => {
    const text = fragment("minix");
    const doc = await explainIn({ files: { "usr/lib/modprobe.d/60-blacklist_fs-minix.conf": text } }, [image("minix")]);
    assert.equal(doc.fstype, "minix");
    assert.equal(doc.module, "minix");
    assert.equal(doc.cause, "blacklisted");
    assert.equal(doc.evidence[0], `usr/lib/modprobe.d/60-blacklist_fs-minix.conf:${lineOf(text, "blacklist minix")}: blacklist minix`);
    assert.match(doc.evidence[1]!, /^fsblacklist's policy blacklists minix because: .*CVE-/);
    // Under --root every printed command targets that root, not the host.
    assert.equal(doc.fix.length, 1);
    assert.match(doc.fix[0]!, /^fsblacklist --root \S+ allow minix$/);
    assert.match(doc.once!, /^modprobe -d \S+ (-C \S+ )+--ignore-install minix$/, "the one-time load names the root and its configuration");
    assert.match(doc.typeFrom!, /^blkid -p .*minix\.img: TYPE=minix$/);
  });

  test("blacklisted: the suggested fsblacklist allow really lifts it", async () => {
    const root = createFakeRoot({ files: { "usr/lib/modprobe.d/60-blacklist_fs-minix.conf": fragment("minix") } });
    try {
      const before = await explainAt(root.dir, [image("minix")]);
      assert.equal(before.cause, "blacklisted");
      assert.equal(before.fix[0], `fsblacklist --root ${root.dir} allow minix`);
      const allow = await runInProcess(before.fix[0]!.split(" ").slice(1));
      assert.equal(allow.status, 0, allow.stderr);
      const afterFix = await explainAt(root.dir, [image("minix")]);
      assert.equal(afterFix.cause, "not-blocked");
    } finally {
      root.cleanup();
    }
  });

  test("install-blocked: install minix /bin/false, and the sed fix lifts it", async () => {
    const root = createFakeRoot({ files: { "etc/modprobe.d/cis.conf": "# CIS 1.1.1\ninstall minix /bin/false\n" } });
    try {
      const doc = await explainAt(root.dir, [image("minix")]);
      assert.equal(doc.cause, "install-blocked");
      assert.deepEqual(doc.evidence, ["etc/modprobe.d/cis.conf:2: install minix /bin/false", "in the way: etc/modprobe.d/cis.conf:2 runs `/bin/false` instead of loading minix"]);
      // The fix names the file under --root, so it runs as printed.
      assert.deepEqual(doc.fix, [`sed -i '2s/^/#/' ${root.dir}/etc/modprobe.d/cis.conf`]);
      assert.match(doc.once!, /^modprobe -d \S+ (-C \S+ )+--ignore-install minix$/);
      execFileSync("sh", ["-c", doc.fix[0]!]);
      const fixed = await explainAt(root.dir, [image("minix")]);
      assert.equal(fixed.cause, "not-blocked");
    } finally {
      root.cleanup();
    }
  });

  test("dependency-blocked: install fat /bin/false stops vfat", async () => {
    const doc = await explainIn({ files: { "etc/modprobe.d/no-fat.conf": "install fat /bin/false\n" } }, [image("vfat")]);
    assert.equal(doc.fstype, "vfat");
    assert.equal(doc.module, "vfat");
    assert.equal(doc.cause, "dependency-blocked");
    assert.ok(doc.evidence.includes("etc/modprobe.d/no-fat.conf:1: install fat /bin/false"), doc.evidence.join("\n"));
    assert.equal(doc.fix.length, 1);
    assert.match(doc.fix[0]!, /^sed -i '1s\/\^\/#\/' \S+\/etc\/modprobe\.d\/no-fat\.conf$/);
  });

  test("cmdline-blacklisted: modprobe.blacklist= on the kernel command line", async () => {
    const doc = await explainIn({ cmdline: "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro modprobe.blacklist=jfs,minix quiet" }, [image("minix")]);
    assert.equal(doc.cause, "cmdline-blacklisted");
    assert.deepEqual(doc.evidence, ["proc/cmdline: modprobe.blacklist=jfs,minix", "in the way: modprobe.blacklist=minix on the kernel command line"]);
    assert.match(doc.once!, /^modprobe -d \S+ (-C \S+ )+--ignore-install minix$/, "the one-time load names the root and its configuration");
    // The boot loader's change is a step of the plan, printed as an instruction.
    assert.ok(
      doc.fix.some((f) => f.startsWith("# ") && f.includes("minix") && f.includes("modprobe.blacklist")),
      doc.fix.join("\n"),
    );
    assert.match(doc.advice!, /boot loader/);
  });

  test("cmdline-blacklisted: module_blacklist= makes the kernel refuse it", async () => {
    const doc = await explainIn({ cmdline: "root=/dev/vda1 ro module_blacklist=minix" }, [image("minix")]);
    assert.equal(doc.cause, "cmdline-blacklisted");
    assert.deepEqual(doc.evidence, ["proc/cmdline: module_blacklist=minix", "in the way: module_blacklist=minix on the kernel command line"]);
    assert.equal(doc.once, null, "no one-time way around the kernel's own refusal");
  });

  test("module-missing: jfs on Debian's cloud kernel", async () => {
    const doc = await explainIn({ kernel: "6.1.0-50-cloud-amd64", files: { "etc/os-release": "ID=debian\nVERSION_ID=12\n" } }, [image("jfs")]);
    assert.equal(doc.cause, "module-missing");
    assert.equal(doc.module, "jfs");
    assert.equal(doc.kernel, "6.1.0-50-cloud-amd64");
    assert.deepEqual(doc.fix, ["apt install linux-image-amd64"]);
    assert.ok(doc.evidence.includes("no module provides fs-jfs in lib/modules/6.1.0-50-cloud-amd64/modules.alias, and it is not built in"), doc.evidence.join("\n"));
  });

  test("module-missing: cramfs, which no Debian kernel builds", async (t) => {
    if (!images.has("cramfs")) return t.skip("mkfs.cramfs is not installed");
    const doc = await explainIn({ files: { "etc/os-release": "ID=debian\n" } }, [images.path("cramfs")]);
    assert.equal(doc.cause, "module-missing");
    assert.equal(doc.fstype, "cramfs");
    assert.deepEqual(doc.fix, []);
    assert.match(doc.advice!, /no Debian kernel package ships it/);
  });

  test("no-module-support: a kernel without loadable modules", async () => {
    const doc = await explainIn({ moduleSupport: false }, [image("minix")]);
    assert.equal(doc.cause, "no-module-support");
    assert.deepEqual(doc.fix, []);
    assert.match(doc.evidence[0]!, /^proc\/modules does not exist/);
  });

  test("autoload-disabled: proc/sys/kernel/modprobe is empty", async () => {
    const doc = await explainIn({ autoload: false }, [image("f2fs")]);
    assert.equal(doc.cause, "autoload-disabled");
    assert.deepEqual(doc.fix, ["modprobe f2fs"]);
  });

  test("removed-from-kernel: reiserfs on 6.16, outside the policy's kernel range", async () => {
    const release = "6.16.3-1-amd64";
    const doc = await explainIn({ kernel: null, osrelease: release, files: { [`lib/modules/${release}/modules.dep`]: "", [`lib/modules/${release}/modules.alias`]: "" } }, ["--type", "reiserfs"]);
    assert.equal(doc.cause, "removed-from-kernel");
    assert.equal(doc.module, "reiserfs");
    assert.ok(
      doc.evidence.some((e) => /kernels <6\.13\.0 only/.test(e)),
      doc.evidence.join("\n"),
    );
  });

  test("reiserfs on 6.12, inside the range, is not removed", async () => {
    const doc = await explainIn({ kernel: "6.12.100+deb12-amd64" }, ["--type", "reiserfs"]);
    assert.equal(doc.cause, "not-blocked");
    assert.equal(doc.module, "reiserfs");
  });

  test("unknown-filesystem: random bytes", async () => {
    const doc = await explainAt(plain.dir, [image("random")]);
    assert.equal(doc.cause, "unknown-filesystem");
    assert.equal(doc.fstype, null);
    assert.match(doc.evidence[0]!, /no known signature/);
  });

  test("unknown-filesystem: a type no kernel knows", async () => {
    const doc = await explainAt(plain.dir, ["--type", "bogusfs"]);
    assert.equal(doc.cause, "unknown-filesystem");
    assert.equal(doc.fstype, "bogusfs");
  });

  test("not-blocked: ext4, with the real mount error explained", async () => {
    const { text } = readMountFixture("wrong-fs-type-ext4-on-minix");
    const doc = await explainAt(plain.dir, [image("ext4"), "--message", text]);
    assert.equal(doc.cause, "not-blocked");
    assert.equal(doc.mountError?.kind, "wrong-fs-type");
    assert.match(doc.advice!, /usually means/);
  });
});

describe("the real modprobe agrees with the kmod-level causes", () => {
  test("dry runs of fs-T under the same roots", async (t) => {
    if (!canRunOracle()) return t.skip("the kmod oracle needs root, unshare and modprobe");
    const cases: { spec: FakeRootSpec; image: ImageName; type: string; cause: string; kmod: (stdout: string) => boolean; what: string }[] = [
      { spec: {}, image: "minix", type: "minix", cause: "not-blocked", kmod: (o) => /^insmod \S+\/minix\.ko/m.test(o), what: "insmod minix.ko" },
      {
        spec: { files: { "usr/lib/modprobe.d/60-blacklist_fs-minix.conf": fragment("minix") } },
        image: "minix",
        type: "minix",
        cause: "blacklisted",
        kmod: (o) => o === "",
        what: "nothing at all",
      },
      {
        spec: { files: { "etc/modprobe.d/cis.conf": "install minix /bin/false\n" } },
        image: "minix",
        type: "minix",
        cause: "install-blocked",
        kmod: (o) => o.trim() === "install /bin/false",
        what: "install /bin/false instead of insmod",
      },
      {
        spec: { files: { "etc/modprobe.d/no-fat.conf": "install fat /bin/false\n" } },
        image: "vfat",
        type: "vfat",
        cause: "dependency-blocked",
        kmod: (o) => o.split("\n")[0]!.trim() === "install /bin/false" && !/fat\/fat\.ko/.test(o),
        what: "install /bin/false for fat before vfat",
      },
      { spec: { cmdline: "root=/dev/vda1 ro modprobe.blacklist=jfs,minix" }, image: "minix", type: "minix", cause: "cmdline-blacklisted", kmod: (o) => o === "", what: "nothing at all" },
    ];
    const roots = cases.map((c) => createFakeRoot(c.spec));
    try {
      const runs = runModprobe(roots.map((root, i) => ({ root: root.dir, release: root.release!, mode: "dry-run", requests: [`fs-${cases[i]!.type}`] })));
      for (const [i, c] of cases.entries()) {
        const run = runs[i]![0]!;
        assert.ok(c.kmod(run.stdout), `${c.cause}: modprobe -n -v fs-${c.type} should print ${c.what}, printed ${JSON.stringify(run.stdout)} ${run.stderr}`);
        const doc = await explainAt(roots[i]!.dir, [image(c.image)]);
        assert.equal(doc.cause, c.cause);
      }
    } finally {
      for (const root of roots) root.cleanup();
    }
  });
});

describe("every image: blkid's type and the module kmod resolves it to", async () => {
  const MODULES: [ImageName, string, string][] = [
    ["minix", "minix", "minix"],
    ["vfat", "vfat", "vfat"],
    ["ext4", "ext4", "ext4"],
    ["squashfs", "squashfs", "squashfs"],
    ["iso9660", "iso9660", "isofs"],
    ["jfs", "jfs", "jfs"],
    ["f2fs", "f2fs", "f2fs"],
    ["udf", "udf", "udf"],
    ["erofs", "erofs", "erofs"],
  ];
  for (const [name, fstype, module] of sampled(MODULES, 3)) {
    test(`${name}.img is ${fstype}, served by ${module}`, async () => {
      const doc = await explainAt(plain.dir, [image(name)]);
      assert.equal(doc.fstype, fstype);
      assert.equal(doc.module, module);
      assert.equal(doc.cause, "not-blocked");
    });
  }
});

describe("inputs", async () => {
  test("a mount point from etc/fstab", async () => {
    const doc = await explainIn({ kernel: "6.1.0-50-cloud-amd64", fstab: "/dev/vda1 / ext4 defaults 0 1\n/dev/vdb1 /srv/old jfs defaults,noauto 0 2\n" }, ["/srv/old/"]);
    assert.equal(doc.fstype, "jfs");
    assert.equal(doc.cause, "module-missing");
    assert.equal(doc.typeFrom, "etc/fstab:2: /dev/vdb1 /srv/old jfs");
  });

  test("a mount point from a systemd mount unit", async () => {
    const unit = "[Unit]\nDescription=Old data\n\n[Mount]\nWhat=/dev/vdc\nWhere=/srv/data\nType=minix\n";
    const doc = await explainIn({ moduleSupport: false, mountUnits: { "srv-data.mount": unit } }, ["/srv/data"]);
    assert.equal(doc.fstype, "minix");
    assert.equal(doc.cause, "no-module-support");
    assert.match(doc.typeFrom!, /^etc\/systemd\/system\/srv-data\.mount: /);
  });

  test("an fstab entry of type auto is probed through dev/disk/by-uuid", async () => {
    const root = createFakeRoot({ fstab: "UUID=1234-ABCD /boot/efi auto defaults 0 2\n" });
    try {
      execFileSync("mkdir", ["-p", join(root.dir, "dev/disk/by-uuid")]);
      execFileSync("cp", [image("vfat"), join(root.dir, "dev/vda2")]);
      execFileSync("ln", ["-s", "../../vda2", join(root.dir, "dev/disk/by-uuid/1234-ABCD")]);
      const doc = await explainAt(root.dir, ["/boot/efi"]);
      assert.equal(doc.fstype, "vfat");
      assert.match(doc.typeFrom!, /^etc\/fstab:1: .*; blkid -p UUID=1234-ABCD: TYPE=vfat$/);
    } finally {
      root.cleanup();
    }
  });

  test("--message with the real texts: the type comes from mount's words", async () => {
    const root = createFakeRoot({ moduleSupport: false });
    try {
      for (const [name, fstype] of [
        ["unknown-type-minix", "minix"],
        ["unknown-type-iso9660", "iso9660"],
        ["unknown-type-udf", "udf"],
      ] as const) {
        const { text } = readMountFixture(name);
        const doc = await explainAt(root.dir, ["--message", text]);
        assert.equal(doc.fstype, fstype, name);
        assert.equal(doc.cause, "no-module-support", name);
        assert.equal(doc.mountError?.kind, "unknown-filesystem-type");
        assert.ok(
          doc.evidence.some((e) => e.startsWith("mount said: ")),
          name,
        );
      }
    } finally {
      root.cleanup();
    }
  });

  test("--message naming a type no kernel knows", async () => {
    const doc = await explainAt(plain.dir, ["--message", readMountFixture("unknown-type-bogus").text]);
    assert.equal(doc.fstype, "bogusfs");
    assert.equal(doc.cause, "unknown-filesystem");
  });

  test("a root without a running kernel (an image being built) is judged from its configuration", async () => {
    const doc = (await explainIn({ running: false, files: { "usr/lib/modprobe.d/60-blacklist_fs-minix.conf": fragment("minix") } }, [image("minix")])) as Explained & {
      notes: string[];
    };
    assert.equal(doc.cause, "blacklisted");
    assert.equal(doc.kernel, "6.1.0-50-amd64");
    assert.ok(doc.notes.includes("no running kernel under the root: judged for 6.1.0-50-amd64, the newest kernel installed there"), doc.notes.join("\n"));
  });

  test("a FUSE subtype is asked of the kernel as fuse", async () => {
    const doc = (await explainAt(plain.dir, ["--type", "fuse.sshfs"])) as Explained & { notes: string[] };
    assert.equal(doc.fstype, "fuse");
    assert.equal(doc.module, "fuse");
    assert.equal(doc.cause, "not-blocked");
    assert.ok(doc.notes.includes("mount -t fuse.sshfs asks the kernel for fuse"), doc.notes.join("\n"));
  });

  test("--type wins over blkid, and the difference is noted", async () => {
    const doc = (await explainAt(plain.dir, ["--type", "minix", image("ext4")])) as Explained & { notes: string[] };
    assert.equal(doc.fstype, "minix");
    assert.ok(
      doc.notes.some((n) => /TYPE=ext4, but mount was asked for minix/.test(n)),
      doc.notes.join("\n"),
    );
  });
});

describe("human output", async () => {
  test("the cause first, then the evidence, then Fix: with the command", async () => {
    const root = createFakeRoot({ files: { "usr/lib/modprobe.d/60-blacklist_fs-minix.conf": fragment("minix") } });
    try {
      const result = await runCommand(["explain", "--root", root.dir, image("minix")]);
      assert.equal(result.status, 0, result.stderr);
      const lines = result.stdout.split("\n");
      assert.equal(lines[0], "minix is blacklisted, so the kernel cannot load it when you mount.");
      const fix = lines.indexOf("Fix:");
      assert.ok(lines.indexOf("Evidence:") > 0 && lines.indexOf("Evidence:") < fix, result.stdout);
      assert.equal(lines[fix + 1], `  fsblacklist --root ${root.dir} allow minix`);
      assert.match(result.stdout, /Or, for this boot only:\n  modprobe -d \S+ (-C \S+ )+--ignore-install minix\n/);
      assert.doesNotMatch(result.stdout, /\x1b\[/, "no escape codes without a terminal");
      assert.equal(result.stderr, "");
    } finally {
      root.cleanup();
    }
  });
});

describe("bad input exits 2 and names it", () => {
  test("no such file (exit code and streams)", async () => {
    const result = await runCommand(["explain", "--root", plain.dir, "--json", "/nonexistent/disk.img"]);
    assert.equal(result.status, 2);
    // --json: the error is the one document on stdout as well.
    assert.equal(JSON.parse(result.stdout).error.exitCode, 2);
    assert.match(JSON.parse(result.stdout).error.message, /\/nonexistent\/disk\.img: no such file or device/);
    assert.match(result.stderr, /\/nonexistent\/disk\.img: no such file or device/);
  });

  const cases: [string, string[], RegExp][] = [
    ["nothing given", [], /name a device, image file or mount point/],
    [
      "a message without a type and no target",
      ["--message", "mount: /mnt: mount point does not exist."],
      /cannot tell the filesystem type \(mount's "mount: \/mnt: mount point does not exist\." usually means: the mount point does not exist/,
    ],
    ["a bad --type", ["--type", "minix;reboot"], /invalid --type "minix;reboot"/],
    ["a --type that looks like an option", ["--type=-oremount"], /invalid --type "-oremount"/],
    ["an empty --message", ["--message", " "], /--message is empty/],
  ];
  for (const [what, args, stderr] of cases) {
    test(what, async () => {
      const result = await runInProcess(["explain", "--root", plain.dir, "--json", ...args]);
      assert.equal(result.status, 2);
      assert.match(JSON.parse(result.stdout).error.message, stderr);
      assert.match(result.stderr, stderr);
    });
  }

  test("a directory no fstab entry mounts", async () => {
    const result = await runInProcess(["explain", "--root", plain.dir, images.dir]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /is a directory, and neither etc\/fstab nor a mount unit mounts anything there/);
  });

  test("two signatures on one image: blkid refuses to guess, and so do we unless told the type", async () => {
    const twoSignatures = join(images.dir, "two-signatures.img");
    const bytes = readFileSync(image("minix"));
    readFileSync(image("vfat")).copy(bytes, 0, 0, 512);
    writeFileSync(twoSignatures, bytes);
    const result = await runInProcess(["explain", "--root", plain.dir, twoSignatures]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /more than one filesystem signature, and mount refuses to guess/);
    const typed = await explainAt(plain.dir, ["--type", "minix", twoSignatures]);
    assert.equal(typed.fstype, "minix");
  });
});
