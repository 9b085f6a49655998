// requestBlockers / installLinesFor: every line in the way, not only the first,
// and the line kmod runs as the real modprobe -n -v shows it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { canRunOracle, runModprobe } from "../facts/modprobe-oracle.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { readModuleIndex } from "../../src/system/module-index-files.ts";
import { readKernelState } from "../../src/system/kernel-state.ts";
import { readEffectiveConfig } from "../../src/system/modprobe-config.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { installLinesFor, requestBlockers, type Blocker } from "../../src/kmod/blockers.ts";
import type { ResolveFacts } from "../../src/kmod/resolve.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";

function factsOf(dir: string): ResolveFacts {
  const fs = new RootFs(dir);
  const kernel = readKernelState(fs);
  const config = readEffectiveConfig(fs, { behaviour: { ...kmodBehaviour(30), readsUsrLib: true }, release: kernel.release!, cmdline: true });
  return { entries: config.entries, index: readModuleIndex(fs, kernel.release!), loaded: kernel.loaded, kernelBlacklist: kernel.kernelBlacklist };
}

const where = (b: Blocker): string =>
  b.kind === "blacklist"
    ? `blacklist ${b.module} ${b.source.file}:${b.source.line}`
    : b.kind === "install"
      ? `install ${b.module}${b.dependency ? " (dep)" : ""} ${b.line.source.file}:${b.line.source.line}`
      : b.kind === "request-line"
        ? `${b.directive} ${b.pattern} ${b.source.file}:${b.source.line}`
        : b.kind === "missing"
          ? `missing ${b.module}`
          : `module_blacklist ${b.module}`;

test("every matching install line in kmod's order, globs included; the first is the one kmod runs", { skip: skipOracle }, () => {
  const root = createFakeRoot({
    files: {
      "etc/modprobe.d/a.conf": "install j*s /bin/echo first\n",
      "run/modprobe.d/b.conf": "install jfs /bin/false\n",
      "lib/modprobe.d/0.conf": "install jfs /sbin/modprobe --ignore-install jfs\n",
    },
  });
  try {
    const facts = factsOf(root.dir);
    const lines = installLinesFor("jfs", facts.entries);
    // Sorted by file name across directories: 0.conf, a.conf, b.conf.
    assert.deepEqual(
      lines.map((l) => [l.source.file, l.pattern, l.effect, l.blocks, l.runs]),
      [
        ["lib/modprobe.d/0.conf", "jfs", "loads", false, true],
        ["etc/modprobe.d/a.conf", "j*s", "unknown", true, false],
        ["run/modprobe.d/b.conf", "jfs", "fails", true, false],
      ],
    );
    const [run] = runModprobe([{ root: root.dir, release: root.release!, mode: "dry-run", requests: ["jfs"] }])[0]!;
    assert.equal(run!.stdout, `install ${lines[0]!.command} \n`, "kmod runs the first matching line");
    // Nothing blocks: the line kmod runs loads the module.
    assert.deepEqual(requestBlockers("fs-jfs", facts).candidates[0]!.blockers, []);
  } finally {
    root.cleanup();
  }
});

test("all the blockers of a request: every blacklist line, the install lines up to one that loads, the command line", () => {
  const root = createFakeRoot({
    cmdline: "root=/dev/vda1 modprobe.blacklist=jfs module_blacklist=jfs",
    files: {
      "etc/modprobe.d/a.conf": "blacklist jfs\ninstall jfs \\\n /bin/false\n",
      "usr/lib/modprobe.d/b.conf": "blacklist jfs\ninstall jfs /bin/true\ninstall j* /sbin/modprobe --ignore-install jfs\ninstall jfs /bin/false\n",
    },
  });
  try {
    const found = requestBlockers("fs-jfs", factsOf(root.dir));
    assert.equal(found.loads, false);
    assert.deepEqual(found.candidates[0]!.blockers.map(where), [
      "blacklist jfs etc/modprobe.d/a.conf:1",
      "blacklist jfs usr/lib/modprobe.d/b.conf:1",
      "blacklist jfs proc/cmdline:0",
      "install jfs etc/modprobe.d/a.conf:3",
      "install jfs usr/lib/modprobe.d/b.conf:2",
      "module_blacklist jfs",
    ]);
    // The continued line is found at its first physical line.
    const continued = found.candidates[0]!.blockers[3]!;
    assert.equal(continued.kind === "install" ? continued.line.source.firstLine : null, 2);
  } finally {
    root.cleanup();
  }
});

test("dependencies' install lines block the filesystems that need them; a softdep sets an install line aside", () => {
  const root = createFakeRoot({
    files: {
      "etc/modprobe.d/harden.conf": "install cdrom /bin/true\ninstall fat /bin/false\n",
      "etc/modprobe.d/soft.conf": "softdep fat pre: nls_cp437\n",
    },
  });
  try {
    const facts = factsOf(root.dir);
    for (const type of ["iso9660", "udf", "hfsplus"]) {
      const found = requestBlockers(`fs-${type}`, facts);
      assert.equal(found.loads, false, type);
      assert.deepEqual(
        found.candidates.flatMap((c) => c.blockers.map(where)),
        ["install cdrom (dep) etc/modprobe.d/harden.conf:1"],
        type,
      );
    }
    const vfat = requestBlockers("fs-vfat", facts);
    assert.equal(vfat.loads, true);
    const fat = vfat.candidates[0]!.members.find((m) => m.module === "fat")!;
    assert.equal(fat.setAside?.softdep.file, "etc/modprobe.d/soft.conf");
    assert.equal(fat.installLines[0]!.runs, true);
  } finally {
    root.cleanup();
  }
});

test("a config alias that leads nowhere (alias fs-jfs off) and a remove line for the request are named", () => {
  const root = createFakeRoot({ files: { "etc/modprobe.d/off.conf": "alias fs-jfs off\nremove fs-minix /bin/true\n" } });
  try {
    const facts = factsOf(root.dir);
    const jfs = requestBlockers("fs-jfs", facts);
    assert.equal(jfs.loads, false);
    assert.deepEqual(jfs.requestLines.map(where), ["alias fs_jfs etc/modprobe.d/off.conf:1"]);
    const minix = requestBlockers("fs-minix", facts);
    assert.equal(minix.loads, false);
    assert.deepEqual(minix.requestLines.map(where), ["remove fs_minix etc/modprobe.d/off.conf:2"]);
  } finally {
    root.cleanup();
  }
});
