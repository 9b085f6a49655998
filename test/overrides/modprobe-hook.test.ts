// modprobe-hook in a real terminal (tmux): the prompt, each answer and the files
// it writes; and the cases where it must stay silent and succeed.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { spawnSync } from "node:child_process";
import { BIN, runCli } from "../helpers/cli.ts";
import { runOracle } from "../helpers/kmod-oracle.ts";
import { parseMarker } from "../../src/policy/marker.ts";
import { VENDOR_DIR, linesFor, outputOf, overridePath, policyRoot, shellQuote, snapshotTree } from "./helpers.ts";
import { shellTerminal } from "../helpers/tmux.ts";

const PROMPT = /Un-blacklist jfs permanently\? \[y\]es \/ \[n\]o \/ ne\[v\]er:/;

/** The hook as an administrator would meet it, with the fake root given by --root. */
function hookCommand(root: string, module = "jfs"): string {
  return `${shellQuote(process.execPath)} ${shellQuote(BIN)} --root ${shellQuote(root)} modprobe-hook ${module}; echo "EXIT=$?"`;
}

/** "usr/lib/modprobe.d/60-blacklist_fs-jfs.conf:N", N the line of `blacklist jfs` in the vendor fragment. */
function vendorBlacklistLine(root: string): string {
  const file = `${VENDOR_DIR}/60-blacklist_fs-jfs.conf`;
  const line = fs.readFileSync(path.join(root, file), "utf8").split("\n").indexOf("blacklist jfs") + 1;
  assert.ok(line > 0);
  return `${file}:${line}`;
}

function count(screen: string, pattern: RegExp): number {
  return [...screen.matchAll(new RegExp(pattern.source, "g"))].length;
}

test("yes: says which file blacklists jfs, writes an allow override, and kmod no longer blacklists jfs", async (t) => {
  const root = policyRoot();
  const terminal = shellTerminal();
  t.after(() => {
    terminal.close();
    root.cleanup();
  });
  terminal.type(hookCommand(root.dir));
  const asked = await terminal.waitFor(PROMPT);
  assert.ok(asked.includes(`fsblacklist: jfs is blacklisted by ${vendorBlacklistLine(root.dir)} and will be loaded now anyway, because you asked for it by name.`), asked);
  assert.equal(fs.existsSync(overridePath(root, "jfs")), false, "nothing is written before the answer");
  terminal.type("y");
  const done = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.match(done, /^EXIT=0$/m);
  assert.match(done, /Wrote etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf: jfs is no longer blacklisted \(undo with: fsblacklist reset jfs\)\./);
  const marker = parseMarker(fs.readFileSync(overridePath(root, "jfs"), "utf8"));
  assert.equal(marker?.kind, "allow");
  assert.equal(marker?.reason, "allowed at the prompt of `modprobe jfs`");
  const [after] = await runOracle([root.dir]);
  assert.deepEqual(linesFor(after!.config, "jfs"), []);

  // Nothing blacklists jfs any more: the next `modprobe jfs` is not interrupted.
  terminal.fresh();
  terminal.type(hookCommand(root.dir));
  const quiet = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.match(quiet, /^EXIT=0$/m);
  assert.equal(outputOf(quiet), "", quiet);
});

test("no, an unknown answer, and end of input: nothing is written", async (t) => {
  const root = policyRoot();
  const terminal = shellTerminal();
  t.after(() => {
    terminal.close();
    root.cleanup();
  });
  const before = snapshotTree(root.dir);

  terminal.type(hookCommand(root.dir));
  await terminal.waitFor(PROMPT);
  terminal.type("n");
  let screen = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.match(screen, /Nothing changed: jfs stays blacklisted and is loaded this time only\./);
  assert.match(screen, /^EXIT=0$/m);
  assert.deepEqual(snapshotTree(root.dir), before);

  // An answer it does not know asks again; Ctrl-D (end of input) means no.
  terminal.fresh();
  terminal.type(hookCommand(root.dir));
  await terminal.waitFor(PROMPT);
  terminal.type("maybe");
  screen = await terminal.waitFor(/(Un-blacklist jfs permanently\?[\s\S]*){2}/);
  terminal.keys("C-d");
  screen = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.equal(count(screen, PROMPT), 2, screen);
  assert.match(screen, /Nothing changed/);
  assert.match(screen, /^EXIT=0$/m);
  assert.deepEqual(snapshotTree(root.dir), before);
});

test("never: writes a pinned block, and the next modprobe says so without asking again", async (t) => {
  const root = policyRoot();
  const terminal = shellTerminal();
  t.after(() => {
    terminal.close();
    root.cleanup();
  });
  terminal.type(hookCommand(root.dir));
  await terminal.waitFor(PROMPT);
  terminal.type("v");
  const done = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.match(done, /Wrote etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf: jfs stays blacklisted and fsblacklist will not ask again/);
  const pinned = fs.readFileSync(overridePath(root, "jfs"));
  assert.equal(parseMarker(pinned.toString("utf8"))?.kind, "block");
  const [after] = await runOracle([root.dir]);
  assert.deepEqual(linesFor(after!.config, "jfs").slice(0, 1), ["blacklist jfs"]);

  terminal.fresh();
  terminal.type(hookCommand(root.dir));
  const again = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.equal(count(again, PROMPT), 0, again);
  assert.match(again, /fsblacklist: jfs is blacklisted by etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf:\d+ \(pinned by fsblacklist block\) and will be loaded now anyway/);
  assert.match(again, /^EXIT=0$/m);
  assert.deepEqual(fs.readFileSync(overridePath(root, "jfs")), pinned);
});

test("through the real modprobe: the install line runs the hook via sh -c with stderr gone and stdout captured", async (t) => {
  const root = policyRoot();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-hook-"));
  const terminal = shellTerminal({ DPKG_ROOT: root.dir });
  t.after(() => {
    terminal.close();
    root.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  // Our fragments' install line, with this checkout's command in place of /usr/bin/fsblacklist and a
  // marker in place of the real load (the fake root's modules are empty placeholders).
  const config = path.join(scratch, "modprobe.d");
  fs.mkdirSync(config);
  fs.writeFileSync(path.join(config, "00-test-hook.conf"), `install jfs ${process.execPath} ${BIN} modprobe-hook jfs 2>/dev/null; echo loaded-after-the-hook\n`);
  const captured = path.join(scratch, "stdout");
  terminal.type(`modprobe -C ${shellQuote(config)} jfs >${shellQuote(captured)}; echo "EXIT=$?"`);
  const asked = await terminal.waitFor(PROMPT);
  assert.match(asked, /fsblacklist: jfs is blacklisted by usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf:\d+ and will be loaded now anyway/);
  terminal.type("y");
  const done = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.match(done, /^EXIT=0$/m);
  assert.equal(parseMarker(fs.readFileSync(overridePath(root, "jfs"), "utf8"))?.kind, "allow");
  assert.equal(fs.readFileSync(captured, "utf8"), "loaded-after-the-hook\n", "the prompt went to the terminal, not to modprobe's stdout");
});

test("without a terminal: no prompt, no output, exit 0, nothing written (through --root and through $DPKG_ROOT)", async (t) => {
  const root = policyRoot();
  t.after(() => root.cleanup());
  const before = snapshotTree(root.dir);
  for (const stdin of ["pipe", "ignore"] as const) {
    const viaRoot = runCli(["--root", root.dir, "modprobe-hook", "jfs"], { stdio: [stdin, "pipe", "pipe"] });
    const viaEnv = runCli(["modprobe-hook", "jfs"], { stdio: [stdin, "pipe", "pipe"], env: { ...process.env, DPKG_ROOT: root.dir } });
    for (const result of [viaRoot, viaEnv]) {
      assert.equal(result.status, 0);
      assert.equal(result.stdout, "");
      assert.equal(result.stderr, "");
    }
  }
  assert.deepEqual(snapshotTree(root.dir), before);
});

test("inside an initramfs and as a non-root user: silent at a terminal, exit 0, nothing written", async (t) => {
  const initramfs = policyRoot({ files: { "etc/initrd-release": 'NAME="dracut"\n' } });
  const plain = policyRoot();
  const terminal = shellTerminal();
  t.after(() => {
    terminal.close();
    initramfs.cleanup();
    plain.cleanup();
  });
  spawnSync("chmod", ["-R", "a+rX", plain.dir]);
  const before = [snapshotTree(initramfs.dir), snapshotTree(plain.dir)];

  terminal.type(hookCommand(initramfs.dir));
  let screen = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.match(screen, /^EXIT=0$/m);
  assert.equal(outputOf(screen), "", screen);

  const nobody = "setpriv --reuid=65534 --regid=65534 --clear-groups ";
  terminal.fresh();
  terminal.type(nobody + hookCommand(plain.dir));
  screen = await terminal.waitFor(/^EXIT=\d+$/m);
  assert.match(screen, /^EXIT=0$/m);
  assert.equal(outputOf(screen), "", screen);

  assert.deepEqual([snapshotTree(initramfs.dir), snapshotTree(plain.dir)], before);
  // The same plain root asks root at this terminal: the silence above was the user's.
  terminal.fresh();
  terminal.type(hookCommand(plain.dir));
  await terminal.waitFor(PROMPT);
  terminal.type("n");
  await terminal.waitFor(/^EXIT=0$/m);
});

test("the fast path loads neither the command table (commander) nor execa nor Ink", async (t) => {
  const root = policyRoot();
  const scratch = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-hook-load-"));
  t.after(() => {
    root.cleanup();
    fs.rmSync(scratch, { recursive: true, force: true });
  });
  // A module hook that records every module the process loads.
  const log = path.join(scratch, "loaded");
  const hooks = path.join(scratch, "hooks.mjs");
  fs.writeFileSync(
    hooks,
    `import { appendFileSync } from "node:fs";\nexport async function resolve(specifier, context, next) {\n  const result = await next(specifier, context);\n  appendFileSync(${JSON.stringify(log)}, result.url + "\\n");\n  return result;\n}\n`,
  );
  const register = path.join(scratch, "register.mjs");
  // dist/ is mostly CommonJS: record what the CommonJS loader loads too, and the
  // bundles main.cjs compiles itself (with their code cache) through vm.Script.
  fs.writeFileSync(
    register,
    `import { appendFileSync } from "node:fs";\nimport Module, { register } from "node:module";\nimport vm from "node:vm";\nregister(${JSON.stringify("file://" + hooks)});\n` +
      `const load = Module._load;\nModule._load = function (request, parent, isMain) {\n  appendFileSync(${JSON.stringify(log)}, "file://" + Module._resolveFilename(request, parent, isMain) + "\\n");\n  return load.apply(this, arguments);\n};\n` +
      `const Script = vm.Script;\nvm.Script = class extends Script {\n  constructor(code, options) {\n    appendFileSync(${JSON.stringify(log)}, "file://" + options?.filename + "\\n");\n    super(code, options);\n  }\n};\n`,
  );
  const run = spawnSync(process.execPath, ["--import", register, BIN, "modprobe-hook", "jfs"], {
    encoding: "utf8",
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, DPKG_ROOT: root.dir },
  });
  assert.equal(run.status, 0, run.stderr);
  const loaded = fs.readFileSync(log, "utf8").trim().split("\n");
  assert.ok(
    loaded.some((url) => /\/dist\/hook\.cjs$/.test(url)),
    loaded.join("\n"),
  );
  for (const unwanted of [/\/dist\/cli\.cjs$/, /execa/, /\bink\b/, /react/, /commander/]) {
    assert.deepEqual(
      loaded.filter((url) => unwanted.test(url)),
      [],
      `${unwanted} was loaded`,
    );
  }
});
