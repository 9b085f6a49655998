// The Debian package scripts/package.mjs builds from the bundle, read back with
// the real dpkg-deb: its layout, control fields and maintainer scripts, and
// documentation written from the command table. Installing it with apt into real
// Debian roots is the system suite's (test/system/, `npm run test:system`).

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { gunzipSync } from "node:zlib";
import { runCli } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";

const REPO = fileURLToPath(new URL("../../", import.meta.url));
const VERSION = JSON.parse(fs.readFileSync(path.join(REPO, "package.json"), "utf8")).version as string;

function run(command: string, args: readonly string[], cwd = REPO): string {
  const result = spawnSync(command, args, { cwd, encoding: "utf8" });
  if (result.error) throw result.error;
  assert.equal(result.status, 0, `${command} ${args.join(" ")}: ${result.stderr}`);
  return result.stdout;
}

const out = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-deb-"));
const deb = path.join(out, `fsblacklist_${VERSION}_all.deb`);
assert.equal(run(process.execPath, ["scripts/package.mjs", "--out", out]).trim().endsWith(`fsblacklist_${VERSION}_all.deb`), true);
const tree = path.join(out, "tree");
run("dpkg-deb", ["-x", deb, tree]);
const control = path.join(out, "control");
run("dpkg-deb", ["-e", deb, control]);
process.on("exit", () => fs.rmSync(out, { recursive: true, force: true }));

/** The command table as `fsblacklist --help` prints it: command names, and each command's long options. */
function commandsOfHelp(): Map<string, string[]> {
  const help = runCli(["--help"]).stdout;
  const names = [...help.slice(help.indexOf("Commands:")).matchAll(/^ {2}([a-z][a-z-]*)/gm)].map((m) => m[1]!);
  const optionsOf = (name: string) => [...runCli([name, "--help"]).stdout.matchAll(/^ {2}(?:-\w, )?(--[a-z-]+)/gm)].map((m) => m[1]!);
  // `help --help` is the program's help, not options of `help`.
  return new Map(names.map((name) => [name, name === "help" ? [] : optionsOf(name)]));
}

test("control: name, version, architecture all, Depends on the distribution's Node 20 and kmod", () => {
  const field = (name: string) => run("dpkg-deb", ["-f", deb, name]).trim();
  assert.equal(field("Package"), "fsblacklist");
  assert.equal(field("Version"), VERSION);
  assert.equal(field("Architecture"), "all");
  assert.equal(field("Depends"), "nodejs (>= 20), kmod");
  assert.match(field("Installed-Size"), /^[1-9][0-9]*$/);
});

test("layout: the command, the bundle, the policy and where the bundle finds it, man page and completions", () => {
  const listing = run("dpkg-deb", ["-c", deb]);
  for (const file of [
    "./usr/bin/fsblacklist",
    "./usr/lib/fsblacklist/dist/main.cjs",
    "./usr/lib/fsblacklist/dist/cli.cjs",
    "./usr/lib/fsblacklist/dist/hook.cjs",
    "./usr/lib/fsblacklist/dist/status-command.cjs",
    "./usr/share/fsblacklist/blacklist.d/policy.json",
    "./usr/share/fsblacklist/blacklist.d/60-blacklist_fs-jfs.conf",
    "./usr/share/man/man8/fsblacklist.8.gz",
    "./usr/share/bash-completion/completions/fsblacklist",
    "./usr/share/zsh/vendor-completions/_fsblacklist",
    "./usr/share/fish/vendor_completions.d/fsblacklist.fish",
    "./usr/share/doc/fsblacklist/copyright",
  ]) {
    assert.match(listing, new RegExp(` ${file.replace(/[.]/g, "\\.")}(\\n| ->)`), file);
  }
  assert.match(listing, /^-rwxr-xr-x root\/root .* \.\/usr\/bin\/fsblacklist$/m);
  assert.match(listing, / \.\/usr\/lib\/fsblacklist\/blacklist\.d -> \.\.\/\.\.\/share\/fsblacklist\/blacklist\.d$/m);
  assert.doesNotMatch(listing, /node_modules|\.staging-|\/src\//);
  // Every shipped policy file, byte for byte.
  for (const name of fs.readdirSync(path.join(REPO, "blacklist.d"))) {
    assert.deepEqual(fs.readFileSync(path.join(tree, "usr/share/fsblacklist/blacklist.d", name)), fs.readFileSync(path.join(REPO, "blacklist.d", name)), name);
  }
  assert.equal(fs.readFileSync(path.join(tree, "usr/bin/fsblacklist"), "utf8").split("\n")[0], "#!/usr/bin/node");
});

test("the packaged bundle runs and finds the policy through /usr/lib/fsblacklist/blacklist.d", () => {
  const root = createFakeRoot();
  try {
    const main = path.join(tree, "usr/lib/fsblacklist/dist/main.cjs");
    const script = `require(${JSON.stringify(main)}).main(process.argv.slice(1)).then((c) => { process.exitCode = c; })`;
    const result = spawnSync(process.execPath, ["-e", script, "--", "--root", root.dir, "status", "--json"], { encoding: "utf8", env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" } });
    assert.equal(result.status, 0, result.stderr);
    // The same policy as the source tree's command reads from blacklist.d/.
    const fromSource = runCli(["--root", root.dir, "status", "--json"]);
    assert.equal(fromSource.status, 0, fromSource.stderr);
    assert.deepEqual(JSON.parse(result.stdout), JSON.parse(fromSource.stdout));
    assert.match(result.stdout, /"name": ?"jfs"/);
  } finally {
    root.cleanup();
  }
});

test("kernel hooks: packaging/kernel's, executable, in /etc/kernel and listed as conffiles", () => {
  const hooks = ["etc/kernel/postinst.d/50-fsblacklist", "etc/kernel/postrm.d/50-fsblacklist"];
  assert.equal(fs.readFileSync(path.join(control, "conffiles"), "utf8"), hooks.map((h) => `/${h}\n`).join(""));
  for (const hook of hooks) {
    assert.deepEqual(fs.readFileSync(path.join(tree, hook)), fs.readFileSync(path.join(REPO, "packaging/kernel", hook.slice("etc/kernel/".length))), hook);
    assert.equal(fs.statSync(path.join(tree, hook)).mode & 0o777, 0o755, hook);
  }
});

test("dracut's configuration: fsblacklist's overrides in /etc/modprobe.d go into every image, host-only or not", () => {
  const conf = "usr/lib/dracut/dracut.conf.d/50-fsblacklist.conf";
  assert.deepEqual(fs.readFileSync(path.join(tree, conf)), fs.readFileSync(path.join(REPO, "packaging/dracut/50-fsblacklist.conf")));
  // As dracut (106) uses it: sourced, then `inst_multiple -o ${install_optional_items[@]}` expands
  // the glob when the image is built; here over a /etc/modprobe.d of our own, in a mount namespace.
  const modprobeD = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-dracut-"));
  try {
    const items = (): string[] => {
      const script = `mount --bind "$1" /etc/modprobe.d && . "$2" && inst_multiple() { shift; printf '%s\\n' "$@"; } && inst_multiple -o \${install_optional_items[@]}`;
      const unshare = process.getuid?.() === 0 ? ["-m"] : ["-r", "-m"];
      return run("unshare", [...unshare, "--propagation", "private", "bash", "-c", script, "bash", modprobeD, path.join(tree, conf)])
        .trim()
        .split("\n");
    };
    // No override yet: the pattern itself, which dracut's -o lets pass.
    assert.deepEqual(items(), ["/etc/modprobe.d/60-blacklist_fs-*.conf"]);
    for (const name of ["60-blacklist_fs-jfs.conf", "60-blacklist_fs-minix.conf", "local.conf"]) fs.writeFileSync(path.join(modprobeD, name), "# kept\n");
    assert.deepEqual(items(), ["/etc/modprobe.d/60-blacklist_fs-jfs.conf", "/etc/modprobe.d/60-blacklist_fs-minix.conf"]);
  } finally {
    fs.rmSync(modprobeD, { recursive: true, force: true });
  }
});

test("maintainer scripts: packaging/dpkg's, with the #DEBHELPER# line dropped as dh_installdeb does", () => {
  for (const script of ["postinst", "prerm", "postrm"]) {
    const shipped = fs.readFileSync(path.join(control, script), "utf8");
    const source = fs.readFileSync(path.join(REPO, "packaging/dpkg", script), "utf8");
    assert.equal(shipped, source.replace("#DEBHELPER#\n", ""), script);
    assert.equal(fs.statSync(path.join(control, script)).mode & 0o777, 0o755);
  }
});

test("man page and completions name every command and every option of the command table", () => {
  const man = gunzipSync(fs.readFileSync(path.join(tree, "usr/share/man/man8/fsblacklist.8.gz"))).toString("utf8");
  const bash = fs.readFileSync(path.join(tree, "usr/share/bash-completion/completions/fsblacklist"), "utf8");
  const zsh = fs.readFileSync(path.join(tree, "usr/share/zsh/vendor-completions/_fsblacklist"), "utf8");
  const fish = fs.readFileSync(path.join(tree, "usr/share/fish/vendor_completions.d/fsblacklist.fish"), "utf8");
  const commands = commandsOfHelp();
  assert.equal(commands.has("explain") && commands.get("apply")!.includes("--dry-run"), true, "the --help output was read");
  for (const [name, options] of commands) {
    if (name !== "help") assert.match(man, new RegExp(`^\\.B ${name.replace(/-/g, "\\\\-")}\\b`, "m"), `man: ${name}`);
    assert.match(bash, new RegExp(`^ {8}${name}\\) options="`, "m"), `bash: ${name}`);
    assert.match(zsh, new RegExp(`^ {8}${name}\\) _arguments`, "m"), `zsh: ${name}`);
    assert.match(fish, new RegExp(`-a ${name} -d `), `fish: ${name}`);
    for (const option of options.filter((o) => o !== "--help")) {
      assert.match(man, new RegExp(`^\\.B ${option.replace(/-/g, "\\\\-")}\\b`, "m"), `man: ${name} ${option}`);
      const bashLine = new RegExp(`^ {8}${name}\\) options="[^"]*${option}\\b`, "m");
      assert.match(bash, bashLine, `bash: ${name} ${option}`);
      assert.match(fish, new RegExp(`__fish_seen_subcommand_from ${name}' -l ${option.slice(2)}\\b`), `fish: ${name} ${option}`);
      assert.match(zsh, new RegExp(`^ {8}${name}\\) _arguments .*'${option}\\[`, "m"), `zsh: ${name} ${option}`);
    }
  }
  // Filesystem names of the policy complete after allow, block, reset and --type.
  assert.match(bash, /local filesystems="[^"]*\bjfs\b[^"]*\bvxfs\b/);
  assert.match(bash, /^ {8}allow\) options="[^"]*"; arguments=filesystems ;;$/m);
  assert.match(bash, /^ {8}--type\) COMPREPLY=\(\$\(compgen -W "\$filesystems"/m);
  assert.equal(spawnSync("bash", ["-n", path.join(tree, "usr/share/bash-completion/completions/fsblacklist")]).status, 0, "bash -n");
});

test("man page: groff formats it without a warning", () => {
  const man = path.join(tree, "usr/share/man/man8/fsblacklist.8.gz");
  const result = spawnSync("sh", ["-c", `zcat "$1" | groff -man -Tutf8 -ww -z`, "sh", man], { encoding: "utf8" });
  assert.equal(result.status, 0, result.stderr);
  assert.equal(result.stderr, "");
});

test("bad arguments: an unknown --policy directory and a version dpkg refuses exit 2 and name them", () => {
  const missing = spawnSync(process.execPath, ["scripts/package.mjs", "--out", out, "--policy", "/nonexistent"], { cwd: REPO, encoding: "utf8" });
  assert.equal(missing.status, 2);
  assert.match(missing.stderr, /\/nonexistent\/policy\.json is missing/);
  const bad = spawnSync(process.execPath, ["scripts/package.mjs", "--out", out, "--version", "1.0 beta"], { cwd: REPO, encoding: "utf8" });
  assert.equal(bad.status, 2);
  assert.match(bad.stderr, /--version 1\.0 beta: not a Debian version/);
});
