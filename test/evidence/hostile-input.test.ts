// Hostile input against every command, checked on the tree itself: names are
// rejected with exit 2 before anything is read or written; hostile configuration
// and modprobe.d files are handled (never an unexpected error, never a change to
// a file that is not ours); links that lead outside the root stay inside it; and
// after every command, every `install` line in the tree is exactly our form or
// the administrator's own text, so nothing we write can carry a shell command.
//
// Narrower suites this one widens: test/overrides/hostile-names.test.ts (allow,
// block, reset, and modprobe-hook at a real terminal), test/kmod/bad-input.test.ts
// and test/kmod/config.test.ts (showconfig and the configuration loader).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN } from "../helpers/cli.ts";
import { runOracle } from "../helpers/kmod-oracle.ts";
import { ADMIN, ENV, VENDOR, adminFiles, fsb, fsbAsync, fsbInProcess, installedRoot, scratchDir, snapshotTree, treeDiff, unsafeInstallLines, type Run } from "./helpers.ts";

const SPEC = { loaded: ["jfs"], fstab: "/dev/vda1 / ext4 defaults 0 1\n/dev/sdb1 /mnt/old minix noauto 0 0\n" };

/** Names a hostile caller could pass, as strings a command line can carry. */
function hostileNames(sentinel: string): string[] {
  return [
    // Shell metacharacters: the name ends up in install lines run by `sh -c` as root.
    "jfs;reboot",
    `jfs && touch ${sentinel}`,
    `$(touch ${sentinel})`,
    `\`touch ${sentinel}\``,
    "jfs|sh",
    "jfs>x",
    "jfs<x",
    "'jfs'",
    '"jfs"',
    "jfs\\",
    "jfs$IFS",
    "*",
    "jf?",
    "[j]fs",
    "{jfs,minix}",
    "~root",
    "jfs#",
    // Path traversal: the name ends up in file names.
    "../../etc/passwd",
    "..",
    ".",
    "/etc/passwd",
    "a/b",
    "jfs/",
    "./jfs",
    // Line structure: a newline would start a new modprobe.d line.
    "jfs\nblacklist ext4",
    "jfs\rinstall",
    "jfs\tx",
    "jfs ext4",
    " jfs",
    // Length: the kernel's limit is 56 bytes.
    "a".repeat(57),
    "j".repeat(4096),
    // Non-ASCII, including look-alikes and invisible characters.
    "jfsé",
    "ｊｆｓ",
    "jfs\u200b",
    "\u202ejfs",
    "😀",
    // Leading dashes: options to modprobe and to us.
    "-rf",
    "--now",
    "-",
    "--root=/",
    "",
  ];
}

/** argv for a command given one name; dashes go after `--` so that they reach our own check. */
function argvFor(command: string, root: string, name: string): string[] {
  if (command === "explain") return ["--root", root, "explain", `--type=${name}`];
  return ["--root", root, command, "--", name];
}

const NAME_COMMANDS = ["status", "allow", "block", "reset", "explain"];
const REJECTED = /^fsblacklist: invalid (filesystem or module name|--type) "/;

async function pool<T>(jobs: readonly (() => Promise<T>)[], width: number): Promise<T[]> {
  const results: T[] = new Array(jobs.length);
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < jobs.length) {
        const at = next++;
        results[at] = await jobs[at]!();
      }
    }),
  );
  return results;
}

test("every command that takes a name rejects hostile names with exit 2 and touches nothing", async (t) => {
  const root = installedRoot(SPEC);
  const scratch = scratchDir("fsb-hostile-");
  t.after(() => {
    root.cleanup();
    scratch.cleanup();
  });
  const sentinel = path.join(scratch.dir, "pwned");
  const names = hostileNames(sentinel);
  const before = snapshotTree(root.dir);

  // Every name through every command, in this process (the same code as the bundle, and fast);
  // plus NUL, which no command line can carry.
  for (const command of NAME_COMMANDS) {
    for (const name of [...names, "jfs\0", "\0"]) {
      const run = await fsbInProcess(argvFor(command, root.dir, name));
      const what = `${command} ${JSON.stringify(name)}`;
      assert.equal(run.status, 2, `${what}: exit ${run.status}: ${run.stderr}`);
      assert.equal(run.stdout, "", `${what}: nothing on stdout`);
      assert.match(run.stderr, REJECTED, what);
    }
    // One bad name among good ones: nothing is done for any of them.
    const mixed = await fsbInProcess(command === "explain" ? argvFor(command, root.dir, "jfs;reboot") : ["--root", root.dir, command, "hfs", "jfs;reboot", "minix"]);
    assert.equal(mixed.status, 2, `${command} with a good and a bad name: ${mixed.stderr}`);
  }
  assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], "in-process runs changed the tree");

  // The bundled command, as users run it, for a sample of each kind, typed the way a user would.
  const sample = [`$(touch ${sentinel})`, "../../etc/passwd", "jfs\nblacklist ext4", "ｊｆｓ", "-rf"];
  const jobs: (() => Promise<{ what: string; run: Run; typed: boolean }>)[] = [];
  for (const command of NAME_COMMANDS) {
    for (const name of sample) {
      jobs.push(async () => ({ what: `${command} ${JSON.stringify(name)}`, run: await fsbAsync(argvFor(command, root.dir, name)).done, typed: false }));
      // Without `--` a leading dash is an unknown option to commander: still exit 2, still nothing done.
      if (name.startsWith("-") && command !== "explain") {
        jobs.push(async () => ({ what: `${command} ${name} (typed)`, run: await fsbAsync(["--root", root.dir, command, name]).done, typed: true }));
      }
    }
  }
  for (const { what, run, typed } of await pool(jobs, 4)) {
    assert.equal(run.status, 2, `${what}: exit ${run.status}: ${run.stderr}`);
    assert.equal(run.stdout, "", what);
    if (!typed) assert.match(run.stderr, REJECTED, what);
    assert.doesNotMatch(run.stderr, /unexpected error/, what);
  }
  assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), [], "bundled runs changed the tree");
  assert.ok(!fs.existsSync(sentinel), "no shell ever ran a name");
});

test("modprobe-hook, called as the install line calls it, does nothing for a hostile name and succeeds", async (t) => {
  // Without a terminal the hook never acts; at a terminal as root it must not even prompt:
  // test/overrides/hostile-names.test.ts drives that case in tmux.
  const root = installedRoot(SPEC);
  const scratch = scratchDir("fsb-hostile-hook-");
  t.after(() => {
    root.cleanup();
    scratch.cleanup();
  });
  const sentinel = path.join(scratch.dir, "pwned");
  const before = snapshotTree(root.dir);
  const names = hostileNames(sentinel);
  for (const name of [...names, "jfs\0", "\0"]) {
    const run = await fsbInProcess(["modprobe-hook", name], { DPKG_ROOT: root.dir });
    assert.equal(run.status, 0, `modprobe-hook ${JSON.stringify(name)}: ${run.stderr}`);
    assert.equal(run.stdout + run.stderr, "", `modprobe-hook ${JSON.stringify(name)} prints nothing`);
  }
  // The bundled command, for a sample.
  const sample = [`jfs && touch ${sentinel}`, "../../etc/passwd", "jfs\nblacklist ext4", "j".repeat(4096), "\u202ejfs", "--root=/", ""];
  const runs = await pool(
    sample.map((name) => async () => ({ name, run: await fsbAsync(["modprobe-hook", name], { DPKG_ROOT: root.dir }).done })),
    4,
  );
  for (const { name, run } of runs) {
    assert.equal(run.status, 0, `modprobe-hook ${JSON.stringify(name)}: ${run.stderr}`);
    assert.equal(run.stdout + run.stderr, "", `modprobe-hook ${JSON.stringify(name)} prints nothing`);
  }
  assert.deepEqual(treeDiff(before, snapshotTree(root.dir)), []);
  assert.ok(!fs.existsSync(sentinel));
});

/** Runs commands one after another on a root; after each, the admin's files are intact and every install line is safe. */
function runAll(root: string, commands: readonly (readonly string[])[], admin: ReadonlyMap<string, Buffer>, after: (what: string, run: Run) => void = () => {}): Map<string, Run> {
  const runs = new Map<string, Run>();
  for (const args of commands) {
    const run = fsb(["--root", root, ...args]);
    const what = args.join(" ");
    runs.set(what, run);
    after(what, run);
    assert.ok(run.status === 0 || run.status === 1 || run.status === 2, `${what}: exit ${run.status} (signal ${run.signal})`);
    assert.doesNotMatch(run.stderr, /unexpected error|\n\s+at /, `${what}: ${run.stderr}`);
    for (const [file, bytes] of admin) {
      const now = fs.readFileSync(path.join(root, file));
      assert.ok(now.equals(bytes), `${what}: the administrator's ${file} changed`);
    }
    assert.deepEqual(unsafeInstallLines(root, admin), [], `${what}: an install line that is neither ours nor the administrator's`);
  }
  return runs;
}

const EVERY_COMMAND: readonly (readonly string[])[] = [
  ["status", "--json"],
  ["showconfig"],
  ["apply", "--dry-run"],
  ["apply"],
  ["allow", "hfs"],
  ["block", "minix"],
  ["allow", "jfs"],
  ["reset", "hfs", "minix"],
  ["explain", "--type", "cramfs"],
  ["apply", "--json"],
  ["uninstall", "--dry-run"],
  ["uninstall"],
  ["apply"],
  ["uninstall", "--purge"],
];

test("hostile modprobe.d files: every command copes, the administrator's files stay byte for byte, kmod agrees with showconfig", async (t) => {
  const root = installedRoot(SPEC);
  t.after(() => root.cleanup());
  const bytes = Buffer.alloc(64 * 1024);
  let seed = 7;
  for (let i = 0; i < bytes.length; i++) bytes[i] = (seed = (seed * 1103515245 + 12345) >>> 0) >>> 24;
  Buffer.from("\ninstall ext4 /bin/sh -c 'touch /tmp/fsb-should-never-run'\n", "latin1").copy(bytes, 30_000);
  const files: Record<string, string | Buffer> = {
    [`${ADMIN}/binary.conf`]: bytes,
    [`${ADMIN}/crlf.conf`]: "blacklist cramfs\r\ninstall hfsplus /bin/true\r\noptions jfs \\\r\n  x=1\r\n",
    [`${ADMIN}/huge.conf`]: Array.from({ length: 40_000 }, (_, i) => `options mod_${i % 977} p${i}=${i}`).join("\n") + "\n",
    [`${ADMIN}/admin-install.conf`]: "# the administrator's own install line, shell and all\ninstall ufs /bin/echo 'ufs wanted' >/dev/null; /sbin/modprobe --ignore-install ufs\n",
    [`${ADMIN}/nul-name\u00e9.conf`]: "blacklist a\0b\n",
    // A file of the administrator's under our fragment's name: we must refuse to touch it.
    [`${ADMIN}/60-blacklist_fs-minix.conf`]: "blacklist minix\r\n",
  };
  for (const [rel, content] of Object.entries(files)) fs.writeFileSync(path.join(root.dir, rel), content);
  const link = (rel: string, target: string): void => fs.symlinkSync(target, path.join(root.dir, rel));
  link(`${ADMIN}/self.conf`, "self.conf");
  link(`${ADMIN}/ping.conf`, "pong.conf");
  link(`${ADMIN}/pong.conf`, "ping.conf");
  link(`${ADMIN}/dir.conf`, ".");
  link(`${VENDOR}/up.conf`, "../../..");
  // A chain longer than any resolver follows (40 hops).
  for (let i = 0; i < 45; i++) link(`${ADMIN}/chain-${i}.conf`, `chain-${i + 1}.conf`);
  fs.writeFileSync(path.join(root.dir, ADMIN, "chain-45.conf"), "blacklist end_of_chain\n");

  const admin = adminFiles(root.dir);
  assert.ok(admin.has(`${ADMIN}/60-blacklist_fs-minix.conf`) && !admin.has(`${ADMIN}/60-blacklist_fs-jfs.conf`), "the keep override apply wrote is ours, the rest the administrator's");
  const links = [...snapshotTree(root.dir)].filter(([, facts]) => facts.startsWith("link"));
  const runs = runAll(root.dir, EVERY_COMMAND, admin);

  assert.equal(runs.get("status --json")!.status, 0, runs.get("status --json")!.stderr);
  JSON.parse(runs.get("status --json")!.stdout);
  assert.equal(runs.get("apply")!.status, 0, runs.get("apply")!.stderr);
  assert.equal(runs.get("allow hfs")!.status, 0, runs.get("allow hfs")!.stderr);
  const block = runs.get("block minix")!;
  assert.equal(block.status, 1, "block minix is refused: the administrator owns that file");
  assert.match(block.stderr, /etc\/modprobe\.d\/60-blacklist_fs-minix\.conf/);
  JSON.parse(runs.get("apply --json")!.stdout);
  // The links are the administrator's too: none was replaced or followed into a write.
  for (const [rel, facts] of links) assert.equal(`link -> ${fs.readlinkSync(path.join(root.dir, rel))}`, facts, rel);

  // What we say kmod reads is what kmod reads, hostile files and all.
  const [oracle] = await runOracle([root.dir], { parallel: 1 });
  const showconfig = spawnSync(process.execPath, [BIN, "--root", root.dir, "showconfig"], { env: ENV, maxBuffer: 1 << 26 });
  assert.ok(showconfig.stdout.equals(oracle!.config), "showconfig differs from modprobe -c after the commands ran");
  assert.ok(!fs.existsSync("/tmp/fsb-should-never-run"));
});

test("hostile configuration files: binary, huge, CRLF, link loops, a directory: a clear exit 2 or the right reading, nothing changed", async (t) => {
  const template = installedRoot(SPEC);
  const scratch = scratchDir("fsb-hostile-config-");
  t.after(() => {
    template.cleanup();
    scratch.cleanup();
  });
  const CONFIG = "etc/fsblacklist/config.yaml";
  const binary = Buffer.alloc(8192);
  for (let i = 0; i < binary.length; i++) binary[i] = (i * 131 + 7) & 0xff;
  const cases: { name: string; make: (root: string) => void; expect: "rejected" | "read" }[] = [
    { name: "binary", make: (r) => fs.writeFileSync(path.join(r, CONFIG), binary), expect: "rejected" },
    { name: "NUL inside YAML", make: (r) => fs.writeFileSync(path.join(r, CONFIG), "profile: def\0ault\n"), expect: "rejected" },
    {
      name: "huge (3 MB of comments, then a setting)",
      make: (r) => fs.writeFileSync(path.join(r, CONFIG), "# padding padding padding padding padding\n".repeat(75_000) + "profile: cis\n"),
      expect: "read",
    },
    { name: "huge and invalid", make: (r) => fs.writeFileSync(path.join(r, CONFIG), "keep:\n  always:\n" + "    - [[[[\n".repeat(50_000)), expect: "rejected" },
    { name: "CRLF line ends", make: (r) => fs.writeFileSync(path.join(r, CONFIG), "profile: cis\r\nkeep:\r\n  always:\r\n    - hfs\r\n"), expect: "read" },
    { name: "a link to itself", make: (r) => fs.symlinkSync("config.yaml", path.join(r, CONFIG)), expect: "rejected" },
    { name: "a two-link loop", make: (r) => (fs.symlinkSync("other.yaml", path.join(r, CONFIG)), fs.symlinkSync("config.yaml", path.join(r, "etc/fsblacklist/other.yaml"))), expect: "rejected" },
    { name: "a directory", make: (r) => fs.mkdirSync(path.join(r, CONFIG)), expect: "rejected" },
    // No filesystem of the policy: refused (a typo would silently keep nothing), and never near a shell.
    { name: "a hostile name in keep.always", make: (r) => fs.writeFileSync(path.join(r, CONFIG), "keep:\n  always: ['hfs;reboot', '$(reboot)', '../x']\n"), expect: "rejected" },
    { name: "a directory setting that climbs out", make: (r) => fs.writeFileSync(path.join(r, CONFIG), "adminDir: ../../../etc/modprobe.d\n"), expect: "rejected" },
  ];
  for (const c of cases) {
    const root = path.join(scratch.dir, c.name.replace(/\W+/g, "-"));
    spawnSync("cp", ["-a", template.dir, root]);
    fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
    c.make(root);
    const before = snapshotTree(root);
    const admin = adminFiles(root);
    // Every command reads the configuration the same way (createContext): one that reads, one that writes.
    const commands = c.expect === "rejected" ? [["status", "--json"], ["apply"]] : [["apply"], ["status", "--json", "hfs"], ["allow", "hfs"]];
    for (const args of commands) {
      const run = fsb(["--root", root, ...args]);
      const what = `${c.name}: ${args.join(" ")}`;
      assert.doesNotMatch(run.stderr, /unexpected error|\n\s+at /, `${what}: ${run.stderr}`);
      if (c.expect === "rejected") {
        assert.equal(run.status, 2, `${what}: exit ${run.status}: ${run.stderr}`);
        // --json: the error document, nothing else.
        if (args.includes("--json")) assert.equal(JSON.parse(run.stdout).error.exitCode, 2, what);
        else assert.equal(run.stdout, "", what);
        assert.match(run.stderr, /^fsblacklist: .*etc\/fsblacklist\/config\.yaml/, `${what}: the message names the file: ${run.stderr}`);
      } else {
        assert.equal(run.status, 0, `${what}: exit ${run.status}: ${run.stderr}`);
      }
      assert.deepEqual(unsafeInstallLines(root, admin), [], what);
      if (c.expect === "read" && args.join(" ") === "apply" && c.name !== "a hostile name in keep.always") {
        // Read as written: the cis profile's install lines refuse loading by name.
        const cramfs = fs.readFileSync(path.join(root, VENDOR, "60-blacklist_fs-cramfs.conf"), "utf8");
        assert.match(cramfs, /^install cramfs \/bin\/false$/m, `${c.name}: profile cis was read`);
      }
      if (c.name === "CRLF line ends" && args.join(" ") === "status --json hfs") {
        const status = JSON.parse(run.stdout) as { filesystems: { state: string }[] };
        assert.equal(status.filesystems[0]!.state, "kept", "hfs in keep.always (read through CRLF) was kept usable by apply");
      }
    }
    if (c.expect === "rejected") assert.deepEqual(treeDiff(before, snapshotTree(root)), [], `${c.name}: a rejected configuration changed the tree`);
  }
});

test("links out of the root (etc/modprobe.d, usr/lib/modprobe.d, config.yaml, absolute directory settings) resolve inside it: nothing outside is read or written", async (t) => {
  const scratch = scratchDir("fsb-canary-");
  t.after(() => scratch.cleanup());
  // The canary: a directory next to the root that the links point at.
  const marker = `CANARY-${process.pid}-${Date.now()}`;
  const canary = path.join(scratch.dir, "canary");
  fs.mkdirSync(canary);
  fs.writeFileSync(path.join(canary, "60-blacklist_fs-hfs.conf"), `blacklist canary_hfs # ${marker}\ninstall hfs /bin/false # ${marker}\n`);
  fs.writeFileSync(path.join(canary, "99-canary.conf"), `blacklist ${marker.toLowerCase().replace(/-/g, "_")}\n`);
  fs.writeFileSync(path.join(canary, "config.yaml"), `profile: cis # ${marker}\n`);
  const canaryBefore = snapshotTree(canary);
  const canaryTimes = fs.readdirSync(canary).map((n) => fs.statSync(path.join(canary, n)).mtimeMs);

  const variants: { name: string; wire: (root: string) => void; adminDirHost: (root: string) => string; allowWorks?: false; refused?: true }[] = [
    {
      name: "etc/modprobe.d -> absolute path of the canary",
      wire: (root) => replaceWithLink(root, "etc/modprobe.d", canary),
      adminDirHost: (root) => path.join(root, canary),
    },
    {
      name: "etc/modprobe.d -> a relative path that climbs above the root",
      wire: (root) => replaceWithLink(root, "etc/modprobe.d", "../../../../../../../../../../canary"),
      adminDirHost: (root) => path.join(root, "canary"),
    },
    {
      // Lexically this climbs out of the root: "missing/.." must not be taken before "missing" exists.
      name: "etc/modprobe.d -> a missing directory, then '..' up and over to a new directory next to the canary",
      wire: (root) => replaceWithLink(root, "etc/modprobe.d", `../missing/../../../../../../../../..${scratch.dir}/escaped`),
      adminDirHost: (root) => path.join(root, scratch.dir, "escaped"),
    },
    {
      name: "usr/lib/modprobe.d and config.yaml -> the canary",
      wire: (root) => {
        replaceWithLink(root, VENDOR, "../../../canary");
        fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
        fs.symlinkSync(path.join(canary, "config.yaml"), path.join(root, "etc/fsblacklist/config.yaml"));
      },
      adminDirHost: (root) => path.join(root, ADMIN),
    },
    {
      name: "adminDir and stateFile set to absolute paths of the canary",
      wire: (root) => {
        fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
        fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), `adminDir: ${canary}\nstateFile: ${canary}/state.json\n`);
      },
      adminDirHost: (root) => path.join(root, canary),
      // An admin directory kmod does not read cannot mask the vendor file: the configuration is refused (exit 2).
      allowWorks: false,
      refused: true,
    },
  ];
  const template = installedRoot(SPEC);
  t.after(() => template.cleanup());

  for (const variant of variants) {
    const root = path.join(scratch.dir, "root");
    spawnSync("cp", ["-a", template.dir, root]);
    variant.wire(root);
    const admin = adminFiles(root);
    const runs = runAll(root, CANARY_COMMANDS, admin, (what, run) => {
      // The override goes where the link leads, inside the root.
      if (what === "allow hfs" && variant.allowWorks !== false) {
        assert.equal(run.status, 0, `${variant.name}: ${run.stderr}`);
        assert.ok(fs.existsSync(path.join(variant.adminDirHost(root), "60-blacklist_fs-hfs.conf")), `${variant.name}: the override is inside the root`);
      }
      if (variant.refused === true) assert.equal(run.status, 2, `${variant.name}: ${what}: ${run.stderr}`);
      else if (what === "apply") assert.equal(run.status, 0, `${variant.name}: ${run.stderr}`);
    });
    for (const [what, run] of runs) {
      assert.doesNotMatch(run.stdout + run.stderr, new RegExp(marker, "i"), `${variant.name}: ${what} showed the canary's content`);
      assert.doesNotMatch(run.stdout + run.stderr, /canary_hfs|profile: cis/, `${variant.name}: ${what}`);
    }
    assert.deepEqual(treeDiff(canaryBefore, snapshotTree(canary)), [], `${variant.name}: the canary changed`);
    assert.deepEqual(
      fs.readdirSync(canary).map((n) => fs.statSync(path.join(canary, n)).mtimeMs),
      canaryTimes,
    );
    assert.deepEqual(fs.readdirSync(scratch.dir).sort(), ["canary", "root"], `${variant.name}: something was created next to the root`);
    fs.rmSync(root, { recursive: true, force: true });
  }
});

const CANARY_COMMANDS: readonly (readonly string[])[] = [
  ["status", "--json"],
  ["showconfig"],
  ["apply"],
  ["allow", "hfs"],
  ["block", "minix"],
  ["explain", "--type", "hfs"],
  ["uninstall"],
  ["uninstall", "--purge"],
];

function replaceWithLink(root: string, rel: string, target: string): void {
  fs.rmSync(path.join(root, rel), { recursive: true, force: true });
  fs.symlinkSync(target, path.join(root, rel));
}

test("names and link targets that are not UTF-8, climbing with '..' or absolute, resolve inside the root: nothing outside is read", async (t) => {
  const scratch = scratchDir("fsb-canary-bytes-");
  t.after(() => scratch.cleanup());
  const bytes = (text: string): Buffer => Buffer.from(text, "latin1");
  const at = (dir: string, name: string): Buffer => Buffer.concat([Buffer.from(dir + "/"), bytes(name)]);
  const marker = `CANARY-${process.pid}-${Date.now()}`;
  const canary = path.join(scratch.dir, "canary");
  fs.mkdirSync(canary);
  fs.writeFileSync(path.join(canary, "99-canary.conf"), `blacklist canary_text # ${marker}\n`);
  fs.writeFileSync(at(canary, "x\xe9.conf"), `blacklist canary_latin1 # ${marker}\n`);
  // Names as bytes: the shared snapshot helpers read names as UTF-8 text.
  const canaryState = (): string[] =>
    fs.readdirSync(canary, { encoding: "buffer" }).map((name) => {
      const full = Buffer.concat([Buffer.from(canary + "/"), name]);
      const stat = fs.lstatSync(full);
      return `${name.toString("hex")} ${stat.mode} ${stat.size} ${stat.mtimeMs} ${fs.readFileSync(full).toString("hex")}`;
    });
  const canaryBefore = canaryState();

  const template = installedRoot(SPEC);
  t.after(() => template.cleanup());
  const root = path.join(scratch.dir, "root");
  spawnSync("cp", ["-a", template.dir, root]);
  const up = "../".repeat(12);
  const link = (dir: string, name: string, target: string): void => fs.symlinkSync(bytes(target), at(path.join(root, dir), name));
  link(ADMIN, "\xe9-absolute.conf", `${canary}/99-canary.conf`);
  link(ADMIN, "\xe9-climbs.conf", `${up}${canary.slice(1)}/x\xe9.conf`);
  // Lexically "missing-\xe9/.." is the directory itself, and then the '..'s climb out: it must not be taken before it exists.
  link(ADMIN, "text-to-bytes.conf", `../missing-\xe9/../${up}${canary.slice(1)}/99-canary.conf`);
  link(VENDOR, "\xe9-into-canary.conf", `/${path.relative("/", canary)}/x\xe9.conf`);
  // The same kinds of links, to files inside the root: followed there, as in a chroot.
  fs.mkdirSync(path.join(root, "srv"), { recursive: true });
  fs.writeFileSync(at(path.join(root, "srv"), "\xe9-inside.conf"), "blacklist inside_climbing\n");
  fs.writeFileSync(at(path.join(root, "srv"), "\xe9-inside-2.conf"), "blacklist inside_absolute\n");
  link(ADMIN, "\xe9-climbs-inside.conf", `${up}srv/\xe9-inside.conf`);
  link(VENDOR, "\xe9-absolute-inside.conf", "/srv/\xe9-inside-2.conf");

  const commands = [["showconfig"], ["status", "--json"], ["explain", "--type", "hfs"], ["apply"], ["allow", "hfs"], ["showconfig", "--json"]];
  for (const args of commands) {
    const run = fsb(["--root", root, ...args]);
    const what = args.join(" ");
    assert.equal(run.status, 0, `${what}: ${run.stderr}`);
    assert.doesNotMatch(run.stdout + run.stderr, new RegExp(`${marker}|canary_`, "i"), `${what} showed the canary's content`);
    if (what === "showconfig") assert.match(run.stdout, /^blacklist inside_absolute\nblacklist inside_climbing\n/m, "the links inside the root were followed");
  }
  assert.deepEqual(canaryState(), canaryBefore, "the canary changed");
  assert.deepEqual(fs.readdirSync(scratch.dir).sort(), ["canary", "root"], "something was created next to the root");
});
