// `status FS` and `explain` name every install line that matches a module, with
// file:line and the directive, and mark the one kmod runs: the first in kmod's
// order (file names sorted across the directories), none when a softdep makes
// kmod load the module file itself. Checked against what the real
// `modprobe -n -v` runs on the same fake root, after `apply` wrote its fragments.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { runInProcess } from "../helpers/cli.ts";
import { createFakeRoot, type FakeRoot } from "../helpers/fake-root.ts";
import { modprobeArgs, oracleAvailable } from "../helpers/kmod-oracle.ts";

const skip = oracleAvailable() ? false : "needs kmod's modprobe";

interface InstallLine {
  where: string;
  line: string;
  runs: boolean;
  ours: boolean;
}

async function fsb(r: FakeRoot, ...args: string[]): Promise<{ status: number; stdout: string; stderr: string }> {
  const result = await runInProcess(["--root", r.dir, ...args]);
  assert.equal(result.status, 0, `${args.join(" ")}: ${result.stderr}`);
  return result;
}

/** What the real `modprobe -n -v MODULE` does on the root: the install command it runs, or "insmod" when it loads the file itself. */
function kmodRuns(r: FakeRoot, module: string): string {
  const args = [...modprobeArgs(r.dir).slice(0, -1), "-n", "-v", module];
  const result = spawnSync("modprobe", args, { encoding: "utf8" });
  assert.equal(result.status, 0, `modprobe ${args.join(" ")}: ${result.stderr}`);
  const last = result.stdout.trimEnd().split("\n").at(-1) ?? "";
  if (last.startsWith("insmod ") && last.includes(`/${module}.ko`)) return "insmod";
  assert.match(last, /^install /, result.stdout);
  return last.slice("install ".length).trim();
}

/** The command of the install line marked as the one kmod runs, or "insmod" when none is. */
function markedRun(lines: readonly InstallLine[]): string {
  const runs = lines.filter((l) => l.runs);
  assert.ok(runs.length <= 1, `one line at most runs: ${JSON.stringify(lines)}`);
  if (runs.length === 0) return "insmod";
  return runs[0]!.line.split(" ").slice(2).join(" ");
}

/** status's details wrapped at 80 columns, joined again. */
function unwrapped(text: string): string {
  return text.replace(/\n {6}/g, " ");
}

async function statusLines(r: FakeRoot, module: string): Promise<{ lines: InstallLine[]; setAsideBy: string | null }> {
  const json = JSON.parse((await fsb(r, "status", module, "--json")).stdout) as { filesystems: { module: string; installLines: InstallLine[]; installSetAsideBy: string | null }[] };
  const row = json.filesystems.find((f) => f.module === module)!;
  return { lines: row.installLines, setAsideBy: row.installSetAsideBy };
}

async function explainLines(r: FakeRoot, type: string): Promise<{ lines: InstallLine[]; setAsideBy: string | null }> {
  const json = JSON.parse((await fsb(r, "explain", "--type", type, "--json")).stdout) as { installLines: InstallLine[]; installSetAsideBy: string | null };
  return { lines: json.installLines, setAsideBy: json.installSetAsideBy };
}

async function applied(t: { after(fn: () => void): void }, files: Record<string, string>): Promise<FakeRoot> {
  const r = createFakeRoot({ files });
  t.after(() => r.cleanup());
  await fsb(r, "apply");
  return r;
}

const HFS_CONF = { "etc/modprobe.d/hfs.conf": "install hfs /bin/false\n" };
const RUN_GLOB = { "run/modprobe.d/x.conf": "install hfs* /bin/true\n" };

test("hfs.conf's /bin/false and run's hfs* glob: both named, the first in kmod's order runs", { skip }, async (t) => {
  const r = await applied(t, { ...HFS_CONF, ...RUN_GLOB });
  const expected = [
    { where: "etc/modprobe.d/hfs.conf:1", line: "install hfs /bin/false", runs: true, ours: false },
    { where: "run/modprobe.d/x.conf:1", line: "install hfs* /bin/true", runs: false, ours: false },
  ];
  assert.equal(kmodRuns(r, "hfs"), "/bin/false");
  for (const found of [await statusLines(r, "hfs"), await explainLines(r, "hfs")]) {
    assert.deepEqual(found, { lines: expected, setAsideBy: null });
    assert.equal(markedRun(found.lines), kmodRuns(r, "hfs"));
  }

  const status = (await fsb(r, "status", "hfs")).stdout;
  assert.match(
    status,
    /\n {2}install lines matching hfs, in kmod's order:\n {4}etc\/modprobe\.d\/hfs\.conf:1 `install hfs \/bin\/false`: kmod runs this one\n {4}run\/modprobe\.d\/x\.conf:1 `install hfs\* \/bin\/true`: not run: an earlier line\n {6}matches\n/,
  );
  const explain = (await fsb(r, "explain", "--type", "hfs")).stdout;
  assert.match(
    explain,
    /\nInstall lines matching hfs, in kmod's order:\n {2}etc\/modprobe\.d\/hfs\.conf:1 `install hfs \/bin\/false`: kmod runs this one\n {2}run\/modprobe\.d\/x\.conf:1 `install hfs\* \/bin\/true`: not run: an earlier line matches\n/,
  );

  // hfsplus has only the glob, and apply left its fragment without an install line of ours.
  assert.equal(kmodRuns(r, "hfsplus"), "/bin/true");
  assert.deepEqual((await statusLines(r, "hfsplus")).lines, [{ where: "run/modprobe.d/x.conf:1", line: "install hfs* /bin/true", runs: true, ours: false }]);

  const apply = (await fsb(r, "apply", "--dry-run")).stdout;
  assert.match(apply, /\nNote: hfs: etc\/modprobe\.d\/hfs\.conf:1 `install hfs \/bin\/false` stays in force\n/);
  assert.match(apply, /\nNote: hfs: run\/modprobe\.d\/x\.conf:1 `install hfs\* \/bin\/true` stays, shadowed by etc\/modprobe\.d\/hfs\.conf:1 \(kmod runs only the first line that matches\)\n/);
  assert.match(apply, /\nNote: hfsplus: run\/modprobe\.d\/x\.conf:1 `install hfs\* \/bin\/true` stays in force\n/);
});

test("kmod's order is by file name across the directories: run's a.conf runs before etc's hfs.conf", { skip }, async (t) => {
  const r = await applied(t, { ...HFS_CONF, "run/modprobe.d/a.conf": "install hfs* /bin/true\n" });
  assert.equal(kmodRuns(r, "hfs"), "/bin/true");
  for (const found of [await statusLines(r, "hfs"), await explainLines(r, "hfs")]) {
    assert.deepEqual(
      found.lines.map((l) => [l.where, l.runs]),
      [
        ["run/modprobe.d/a.conf:1", true],
        ["etc/modprobe.d/hfs.conf:1", false],
      ],
    );
    assert.equal(markedRun(found.lines), "/bin/true");
  }
});

test("a softdep makes kmod set every install line aside: none is marked as run", { skip }, async (t) => {
  const r = await applied(t, { ...HFS_CONF, ...RUN_GLOB, "etc/modprobe.d/soft.conf": "softdep hfs pre: nls_utf8\n" });
  assert.equal(kmodRuns(r, "hfs"), "insmod");
  for (const found of [await statusLines(r, "hfs"), await explainLines(r, "hfs")]) {
    assert.equal(found.setAsideBy, "etc/modprobe.d/soft.conf:1");
    assert.deepEqual(
      found.lines.map((l) => l.runs),
      [false, false],
    );
  }
  assert.match(unwrapped((await fsb(r, "status", "hfs")).stdout), /`install hfs \/bin\/false`: set aside: the softdep at etc\/modprobe\.d\/soft\.conf:1 makes kmod load the module itself/);
});

test("with no line of the administrator's, fsblacklist's own install line is named as the one that runs", { skip }, async (t) => {
  const r = await applied(t, {});
  const { lines } = await statusLines(r, "jfs");
  assert.equal(lines.length, 1);
  assert.deepEqual([lines[0]!.where, lines[0]!.runs, lines[0]!.ours], ["usr/lib/modprobe.d/60-blacklist_fs-jfs.conf:9", true, true]);
  assert.equal(markedRun(lines), kmodRuns(r, "jfs"));
  assert.match(unwrapped((await fsb(r, "status", "jfs")).stdout), /60-blacklist_fs-jfs\.conf:9 `install jfs \/usr\/bin\/fsblacklist modprobe-hook jfs .*\(fsblacklist's\): kmod runs this one/s);
});

test("a file name with control characters: escaped in the text of status and explain, exact in --json", { skip }, async (t) => {
  const name = "run/modprobe.d/x\x1b[2K\nremoved.conf";
  const r = await applied(t, { [name]: "install hfs* /bin/true\n" });
  for (const found of [await statusLines(r, "hfs"), await explainLines(r, "hfs")]) assert.equal(found.lines[0]!.where, `${name}:1`);
  for (const text of [(await fsb(r, "status", "hfs")).stdout, (await fsb(r, "explain", "--type", "hfs")).stdout]) {
    assert.match(text, /run\/modprobe\.d\/x\\x1b\[2K\\nremoved\.conf:1 `install hfs\* \/bin\/true`/);
    assert.doesNotMatch(text, /\x1b/);
  }
});
