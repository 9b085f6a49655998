// The package hook examples under packaging/, run as the package managers run
// them (a POSIX shell) against fake roots, with the bundled command on PATH.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { fragmentName } from "../../src/policy/fragment.ts";
import { ADMIN, CLI, DEFAULT_MODULES, VENDOR, kmodVerdict, loadableFor, writeConfig } from "./helpers.ts";

const PACKAGING = fileURLToPath(new URL("../../packaging/", import.meta.url));

interface Hook {
  name: string;
  /** The shell script as the package manager runs it, and its arguments. */
  script: () => string;
  args: string[];
  /** rpm, pacman and apk run hooks chrooted into the target: there `fsblacklist` sees the root as `/`. */
  chrooted: boolean;
}

const HOOKS: Hook[] = [
  {
    name: "rpm %posttrans",
    script: () => {
      const spec = fs.readFileSync(path.join(PACKAGING, "rpm/fsblacklist-posttrans.spec"), "utf8");
      return spec.slice(spec.indexOf("\n%posttrans\n") + "\n%posttrans\n".length);
    },
    args: ["1"],
    chrooted: true,
  },
  { name: "dpkg postinst", script: () => fs.readFileSync(path.join(PACKAGING, "dpkg/postinst"), "utf8"), args: ["configure", "0.9.0"], chrooted: false },
  { name: "pacman hook script", script: () => fs.readFileSync(path.join(PACKAGING, "pacman/fsblacklist-apply"), "utf8"), args: [], chrooted: true },
  { name: "apk trigger", script: () => fs.readFileSync(path.join(PACKAGING, "apk/fsblacklist.trigger"), "utf8"), args: ["/usr/share/fsblacklist/blacklist.d"], chrooted: true },
];

/** A PATH directory with `fsblacklist`: the bundled command, seeing the fake root as a chroot would (or via $DPKG_ROOT). */
function wrapperDir(root: string, chrooted: boolean): string {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-bin-"));
  const quoted = CLI.map((word) => `'${word}'`).join(" ");
  const rootOption = chrooted ? ` --root '${root}'` : "";
  fs.writeFileSync(path.join(dir, "fsblacklist"), `#!/bin/sh\nexec ${quoted}${rootOption} "$@"\n`, { mode: 0o755 });
  return dir;
}

function runHook(hook: Hook, root: string, env: NodeJS.ProcessEnv = {}, onPath = true) {
  const bin = wrapperDir(root, hook.chrooted);
  try {
    const pathVar = onPath ? `${bin}:/usr/sbin:/usr/bin:/sbin:/bin` : "/usr/sbin:/usr/bin:/sbin:/bin";
    const result = spawnSync("sh", ["-c", hook.script(), "hook", ...hook.args], {
      encoding: "utf8",
      env: { PATH: pathVar, NO_COLOR: "1", ...(hook.chrooted ? {} : { DPKG_ROOT: root }), ...env },
    });
    return { status: result.status, stdout: result.stdout, stderr: result.stderr };
  } finally {
    fs.rmSync(bin, { recursive: true, force: true });
  }
}

for (const hook of HOOKS) {
  test(`${hook.name}: applies the policy to the root, keeping what is in use`, () => {
    const root = createFakeRoot({ loaded: ["jfs"] });
    try {
      const result = runHook(hook, root.dir);
      assert.equal(result.status, 0, result.stderr);
      assert.equal(result.stderr, "");
      assert.match(result.stdout, /^fsblacklist apply: policy \S+ \(profile default\), kernel 6\.1\.0-50-amd64\n/);
      assert.ok(fs.existsSync(path.join(root.dir, ADMIN, fragmentName("jfs"))));
      const kmod = kmodVerdict(root.dir);
      assert.ok(loadableFor(kmod, "jfs"));
      for (const module of DEFAULT_MODULES.filter((m) => m !== "jfs")) assert.ok(kmod.blacklisted.has(module), module);
    } finally {
      root.cleanup();
    }
  });

  test(`${hook.name}: a failing apply warns and never fails the package transaction`, () => {
    const root = createFakeRoot();
    try {
      writeConfig(root.dir, "profile: no-such-profile\n");
      const result = runHook(hook, root.dir);
      assert.equal(result.status, 0);
      assert.match(result.stderr, /fsblacklist: unknown policy profile 'no-such-profile'\n/);
      assert.match(result.stderr, /warning: 'fsblacklist apply' failed \(exit 2\); the previous module blacklist stays in force/);
      assert.ok(!fs.existsSync(path.join(root.dir, VENDOR)), "nothing was written");
    } finally {
      root.cleanup();
    }
  });
}

test("dpkg postinst: configure installs into $DPKG_ROOT, other actions do nothing, a missing command only warns", () => {
  const dpkg = HOOKS.find((h) => h.name === "dpkg postinst")!;
  const root = createFakeRoot();
  try {
    const abort = runHook({ ...dpkg, args: ["abort-upgrade", "1.0.0"] }, root.dir);
    assert.equal(abort.status, 0);
    assert.ok(!fs.existsSync(path.join(root.dir, VENDOR)));
    const missing = runHook(dpkg, root.dir, {}, false);
    assert.equal(missing.status, 0);
    assert.equal(missing.stderr, "warning: fsblacklist is not on PATH; run 'fsblacklist apply' once it is.\n");
    const script = dpkg.script();
    assert.match(script, /fsblacklist apply \$\{DPKG_ROOT:\+--root "\$DPKG_ROOT"\}/);
    const withRoot = runHook(dpkg, root.dir);
    assert.equal(withRoot.status, 0, withRoot.stderr);
    assert.equal(fs.readdirSync(path.join(root.dir, VENDOR)).length, DEFAULT_MODULES.length);
  } finally {
    root.cleanup();
  }
});

test("the pacman hook runs the script that ships next to it, after install and upgrade", () => {
  const hook = fs.readFileSync(path.join(PACKAGING, "pacman/fsblacklist.hook"), "utf8");
  assert.match(hook, /^Operation = Install$/m);
  assert.match(hook, /^Operation = Upgrade$/m);
  assert.match(hook, /^When = PostTransaction$/m);
  assert.match(hook, /^Exec = \/usr\/share\/libalpm\/scripts\/fsblacklist-apply$/m);
  for (const file of ["pacman/fsblacklist-apply", "dpkg/postinst", "apk/fsblacklist.trigger"]) {
    assert.ok((fs.statSync(path.join(PACKAGING, file)).mode & 0o111) !== 0, `${file} is executable`);
  }
});
