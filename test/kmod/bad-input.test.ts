// Bad input under --root: unreadable files and directories, binary and huge
// files, link loops, a root that does not exist, links that point outside the
// root. Each gives a clear message, the right exit code and no crash; where kmod
// can say what it would do, the output is compared with the real modprobe.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, runInProcess } from "../helpers/cli.ts";
import { parseKmodStderr, runOracle } from "../helpers/kmod-oracle.ts";
import { KMOD_30_DPKG_STATUS, makeScratchDir, prng, utf8 } from "../helpers/tree-generator.ts";
import { modelAt, removeTree, writeTree, type TreeNode } from "./trees.ts";
import { assertJsonOutput } from "../helpers/json-schemas.ts";

const NOBODY = 65534;
const isRoot = process.getuid?.() === 0;
const roots: string[] = [];
after(() => roots.forEach(removeTree));

function tree(spec: Record<string, TreeNode>): string {
  const root = writeTree({ "var/lib/dpkg/status": KMOD_30_DPKG_STATUS, ...spec });
  roots.push(root);
  return root;
}

/** The CLI as an unprivileged user (the files it cannot read stay unreadable to it). */
function runCliAsNobody(args: readonly string[]): { status: number; stdout: Buffer; stderr: string } {
  const run = spawnSync("setpriv", [`--reuid=${NOBODY}`, `--regid=${NOBODY}`, "--clear-groups", process.execPath, BIN, ...args], {
    encoding: "buffer",
    env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" },
  });
  if (run.error) throw run.error;
  assertJsonOutput(args, run.stdout.toString("utf8"), run.status);
  return { status: run.status ?? -1, stdout: run.stdout, stderr: run.stderr.toString("utf8") };
}

describe("files and directories the user cannot read", { skip: isRoot ? false : "needs root to switch to an unprivileged user" }, () => {
  test("an unreadable file: kmod skips it silently, we skip it and say so", async () => {
    const root = tree({
      "etc/modprobe.d/a.conf": "blacklist a\n",
      "etc/modprobe.d/b.conf": "blacklist b\n",
      "etc/modprobe.d/c.conf": "blacklist c\n",
      "lib/modprobe.d/b.conf": "blacklist b-lower\n",
    });
    fs.chmodSync(path.join(root, "etc/modprobe.d/b.conf"), 0o000);
    const [oracle] = await runOracle([root], { parallel: 1, asUser: NOBODY });
    // The unreadable file still wins its name, so the lower b.conf stays masked.
    assert.equal(oracle!.config.toString("latin1"), "blacklist a\nblacklist c\n");
    const run = runCliAsNobody(["showconfig", "--root", root]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout, oracle!.config);
    assert.match(run.stderr, /^fsblacklist: warning: etc\/modprobe\.d\/b\.conf: cannot read: EACCES$/m);
  });

  test("unreadable directories: kmod reports or skips them and reads the others, so do we", async () => {
    const root = tree({
      "etc/modprobe.d/a.conf": "blacklist a\n",
      "run/modprobe.d/r.conf": "blacklist r\n",
      "lib/modprobe.d/a.conf": "blacklist a-lower\n",
      "lib/modprobe.d/z.conf": "blacklist z\n",
    });
    fs.chmodSync(path.join(root, "etc/modprobe.d"), 0o000);
    // A parent that may not be searched: run/modprobe.d cannot even be stat'ed.
    fs.chmodSync(path.join(root, "run"), 0o000);
    const [oracle] = await runOracle([root], { parallel: 1, asUser: NOBODY });
    assert.equal(oracle!.config.toString("latin1"), "blacklist a_lower\nblacklist z\n");
    assert.match(oracle!.stderr.toString("latin1"), /opendir\(.*etc\/modprobe\.d\): Permission denied/);
    const run = runCliAsNobody(["showconfig", "--root", root]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdout, oracle!.config);
    assert.match(run.stderr, /^fsblacklist: warning: etc\/modprobe\.d: cannot list directory: EACCES$/m);
    assert.match(run.stderr, /^fsblacklist: warning: run\/modprobe\.d: cannot list directory: EACCES$/m);
  });
});

describe("binary and huge files", () => {
  test("a binary file: parsed as kmod parses it, every bad line named by file and line", async () => {
    const random = prng(2024);
    const bytes = Buffer.alloc(256 * 1024);
    for (let i = 0; i < bytes.length; i++) bytes[i] = Math.floor(random() * 256);
    // Sprinkle in words kmod acts on, so that some binary lines do count.
    const words = ["\nblacklist bin-a\n", "\noptions bin\x00-b p=\xff\n", "\nalias \xfe\xfd bin\n", "\nsoftdep x pre: \x80\n"];
    words.forEach((w, n) => {
      Buffer.from(w, "latin1").copy(bytes, 1000 + n * 50_000);
    });
    const root = tree({ "etc/modprobe.d/binary.conf": bytes.toString("latin1"), "proc/cmdline": bytes.subarray(0, 4096).toString("latin1") });
    const [oracle] = await runOracle([root], { parallel: 1 });
    const model = modelAt(root, 30);
    assert.equal(model.text, oracle!.config.toString("latin1"));
    assert.ok(model.text.includes("blacklist bin_a\n"));
    const theirs = parseKmodStderr(oracle!.stderr, root).filter((r) => r.kind === "bad-line");
    assert.ok(theirs.length > 100, "a binary file gives many bad lines");
    const ours = model.config.diagnostics.filter((d) => d.message.startsWith("ignoring bad line"));
    assert.deepEqual(
      ours.map((d) => `${d.file}:${d.line}`),
      theirs.map((r) => `${r.file}:${r.line}`),
    );

    const run = await runInProcess(["showconfig", "--root", root]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdoutBytes, oracle!.config);
    const json = await runInProcess(["showconfig", "--root", root, "--json"]);
    assert.equal(json.status, 0);
    const doc = JSON.parse(json.stdout) as { entries: { kind: string; source: string }[] };
    assert.ok(doc.entries.some((e) => e.kind === "blacklist" && /^etc\/modprobe\.d\/binary\.conf:\d+$/.test(e.source)));
  });

  test("a 20 MB file works, byte for byte, in reasonable time", async () => {
    const line = "options jfs " + "p=1234567890 ".repeat(14) + "\n";
    const lines = line.repeat(Math.ceil(15_000_000 / line.length));
    // A single 5 MB line and a continuation across it as well.
    const text = `blacklist huge\n${lines}options big ${"x".repeat(5_000_000)}\\\n tail\n`;
    const root = tree({ "etc/modprobe.d/huge.conf": text });
    assert.ok(fs.statSync(path.join(root, "etc/modprobe.d/huge.conf")).size > 20_000_000);
    const [oracle] = await runOracle([root], { parallel: 1 });
    const started = Date.now();
    const run = await runInProcess(["showconfig", "--root", root]);
    const elapsed = Date.now() - started;
    assert.equal(run.status, 0, run.stderr);
    assert.ok(run.stdoutBytes.equals(oracle!.config), "showconfig output equals modprobe -c");
    assert.ok(elapsed < 20_000, `showconfig took ${elapsed} ms on a 20 MB file`);
  });
});

describe("file names", () => {
  test("names that are UTF-8 text show as such in warnings and in --json", async () => {
    const root = tree({ "etc/modprobe.d/é.conf": utf8("blacklist é-mod\nbogus line\n"), "etc/modprobe.d/ü.conf": { dir: true } });
    const run = await runInProcess(["showconfig", "--root", root]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "blacklist é_mod\n");
    assert.match(run.stderr, /^fsblacklist: warning: etc\/modprobe\.d\/ü\.conf: Directories inside directories are not supported: etc\/modprobe\.d\/ü\.conf$/m);
    assert.match(run.stderr, /^fsblacklist: warning: etc\/modprobe\.d\/é\.conf:2: ignoring bad line starting with 'bogus'$/m);
    const json = JSON.parse((await runInProcess(["showconfig", "--json", "--root", root])).stdout) as {
      entries: { kind: string; module: string; source: string }[];
      diagnostics: { file: string; message: string }[];
    };
    assert.deepEqual(json.entries, [{ kind: "blacklist", module: "é_mod", source: "etc/modprobe.d/é.conf:1" }]);
    assert.ok(json.diagnostics.some((d) => d.file === "etc/modprobe.d/ü.conf" && d.message.endsWith("etc/modprobe.d/ü.conf")));
  });

  test("a name that is not UTF-8 is read, sorted and masked as kmod does, and shown with \\xNN escapes", async () => {
    const root = tree({ "etc/modprobe.d/a.conf": "blacklist a\n", "lib/modprobe.d/z.conf": "blacklist z\n" });
    const inDir = (dir: string, name: number[], text: string): void => fs.writeFileSync(Buffer.concat([Buffer.from(path.join(root, dir) + "/"), Buffer.from(name)]), text);
    inDir("etc/modprobe.d", [0xff, ...Buffer.from(".conf")], "blacklist latin1\nbogus line\n");
    inDir("lib/modprobe.d", [0xff, ...Buffer.from(".conf")], "blacklist masked_by_etc\n");
    // A literal backslash is escaped too, so this name does not read like the one above.
    inDir("lib/modprobe.d", [...Buffer.from("\\xff.conf")], "blacklist backslash\n");
    const run = await runInProcess(["showconfig", "--root", root]);
    const [oracle] = await runOracle([root], { parallel: 1 });
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, oracle!.config.toString("latin1"));
    assert.equal(run.stdout, "blacklist backslash\nblacklist a\nblacklist z\nblacklist latin1\n");
    assert.equal(run.stderr, "fsblacklist: warning: etc/modprobe.d/\\xff.conf:2: ignoring bad line starting with 'bogus'\n");
    const json = JSON.parse((await runInProcess(["showconfig", "--json", "--root", root])).stdout) as { files: { path: string; masks: string[] }[]; entries: { source: string }[] };
    assert.deepEqual(
      json.files.map((f) => [f.path, ...f.masks]),
      [["lib/modprobe.d/\\\\xff.conf"], ["etc/modprobe.d/a.conf"], ["lib/modprobe.d/z.conf"], ["etc/modprobe.d/\\xff.conf", "lib/modprobe.d/\\xff.conf"]],
    );
    assert.equal(json.entries.at(-1)!.source, "etc/modprobe.d/\\xff.conf:1");
  });
});

describe("link loops", () => {
  test("loops at a file, at a directory and at proc/cmdline: warnings, no crash, kmod's output", async () => {
    const root = tree({
      "etc/modprobe.d/self.conf": { link: "self.conf" },
      "etc/modprobe.d/ping.conf": { link: "pong.conf" },
      "etc/modprobe.d/pong.conf": { link: "ping.conf" },
      "usr/lib/modprobe.d/self.conf": "blacklist masked-by-the-loop\n",
      "usr/lib/modprobe.d/ok.conf": "blacklist ok\n",
      "run/modprobe.d": { link: "modprobe.d" },
      "lib/modprobe.d": { link: "../usr/lib/modprobe.d" },
    });
    const [oracle] = await runOracle([root], { parallel: 1 });
    assert.equal(oracle!.config.toString("latin1"), "blacklist ok\n");
    const run = await runInProcess(["showconfig", "--root", root]);
    assert.equal(run.status, 0, run.stderr);
    assert.deepEqual(run.stdoutBytes, oracle!.config);
    assert.match(run.stderr, /etc\/modprobe\.d\/self\.conf: cannot read: ELOOP/);

    // proc/cmdline pointing at /proc/cmdline is, inside the root, a link to itself.
    fs.mkdirSync(path.join(root, "proc"));
    fs.symlinkSync("/proc/cmdline", path.join(root, "proc/cmdline"));
    const looped = await runInProcess(["showconfig", "--root", root]);
    assert.equal(looped.status, 0, looped.stderr);
    assert.equal(looped.stdout, "blacklist ok\n");
    assert.match(looped.stderr, /proc\/cmdline: cannot read: ELOOP/);
  });
});

describe("the root itself", () => {
  test("a --root that does not exist, or is a file: exit 2 naming it", async () => {
    const missing = path.join(makeScratchDir("fsb-noroot-"), "not-there");
    roots.push(path.dirname(missing));
    const run = await runInProcess(["showconfig", "--root", missing]);
    assert.equal(run.status, 2);
    assert.equal(run.stdout, "");
    assert.match(run.stderr, new RegExp(`--root ${missing.replaceAll("/", "\\/")}: no such directory`));

    const file = path.join(path.dirname(missing), "a-file");
    fs.writeFileSync(file, "");
    const onFile = await runInProcess(["showconfig", "--root", file]);
    assert.equal(onFile.status, 2);
    assert.match(onFile.stderr, /no such directory/);
  });

  test("links that point outside the root are resolved inside it; nothing outside is read", async () => {
    const outside = makeScratchDir("fsb-outside-");
    roots.push(outside);
    fs.writeFileSync(path.join(outside, "outside.conf"), "blacklist host_secret\n");
    fs.writeFileSync(path.join(outside, "file"), "blacklist host_secret_file\n");
    const root = tree({
      // The same absolute path, inside the root: this is what the links mean under --root.
      [`${outside.slice(1)}/inside.conf`]: "blacklist inside\n",
      "etc/modprobe.d": { link: outside },
      // A relative link that climbs above the root stops at the root.
      "run/modprobe.d": { link: `../../../../../../../..${outside}` },
      "usr/lib/modprobe.d/host.conf": { link: path.join(outside, "file") },
      "proc/cmdline": { link: "/proc/cmdline" },
    });
    const run = await runInProcess(["showconfig", "--root", root]);
    assert.equal(run.status, 0, run.stderr);
    assert.equal(run.stdout, "blacklist inside\n");
    assert.doesNotMatch(run.stdout + run.stderr, /host_secret/);
  });
});
