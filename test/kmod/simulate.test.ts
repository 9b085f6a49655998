// decide/simulate.ts against the real kmod: each proposed change is simulated,
// then carried out for real on the fake root (files written, lines commented
// out with sed, proc/cmdline rewritten as after a reboot), and kmod's
// --show-depends must agree with the simulation for every filesystem type.

import { test } from "node:test";
import assert from "node:assert/strict";
import { execFileSync } from "node:child_process";
import { mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { canRunOracle, kmodLoads, runModprobe } from "../facts/modprobe-oracle.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { readModuleIndex } from "../../src/system/module-index-files.ts";
import { readKernelState } from "../../src/system/kernel-state.ts";
import { configInputs } from "../../src/system/modprobe-config.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { cmdlineWithout, physicalLines, simulate, type ProposedChange, type SystemNow } from "../../src/decide/simulate.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const TYPES = ["jfs", "minix", "vfat", "msdos", "iso9660", "udf", "hfsplus", "ext4", "cramfs"];

function systemNow(dir: string): SystemNow {
  const fs = new RootFs(dir);
  const kernel = readKernelState(fs);
  const { inputs } = configInputs(fs, { behaviour: kmodBehaviour(34), release: kernel.release, cmdline: true });
  return { inputs, index: readModuleIndex(fs, kernel.release!), loaded: kernel.loaded };
}

/** Carries the change out on the root as an administrator would. */
function carryOut(dir: string, change: ProposedChange): void {
  for (const [file, text] of change.files ?? []) {
    const abs = path.join(dir, file);
    if (text === null) rmSync(abs, { force: true });
    else {
      mkdirSync(path.dirname(abs), { recursive: true });
      writeFileSync(abs, text);
    }
  }
  for (const source of change.commentOut ?? []) {
    execFileSync("sed", [
      "-i",
      physicalLines(source)
        .map((n) => `${n}s/^/#/`)
        .join(";"),
      path.join(dir, source.file),
    ]);
  }
  if (typeof change.cmdline === "string") writeFileSync(path.join(dir, "proc/cmdline"), change.cmdline);
}

interface Case {
  name: string;
  files: Record<string, string>;
  cmdline?: string;
  change: (now: SystemNow) => ProposedChange;
  /** The change leaves every type as it was (the next line takes over). */
  unchanged?: true;
}

const CASES: Case[] = [
  {
    name: "the first of two install lines commented out: the next one takes over",
    files: { "etc/modprobe.d/a.conf": "install jfs /bin/false\n", "run/modprobe.d/b.conf": "install j* /bin/true\n" },
    change: (now) => ({ commentOut: [firstInstall(now, "jfs")] }),
    unchanged: true,
  },
  {
    name: "a continued install line commented out at every physical line",
    files: { "usr/local/lib/modprobe.d/c.conf": "# hardening\ninstall jfs \\\n  /bin/false\nblacklist minix\n" },
    change: (now) => ({ commentOut: [firstInstall(now, "jfs")] }),
  },
  {
    name: "a vendor file masked from the admin directory with an empty file",
    files: { "lib/modprobe.d/hard.conf": "install cdrom /bin/true\nblacklist jfs\ninstall fat /bin/false\n" },
    change: () => ({ files: new Map([["etc/modprobe.d/hard.conf", ""]]) }),
  },
  {
    name: "the command line's words taken away (after a reboot)",
    files: { "etc/modprobe.d/x.conf": "install udf /bin/false\n" },
    cmdline: "root=/dev/vda1 modprobe.blacklist=jfs,minix module_blacklist=vfat,fat quiet\n",
    change: (now) => ({ cmdline: cmdlineWithout(cmdlineWithout(now.inputs.cmdline!, "jfs"), "fat") }),
  },
  {
    name: "alias fs-jfs off and a glob install line, one removed by masking",
    files: { "etc/modprobe.d/off.conf": "alias fs-jfs off\n", "lib/modprobe.d/g.conf": "install *fs /bin/false\n" },
    change: () => ({ files: new Map([["etc/modprobe.d/g.conf", "# masks lib/modprobe.d/g.conf\n"]]) }),
  },
];

function firstInstall(now: SystemNow, type: string) {
  const blocker = simulate(now, { nextBoot: true })
    .filesystem(type)
    .candidates[0]!.blockers.find((b) => b.kind === "install");
  assert.ok(blocker?.kind === "install", `an install line blocks ${type}`);
  return blocker.line.source;
}

test("what the simulation says loads after a change is what the real kmod loads once it is made", { skip: skipOracle }, () => {
  for (const c of CASES) {
    const root = createFakeRoot({ files: c.files, ...(c.cmdline !== undefined ? { cmdline: c.cmdline } : {}) });
    try {
      const now = systemNow(root.dir);
      const change = { ...c.change(now), nextBoot: true };
      const before = simulate(now, { nextBoot: true });
      const after = simulate(now, change);
      const runs = (): ReturnType<typeof runModprobe>[number] => runModprobe([{ root: root.dir, release: root.release!, mode: "show-depends", requests: TYPES.map((t) => `fs-${t}`) }])[0]!;
      const cmdlineNow = readFileSync(path.join(root.dir, "proc/cmdline"), "utf8");
      runs().forEach((run, i) => {
        assert.equal(before.filesystem(TYPES[i]!).loads, kmodLoads(run, cmdlineNow), `${c.name}: before, ${run.request}: ${run.stdout}`);
      });
      carryOut(root.dir, change);
      const cmdlineAfter = readFileSync(path.join(root.dir, "proc/cmdline"), "utf8");
      let changed = 0;
      runs().forEach((run, i) => {
        const type = TYPES[i]!;
        assert.equal(after.filesystem(type).loads, kmodLoads(run, cmdlineAfter), `${c.name}: after, ${run.request}: ${run.stdout}`);
        if (after.filesystem(type).loads !== before.filesystem(type).loads) changed++;
      });
      assert.equal(changed > 0, c.unchanged !== true, `${c.name}: ${changed} types changed`);
    } finally {
      root.cleanup();
    }
  }
});

test("cmdlineWithout drops one name from a list and an emptied word", () => {
  assert.equal(cmdlineWithout("ro modprobe.blacklist=jfs,minix module_blacklist=jfs quiet\n", "jfs"), "ro modprobe.blacklist=minix quiet\n");
  assert.equal(cmdlineWithout('a modprobe.blacklist="jfs"', "jfs"), "a");
  assert.equal(cmdlineWithout("a modprobe.blacklist=minix", "jfs"), "a modprobe.blacklist=minix");
});
