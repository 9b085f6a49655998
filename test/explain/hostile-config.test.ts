// Hostile configuration: module names, alias targets and file names taken from
// modprobe.d carry shell metacharacters. Every command explain prints (the fix
// steps and the one-time command) is run by sh in the fake root's setting: none
// may run a smuggled command (a PWNED file appearing anywhere), each must exit 0,
// and the real kmod must then load the module. When an alias line in modprobe.d
// takes the `fs-TYPE` request away (`alias fs-jfs off`, `alias fs-jfs x;...`),
// the one-time command loads the kernel's own module (kmod's dry run inserts
// its file), and the cause is `blacklisted`, not a missing package.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { BIN, runInProcess } from "../helpers/cli.ts";
import { canRunOracle, kmodLoads, runModprobe } from "../facts/modprobe-oracle.ts";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { SAMPLING } from "../helpers/tier.ts";
import { fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const policy = loadPolicy(shippedPolicyDir());

interface Hostile {
  title: string;
  type: string;
  module: string;
  files: Record<string, string>;
  cmdline?: string;
  /** The one-time command must exist (false: it may be absent, never loading something else). */
  once: boolean;
  /** Run under npm test as well (the file is sampled there: scripts/test.mjs SAMPLED). */
  everyday?: true;
}

const CASES: Hostile[] = [
  {
    title: "alias target with $( ) and ; in a file name with a quote, $( ) and ;",
    type: "jfs",
    module: "jfs",
    files: { "etc/modprobe.d/it's $(touch PWNED-file);x.conf": "alias fs-jfs j;touch${IFS}PWNED-target\n" },
    once: true,
    everyday: true,
  },
  {
    title: "alias fs-jfs off in usr/local/lib, with our blacklist",
    type: "jfs",
    module: "jfs",
    files: { "usr/local/lib/modprobe.d/off.conf": "alias fs-jfs off\n" },
    once: true,
  },
  {
    title: "alias off, a blacklist and an install line in etc, a backquoted name in run",
    type: "minix",
    module: "minix",
    files: {
      "etc/modprobe.d/harden.conf": "alias fs-minix off\nblacklist minix\ninstall minix /bin/false\n",
      "run/modprobe.d/`touch PWNED-run`.conf": "blacklist minix\n",
    },
    once: true,
    everyday: true,
  },
  {
    title: "the module's own name aliased away as well: a one-time command, if any, loads the kernel's module",
    type: "jfs",
    module: "jfs",
    files: { "etc/modprobe.d/both.conf": "alias fs-jfs off\nalias jfs ev|il\n" },
    once: false,
  },
  {
    title: "our blacklist, and the module's name aliased to another module: the one-time command never loads that one",
    type: "jfs",
    module: "jfs",
    files: { "etc/modprobe.d/redirect.conf": "alias jfs minix\n" },
    once: false,
  },
  {
    title: "modprobe.blacklist= with metacharacters on the command line, an install glob in lib",
    type: "ufs",
    module: "ufs",
    files: { "lib/modprobe.d/u$(touch PWNED-lib).conf": "install u* /bin/false;\n" },
    cmdline: "BOOT_IMAGE=/vmlinuz root=/dev/vda1 ro modprobe.blacklist=ufs,$(touch${IFS}PWNED-cmdline)",
    once: true,
    everyday: true,
  },
];

function build(c: Hostile): FakeRoot {
  const root = createFakeRoot({ files: c.files, ...(c.cmdline === undefined ? {} : { cmdline: c.cmdline }) });
  const vendor = path.join(root.dir, "usr/lib/modprobe.d");
  mkdirSync(vendor, { recursive: true });
  for (const entry of policy.entries) if (entry.profiles.includes("default")) writeFileSync(path.join(vendor, fragmentName(entry.module)), renderFragment(entry, "default"));
  return root;
}

function pwned(dirs: readonly string[]): string[] {
  const found: string[] = [];
  for (const dir of dirs) {
    if (!existsSync(dir)) continue;
    for (const name of readdirSync(dir, { recursive: true }).map(String)) if (path.basename(name).startsWith("PWNED")) found.push(path.join(dir, name));
  }
  return found;
}

const cmdlineOf = (root: FakeRoot): string => readFileSync(path.join(root.dir, "proc/cmdline"), "utf8");
const fsLoads = (root: FakeRoot, type: string): boolean =>
  kmodLoads(runModprobe([{ root: root.dir, release: root.release!, mode: "show-depends", requests: [`fs-${type}`] }])[0]![0]!, cmdlineOf(root));

const RUN = CASES.filter((c) => !SAMPLING || c.everyday === true);

test(`hostile names in modprobe.d never reach a printed command unquoted; the one-time command loads the kernel's own module (${RUN.length} of ${CASES.length} configurations)`, {
  skip: skipOracle,
}, async (t) => {
  const bin = mkdtempSync(path.join(tmpdir(), "fsb-path-"));
  writeFileSync(path.join(bin, "fsblacklist"), `#!/bin/sh\nexec ${JSON.stringify(process.execPath)} ${JSON.stringify(BIN)} "$@"\n`);
  chmodSync(path.join(bin, "fsblacklist"), 0o755);
  const cwd = mkdtempSync(path.join(tmpdir(), "fsb-cwd-"));
  t.after(() => {
    rmSync(bin, { recursive: true, force: true });
    rmSync(cwd, { recursive: true, force: true });
  });
  const env = { ...process.env, PATH: `${bin}:${process.env["PATH"]}`, NO_COLOR: "1", DPKG_ROOT: "" };

  for (const c of RUN) {
    const root = build(c);
    try {
      const watched = [root.dir, cwd, bin];
      assert.equal(fsLoads(root, c.type), false, `${c.title}: kmod blocks fs-${c.type} to begin with`);
      const result = await runInProcess(["--root", root.dir, "explain", "--type", c.type, "--json"]);
      assert.equal(result.status, 0, result.stderr);
      const doc = JSON.parse(result.stdout) as { cause: string; fix: string[]; fixSteps: { kind: string; command: string; cmdline?: string }[]; once: string | null };
      assert.ok(["blacklisted", "install-blocked", "cmdline-blacklisted"].includes(doc.cause), `${c.title}: cause ${doc.cause}`);
      assert.ok(doc.fixSteps.length > 0, `${c.title}: a verified fix`);

      // The one-time command first: each modprobe in it as kmod's dry run, through sh.
      if (c.once) assert.notEqual(doc.once, null, `${c.title}: a one-time command`);
      if (doc.once !== null) {
        for (const part of doc.once.split(" && ")) {
          assert.match(part, /^modprobe /, part);
          const script = `mount --bind "$1/proc/cmdline" /proc/cmdline && mount --bind "$1/sys/module" /sys/module && ${part.replace(/^modprobe /, `modprobe -n -v -S ${root.release} `)}`;
          const run = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh", root.dir], { encoding: "utf8", cwd });
          assert.equal(run.status, 0, `${c.title}: ${part}: ${run.stderr}`);
          assert.ok(kmodLoads({ request: part, status: 0, stdout: run.stdout, stderr: run.stderr }, cmdlineOf(root)), `${c.title}: ${part}:\n${run.stdout}`);
        }
        const last = doc.once.split(" && ").at(-1)!;
        const run = spawnSync(
          "unshare",
          ["-m", "--propagation", "private", "sh", "-c", `mount --bind "$1/proc/cmdline" /proc/cmdline && ${last.replace(/^modprobe /, `modprobe -n -v -S ${root.release} `)}`, "sh", root.dir],
          { encoding: "utf8", cwd },
        );
        assert.match(run.stdout, new RegExp(`^insmod \\S*/${c.module}\\.ko(\\.\\w+)? `, "m"), `${c.title}: the one-time command inserts the kernel's own ${c.module}:\n${run.stdout}`);
      }
      assert.deepEqual(pwned(watched), [], `${c.title}: the one-time command ran a smuggled command`);

      for (const step of doc.fixSteps) {
        if (step.kind === "boot") {
          assert.ok(step.cmdline !== undefined);
          assert.doesNotMatch(step.cmdline, /\bufs\b/);
          writeFileSync(path.join(root.dir, "proc/cmdline"), step.cmdline);
          continue;
        }
        const run = spawnSync("sh", ["-c", step.command], { encoding: "utf8", cwd, env });
        assert.equal(run.status, 0, `${c.title}: ${step.command}: ${run.stderr}${run.stdout}`);
      }
      assert.deepEqual(pwned(watched), [], `${c.title}: a fix step ran a smuggled command`);
      assert.equal(fsLoads(root, c.type), true, `${c.title}: kmod loads fs-${c.type} after ${doc.fix.join(" ; ")}`);
    } finally {
      root.cleanup();
    }
  }
});

test("alias fs-jfs off is reported as blacklisted, not as a missing package", async (t) => {
  const root = createFakeRoot({ files: { "etc/modprobe.d/off.conf": "alias fs-jfs off\n" } });
  t.after(() => root.cleanup());
  const result = await runInProcess(["--root", root.dir, "explain", "--type", "jfs", "--json"]);
  assert.equal(result.status, 0, result.stderr);
  const doc = JSON.parse(result.stdout) as { cause: string; module: string; fix: string[]; evidence: string[] };
  assert.equal(doc.cause, "blacklisted");
  assert.equal(doc.module, "jfs");
  assert.ok(
    doc.evidence.some((e) => e.startsWith("etc/modprobe.d/off.conf:1: alias")),
    doc.evidence.join("\n"),
  );
  assert.ok(!doc.fix.some((f) => /apt|dnf|zypper|install linux/.test(f)), doc.fix.join("\n"));
});

test("an alias target with pattern characters that an install glob matches: status and explain answer, no internal error", async (t) => {
  // Until the --ignore-install check compared names character by character, a
  // regular expression was built from the name: `x(y` made status and explain fail.
  const root = createFakeRoot({ files: { "etc/modprobe.d/odd.conf": "alias fs-jfs x(y\ninstall x* /sbin/modprobe --ignore-install x(y\n" } });
  t.after(() => root.cleanup());
  const status = await runInProcess(["--root", root.dir, "status", "--json"]);
  assert.equal(status.status, 0, status.stderr);
  const explained = await runInProcess(["--root", root.dir, "explain", "--type", "jfs", "--json"]);
  assert.equal(explained.status, 0, explained.stderr);
  assert.doesNotMatch(explained.stderr, /unexpected error/);
});
