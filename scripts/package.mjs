// Builds the Debian package fsblacklist_<version>_all.deb from the bundle in
// dist/ (run `npm run build` first; `npm run package` does both).
//
//   node scripts/package.mjs [--out DIR] [--version V] [--policy DIR]
//
// --version and --policy make a package of another version or policy from the
// same bundle (the system suite builds an upgrade with them); the default is
// package.json's version and the shipped blacklist.d/. Prints the path of the .deb.
//
// Layout: /usr/bin/fsblacklist runs /usr/lib/fsblacklist/dist/main.cjs with the
// distribution's Node; the policy lives in /usr/share/fsblacklist/blacklist.d
// and /usr/lib/fsblacklist/blacklist.d links to it, where the bundle looks for
// it (src/policy/policy.ts). The maintainer scripts are packaging/dpkg's, the
// kernel hooks in /etc/kernel (conffiles) packaging/kernel's, dracut's
// configuration packaging/dracut's. The
// man page and the completions are written from the command table of the
// bundle being packaged (scripts/command-docs.mjs).
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, lstatSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { createHash } from "node:crypto";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { parseArgs } from "node:util";
import { gzipSync } from "node:zlib";
import { bashCompletion, describeCommands, fishCompletion, manPage, zshCompletion } from "./command-docs.mjs";

const { values: args } = parseArgs({
  options: { out: { type: "string", default: "." }, version: { type: "string" }, policy: { type: "string", default: "blacklist.d" } },
});
const pkg = JSON.parse(readFileSync("package.json", "utf8"));
const version = args.version ?? pkg.version;
const policyDir = resolve(args.policy);
const MAINTAINER = "fsblacklist maintainers <fsblacklist@lists.example.org>";

for (const needed of ["dist/main.cjs", "dist/cli.cjs", join(policyDir, "policy.json")]) {
  if (!existsSync(needed)) fail(`${needed} is missing (run 'npm run build' first, or 'npm run package' for both)`);
}
if (!/^[0-9][A-Za-z0-9.+~]*(-[A-Za-z0-9.+~]+)?$/.test(version)) fail(`--version ${version}: not a Debian version`);
const native = !version.includes("-");

function fail(message) {
  console.error(`package: ${message}`);
  process.exit(2);
}

/** The time every file gets, so that the same tree makes the same package: the last commit's, or now outside git. */
const epoch = Number(process.env.SOURCE_DATE_EPOCH ?? (spawnSync("git", ["log", "-1", "--format=%ct"], { encoding: "utf8" }).stdout.trim() || Math.floor(Date.now() / 1000)));

const stage = mkdtempSync(join(tmpdir(), "fsblacklist-package-"));
chmodSync(stage, 0o755);
try {
  const put = (path, content, mode = 0o644) => {
    const file = join(stage, path);
    mkdirSync(dirname(file), { recursive: true });
    writeFileSync(file, content);
    chmodSync(file, mode);
  };
  const copy = (from, to, mode = 0o644) => put(to, readFileSync(from), mode);

  // The program.
  for (const name of readdirSync("dist").filter((n) => !n.startsWith("."))) copy(join("dist", name), `usr/lib/fsblacklist/dist/${name}`);
  put(
    "usr/bin/fsblacklist",
    [
      "#!/usr/bin/node",
      "// fsblacklist(8): the bundle in /usr/lib/fsblacklist, run by the distribution's Node.",
      '"use strict";',
      'require("/usr/lib/fsblacklist/dist/main.cjs")',
      "  .main(process.argv.slice(2))",
      "  .then((code) => {",
      "    process.exitCode = code;",
      "  });",
      "",
    ].join("\n"),
    0o755,
  );

  // The kernel hooks: apply again when a kernel is installed or removed. Files in
  // /etc are conffiles: an administrator's change survives upgrades.
  const conffiles = ["etc/kernel/postinst.d/50-fsblacklist", "etc/kernel/postrm.d/50-fsblacklist"];
  for (const file of conffiles) copy(join("packaging/kernel", file.slice("etc/kernel/".length)), file, 0o755);

  // dracut's configuration: the overrides in /etc/modprobe.d go into every image,
  // also those dracut builds without host-only mode (packaging/dracut).
  copy("packaging/dracut/50-fsblacklist.conf", "usr/lib/dracut/dracut.conf.d/50-fsblacklist.conf");

  // The policy.
  const policyFiles = readdirSync(policyDir)
    .filter((n) => n.endsWith(".conf") || n === "policy.json")
    .sort();
  for (const name of policyFiles) copy(join(policyDir, name), `usr/share/fsblacklist/blacklist.d/${name}`);
  symlinkSync("../../share/fsblacklist/blacklist.d", join(stage, "usr/lib/fsblacklist/blacklist.d"));
  const filesystems = [
    ...new Set(
      policyFiles
        .filter((n) => n.endsWith(".conf"))
        .flatMap((n) => {
          const text = readFileSync(join(policyDir, n), "utf8");
          const module = /^60-blacklist_fs-(.+)\.conf$/.exec(n)?.[1];
          const types =
            /^# filesystem: (.+)$/m
              .exec(text)?.[1]
              .split(/[\s,]+/)
              .filter(Boolean) ?? [];
          return [module, ...types].filter(Boolean);
        }),
    ),
  ].sort();

  // The man page and the completions, from the bundle's own command table.
  const sink = { write() {}, isTTY: false };
  const { commandTable } = createRequire(import.meta.url)(resolve("dist/cli.cjs"));
  const table = describeCommands(commandTable({ stdout: sink, stderr: sink, env: {}, uid: 0, cwd: "/" }, () => {}));
  const date = new Date(epoch * 1000).toISOString().slice(0, 10);
  put("usr/share/man/man8/fsblacklist.8.gz", gzipSync(manPage(table, { version, date, filesystems }), { level: 9 }));
  put("usr/share/bash-completion/completions/fsblacklist", bashCompletion(table, { filesystems }));
  put("usr/share/zsh/vendor-completions/_fsblacklist", zshCompletion(table, { filesystems }));
  put("usr/share/fish/vendor_completions.d/fsblacklist.fish", fishCompletion(table, { filesystems }));

  // Documentation Debian asks for.
  put(
    "usr/share/doc/fsblacklist/copyright",
    [
      "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/",
      "Upstream-Name: fsblacklist",
      "",
      "Files: *",
      `Copyright: ${new Date(epoch * 1000).getUTCFullYear()} fsblacklist authors`,
      "License: GPL-2+",
      " This program is free software; you can redistribute it and/or modify it under",
      " the terms of the GNU General Public License as published by the Free Software",
      " Foundation; either version 2 of the License, or (at your option) any later",
      " version.",
      " .",
      " On Debian systems, the complete text of the GNU General Public License version",
      " 2 can be found in '/usr/share/common-licenses/GPL-2'.",
      "",
    ].join("\n"),
  );
  const changelog = [
    `fsblacklist (${version}) unstable; urgency=medium`,
    "",
    "  * Built from the fsblacklist source tree by scripts/package.mjs.",
    "",
    ` -- ${MAINTAINER}  ${new Date(epoch * 1000).toUTCString().replace(/GMT$/, "+0000")}`,
    "",
  ].join("\n");
  put(`usr/share/doc/fsblacklist/${native ? "changelog.gz" : "changelog.Debian.gz"}`, gzipSync(changelog, { level: 9 }));

  // Control files.
  const files = listFiles(stage);
  const installedKiB = files.reduce((sum, f) => sum + Math.ceil(lstatSync(join(stage, f)).size / 1024), 0);
  // As dh_installdeb does with nothing to add: the #DEBHELPER# line goes.
  for (const script of ["postinst", "prerm", "postrm"]) {
    put(`DEBIAN/${script}`, readFileSync(join("packaging/dpkg", script), "utf8").replace(/^#DEBHELPER#\n/m, ""), 0o755);
  }
  put("DEBIAN/conffiles", conffiles.map((f) => `/${f}\n`).join(""));
  put(
    "DEBIAN/md5sums",
    files
      .filter((f) => lstatSync(join(stage, f)).isFile() && !conffiles.includes(f))
      .map(
        (f) =>
          `${createHash("md5")
            .update(readFileSync(join(stage, f)))
            .digest("hex")}  ${f}\n`,
      )
      .join(""),
  );
  put(
    "DEBIAN/control",
    [
      "Package: fsblacklist",
      `Version: ${version}`,
      "Architecture: all",
      `Maintainer: ${MAINTAINER}`,
      `Installed-Size: ${installedKiB}`,
      "Depends: nodejs (>= 20), kmod",
      "Section: admin",
      "Priority: optional",
      `Description: ${pkg.description.replace(/, safely$/, "")}`,
      " fsblacklist installs one modprobe.d blacklist fragment per rarely used,",
      " poorly maintained filesystem module (jfs, minix, cramfs, hfs, ufs and",
      " others), so that a crafted USB stick cannot make the kernel auto-load",
      " buggy code. Filesystems the system uses are kept loadable, so an update",
      " never leaves it unbootable.",
      " .",
      " It lets administrators allow or block a filesystem without editing",
      " package-owned files, explains why a mount failed, and models kmod's",
      " configuration rules exactly.",
      "",
    ].join("\n"),
  );

  for (const f of [...listFiles(stage), ""]) {
    const path = join(stage, f);
    if (!lstatSync(path).isSymbolicLink()) utimesSync(path, epoch, epoch);
  }
  mkdirSync(args.out, { recursive: true });
  const deb = resolve(args.out, `fsblacklist_${version}_all.deb`);
  const built = spawnSync("dpkg-deb", ["--root-owner-group", "-Zxz", "--build", stage, deb], {
    encoding: "utf8",
    env: { ...process.env, SOURCE_DATE_EPOCH: String(epoch) },
  });
  if (built.error) fail(`dpkg-deb: ${built.error.message} (install dpkg)`);
  if (built.status !== 0) fail(`dpkg-deb failed: ${built.stderr}`);
  console.log(relative(process.cwd(), deb) || deb);
} finally {
  rmSync(stage, { recursive: true, force: true });
}

/** Every file, link and directory under root, relative to it, DEBIAN/ aside; links are not followed. */
function listFiles(root, under = "") {
  return readdirSync(join(root, under), { withFileTypes: true })
    .filter((e) => !(under === "" && e.name === "DEBIAN"))
    .flatMap((e) => {
      const path = under === "" ? e.name : `${under}/${e.name}`;
      return e.isDirectory() ? [path, ...listFiles(root, path)] : [path];
    })
    .sort();
}
