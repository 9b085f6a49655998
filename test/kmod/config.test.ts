// fsblacklist's own configuration (src/system/config.ts): YAML and JSON load and
// are validated, and no code is ever executed as configuration: not from the
// current directory (cosmiconfig's meta-config and rc files), not through
// --config, not through a YAML `$import`.

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import * as os from "node:os";
import { runCli, runInProcess } from "../helpers/cli.ts";
import { KMOD_30_DPKG_STATUS, makeScratchDir } from "../helpers/tree-generator.ts";
import { removeTree, writeTree, type TreeNode } from "./trees.ts";
import { loadConfig, validateConfig } from "../../src/system/config.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { UsageError } from "../../src/errors.ts";

const dirs: string[] = [];
after(() => dirs.forEach(removeTree));

function tree(spec: Record<string, TreeNode>): string {
  const root = writeTree({ "var/lib/dpkg/status": KMOD_30_DPKG_STATUS, "etc/modprobe.d/x.conf": "blacklist jfs\n", ...spec });
  dirs.push(root);
  return root;
}

/** JavaScript that leaves a marker file behind if anything ever runs it. */
function trap(marker: string): string {
  return `require("node:fs").writeFileSync(${JSON.stringify(marker)}, "executed");\nmodule.exports = { kmodVersion: 31 };\n`;
}
const esmTrap = (marker: string): string => `import { writeFileSync } from "node:fs";\nwriteFileSync(${JSON.stringify(marker)}, "executed");\nexport default { kmodVersion: 31 };\n`;

/** In this process; with `cwd`, the bundled command started in that directory: what a real current directory holds must not count. */
async function kmodVersionShown(args: string[], cwd?: string): Promise<{ status: number; version: number | null; stderr: string }> {
  const run = cwd === undefined ? await runInProcess(["showconfig", "--json", ...args]) : runCli(["showconfig", "--json", ...args], { cwd });
  const version = run.status === 0 ? (JSON.parse(run.stdout) as { kmodVersion: number }).kmodVersion : null;
  return { status: run.status, version, stderr: run.stderr };
}

describe("loading", () => {
  test("etc/fsblacklist/config.yaml under the root is read (kmodVersion overrides the dpkg database)", async () => {
    const root = tree({ "etc/fsblacklist/config.yaml": "# local settings\nkmodVersion: 33\nkeep:\n  always: [hfsplus]\ninitramfs: report\n" });
    assert.deepEqual(await kmodVersionShown(["--root", root]), { status: 0, version: 33, stderr: "" });
  });

  test("without a configuration the defaults apply", async () => {
    const root = tree({});
    assert.equal((await kmodVersionShown(["--root", root])).version, 30, "the dpkg database decides");
  });

  test("--config takes a JSON or YAML file anywhere", async () => {
    const root = tree({ "etc/fsblacklist/config.yaml": "kmodVersion: 33\n" });
    const elsewhere = makeScratchDir("fsb-config-");
    dirs.push(elsewhere);
    fs.writeFileSync(path.join(elsewhere, "settings.json"), JSON.stringify({ kmodVersion: 32, adminDir: "/etc/modprobe.d" }));
    fs.writeFileSync(path.join(elsewhere, "settings.yml"), "kmodVersion: 29\n");
    assert.equal((await kmodVersionShown(["--root", root, "--config", path.join(elsewhere, "settings.json")])).version, 32);
    assert.equal((await kmodVersionShown(["--root", root, "--config", path.join(elsewhere, "settings.yml")])).version, 29);
  });

  test("an empty file is the defaults; a YAML $import of YAML under the root is merged", async () => {
    const empty = tree({ "etc/fsblacklist/config.yaml": "" });
    assert.equal((await kmodVersionShown(["--root", empty])).version, 30);
    const root = tree({
      "etc/fsblacklist/base.yaml": "kmodVersion: 32\nprofile: cis\n",
      "etc/fsblacklist/config.yaml": "$import: base.yaml\nprofile: default\n",
    });
    const config = await loadConfig(new RootFs(root), undefined);
    assert.equal(config.kmodVersion, 32);
    assert.equal(config.profile, "default", "the file's own settings win over imported ones");
    assert.equal(config.loadedFrom, "etc/fsblacklist/config.yaml");
  });

  test("validation accepts every documented setting", () => {
    const config = validateConfig(
      {
        vendorDir: "/usr/lib/modprobe.d",
        adminDir: "etc/modprobe.d",
        stateFile: "var/lib/fsblacklist/state.json",
        profile: "cis",
        policyDir: "/opt/policy",
        keep: { signals: ["loaded", "fstab"], always: ["vfat"] },
        initramfs: { mode: "regenerate", underRoot: true },
        kmodVersion: 34,
      },
      "x.yaml",
    );
    assert.equal(config.vendorDir, "usr/lib/modprobe.d", "leading slashes are dropped: paths are under the root");
    assert.deepEqual(config.keep, { signals: ["loaded", "fstab"], always: ["vfat"] });
    assert.deepEqual(config.initramfs, { mode: "regenerate", underRoot: true });
    assert.equal(config.kmodVersion, 34);
  });
});

describe("bad configuration: exit 2, naming the file and the setting", () => {
  const cases: [string, string, RegExp][] = [
    ["unknown key", "kmodVersoin: 30\n", /etc\/fsblacklist\/config\.yaml: unknown setting 'kmodVersoin'/],
    ["unknown nested key", "keep:\n  forever: [jfs]\n", /etc\/fsblacklist\/config\.yaml: unknown setting 'keep\.forever'/],
    ["wrong type", "kmodVersion: thirty\n", /etc\/fsblacklist\/config\.yaml: 'kmodVersion' must be a kmod version number/],
    ["wrong list item", "keep:\n  signals: [loaded, vibes]\n", /etc\/fsblacklist\/config\.yaml: 'keep\.signals' must be a list of: /],
    ["wrong enum", "initramfs:\n  mode: sometimes\n", /etc\/fsblacklist\/config\.yaml: 'initramfs\.mode' must be 'report' or 'regenerate'/],
    ["wrong boolean", "initramfs:\n  underRoot: yes please\n", /'initramfs\.underRoot' must be true or false/],
    ["path climbing out", "adminDir: ../../etc/modprobe.d\n", /etc\/fsblacklist\/config\.yaml: 'adminDir' must be a path without '\.\.'/],
    ["not a mapping", "- a\n- b\n", /etc\/fsblacklist\/config\.yaml: expected a mapping of settings/],
    ["YAML syntax", "kmodVersion: [30\n", /etc\/fsblacklist\/config\.yaml:2:1: /],
  ];
  for (const [name, yaml, message] of cases) {
    test(name, async () => {
      const root = tree({ "etc/fsblacklist/config.yaml": yaml });
      const run = await runInProcess(["showconfig", "--root", root]);
      assert.equal(run.status, 2, run.stderr);
      assert.equal(run.stdout, "");
      assert.match(run.stderr, message);
      assert.doesNotMatch(run.stderr, /unexpected error/);
    });
  }

  test("a JSON file with a wrong type names it too", async () => {
    const root = tree({});
    const file = path.join(root, "settings.json");
    fs.writeFileSync(file, JSON.stringify({ keep: { always: "vfat" } }));
    const run = await runInProcess(["showconfig", "--root", root, "--config", file]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /settings\.json: 'keep\.always' must be a list of filesystem names/);
  });

  test("a missing --config file", async () => {
    const root = tree({});
    const run = await runInProcess(["showconfig", "--root", root, "--config", path.join(root, "nope.yaml")]);
    assert.equal(run.status, 2);
    assert.match(run.stderr, /nope\.yaml: no such configuration file/);
  });
});

describe("no code is ever executed as configuration", () => {
  test("cosmiconfig's meta-config and rc files in the current directory are never loaded", async () => {
    const cwd = makeScratchDir("fsb-cwd-");
    dirs.push(cwd);
    const markers = ["meta", "rc-js", "rc-cjs", "rc-mjs", "config-js", "config-dir-js"].map((name) => path.join(cwd, `EXECUTED-${name}`));
    const files: Record<string, string> = {
      ".config/config.js": trap(markers[0]!),
      ".fsblacklistrc.js": trap(markers[1]!),
      ".fsblacklistrc.cjs": trap(markers[2]!),
      ".fsblacklistrc.mjs": esmTrap(markers[3]!),
      "fsblacklist.config.js": trap(markers[4]!),
      ".config/fsblacklistrc.js": trap(markers[5]!),
      // Data-only config in the current directory is not ours either.
      ".fsblacklistrc": "kmodVersion: 31\n",
      ".fsblacklistrc.yaml": "kmodVersion: 31\n",
      "package.json": JSON.stringify({ name: "x", fsblacklist: { kmodVersion: 31 } }),
    };
    for (const [rel, content] of Object.entries(files)) {
      fs.mkdirSync(path.dirname(path.join(cwd, rel)), { recursive: true });
      fs.writeFileSync(path.join(cwd, rel), content);
    }
    const root = tree({ "srv/settings.yaml": "kmodVersion: 32\n" });
    assert.deepEqual(await kmodVersionShown(["--root", root], cwd), { status: 0, version: 30, stderr: "" });
    assert.deepEqual(await kmodVersionShown(["--root", root, "--config", path.join(root, "srv/settings.yaml")], cwd), { status: 0, version: 32, stderr: "" });
    assert.equal(runCli(["--help"], { cwd }).status, 0);
    for (const marker of markers) assert.equal(fs.existsSync(marker), false, `${path.basename(marker)}: code in the current directory ran`);
  });

  test("--config with a JavaScript or TypeScript file is refused without running it", async () => {
    const root = tree({});
    for (const ext of [".js", ".cjs", ".mjs", ".ts"]) {
      const marker = path.join(root, `EXECUTED${ext}`);
      const file = path.join(root, `settings${ext}`);
      fs.writeFileSync(file, ext === ".mjs" ? esmTrap(marker) : trap(marker));
      const run = await runInProcess(["showconfig", "--root", root, "--config", file]);
      assert.equal(run.status, 2, ext);
      assert.match(run.stderr, new RegExp(`settings\\${ext}: configuration must be a \\.yaml, \\.yml or \\.json file`));
      assert.equal(fs.existsSync(marker), false, `${ext} ran`);
    }
  });

  test("a YAML $import of JavaScript is refused without running it", async () => {
    const root = tree({ "etc/fsblacklist/": { dir: true } });
    const marker = path.join(root, "EXECUTED-import");
    fs.writeFileSync(path.join(root, "etc/fsblacklist/evil.js"), trap(marker));
    for (const config of ["$import: evil.js\n", "$import: [base.yaml, evil.js]\n", "$import: ./evil\n"]) {
      fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), config);
      fs.writeFileSync(path.join(root, "etc/fsblacklist/base.yaml"), "kmodVersion: 32\n");
      const run = await runInProcess(["showconfig", "--root", root]);
      assert.equal(run.status, 2, config);
      assert.match(run.stderr, /etc\/fsblacklist\/config\.yaml: \$import .*only \.yaml, \.yml or \.json files can be imported/);
    }
    // Nested: an imported YAML file that imports JavaScript.
    fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), "$import: base.yaml\n");
    fs.writeFileSync(path.join(root, "etc/fsblacklist/base.yaml"), "$import: evil.js\nkmodVersion: 32\n");
    const nested = await runInProcess(["showconfig", "--root", root]);
    assert.equal(nested.status, 2);
    assert.match(nested.stderr, /^fsblacklist: etc\/fsblacklist\/base\.yaml: \$import evil\.js: only \.yaml, \.yml or \.json files can be imported/);
    assert.equal(fs.existsSync(marker), false, "the imported JavaScript ran");
  });

  test("the configuration under the root cannot import files from outside it", async () => {
    const outside = makeScratchDir("fsb-outside-");
    dirs.push(outside);
    fs.writeFileSync(path.join(outside, "host.yaml"), "kmodVersion: 31\n");
    const root = tree({ "etc/fsblacklist/link.yaml": { link: path.join(outside, "host.yaml") } });
    for (const entry of [path.join(outside, "host.yaml"), `../../../../../../../..${outside}/host.yaml`, "link.yaml"]) {
      fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), `$import: ${entry}\n`);
      await assert.rejects(loadConfig(new RootFs(root), undefined), (error: unknown) => {
        assert.ok(error instanceof UsageError);
        assert.match(error.message, /etc\/fsblacklist\/config\.yaml: \$import .* leads outside the root/);
        return true;
      });
    }
  });
});

describe("the vendor directory follows the kmod installed under the root", () => {
  const dpkgStatus = (version: string): string => `Package: kmod\nStatus: install ok installed\nVersion: ${version}\n\n`;

  test("kmod 30 (Debian) does not read usr/lib/modprobe.d: fragments go to lib/modprobe.d", async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-vendor-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.mkdirSync(path.join(root, "var/lib/dpkg"), { recursive: true });
    fs.writeFileSync(path.join(root, "var/lib/dpkg/status"), dpkgStatus("30+20221128-1"));
    assert.equal((await loadConfig(new RootFs(root), undefined)).vendorDir, "lib/modprobe.d");
    fs.writeFileSync(path.join(root, "var/lib/dpkg/status"), dpkgStatus("34.2-1"));
    assert.equal((await loadConfig(new RootFs(root), undefined)).vendorDir, "usr/lib/modprobe.d");
  });

  test("an explicit vendorDir or kmodVersion in the configuration wins", async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-vendor-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), "kmodVersion: 31\n");
    assert.equal((await loadConfig(new RootFs(root), undefined)).vendorDir, "lib/modprobe.d");
    fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), "kmodVersion: 31\nvendorDir: usr/local/lib/modprobe.d\n");
    assert.equal((await loadConfig(new RootFs(root), undefined)).vendorDir, "usr/local/lib/modprobe.d");
  });
});

describe("a configured vendorDir that kmod does not read is refused", () => {
  test("usr/lib/modprobe.d with kmod 31 on an unmerged root: exit 2 naming the file and the directories kmod reads", async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-vendor-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), "kmodVersion: 31\nvendorDir: usr/lib/modprobe.d\n");
    const result = await runInProcess(["status", "--root", root]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /etc\/fsblacklist\/config\.yaml: vendorDir usr\/lib\/modprobe\.d is not a directory kmod 31 reads/);
    assert.match(result.stderr, /lib\/modprobe\.d/);
  });

  test("on a merged /usr (lib -> usr/lib) the same setting is lib/modprobe.d for kmod, and accepted", async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-vendor-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.mkdirSync(path.join(root, "usr/lib/modprobe.d"), { recursive: true });
    fs.symlinkSync("usr/lib", path.join(root, "lib"));
    fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), "kmodVersion: 31\nvendorDir: usr/lib/modprobe.d\n");
    assert.equal((await loadConfig(new RootFs(root), undefined)).vendorDir, "usr/lib/modprobe.d");
  });
});

describe("a configuration file that does not parse", () => {
  test("YAML: exit 2 naming the root-relative file, line, column and the parser's reason", async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-yaml-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.mkdirSync(path.join(root, "etc/fsblacklist"), { recursive: true });
    fs.writeFileSync(path.join(root, "etc/fsblacklist/config.yaml"), "profile: [unclosed\nkeep: {\n");
    const result = await runInProcess(["status", "--root", root]);
    assert.equal(result.status, 2);
    assert.equal(result.stderr, "fsblacklist: etc/fsblacklist/config.yaml:2:1: missed comma between flow collection entries\n");
  });

  test("JSON: exit 2 with the parser's reason, not a code frame", async (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-json-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.writeFileSync(path.join(root, "c.json"), '{"profile": "cis",,}');
    const result = await runInProcess(["status", "--root", root, "--config", path.join(root, "c.json")]);
    assert.equal(result.status, 2);
    assert.match(result.stderr, /c\.json: Expected double-quoted property name in JSON at position 18\n$/);
  });

  // The parser colours its code frame when it thinks colour is wanted (a terminal,
  // CI=true as under Ansible or CI, FORCE_COLOR), decided from the process's own
  // environment at start-up: hence the bundle in a child process.
  test("JSON where colour is on (CI=true, FORCE_COLOR): the same reason, no coloured code frame", (t) => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-json-"));
    t.after(() => fs.rmSync(root, { recursive: true, force: true }));
    fs.writeFileSync(path.join(root, "c.json"), '{"profile": "cis",,}');
    const { NO_COLOR: _, ...inherited } = process.env;
    for (const colour of [{ CI: "true" }, { FORCE_COLOR: "1" }]) {
      const result = runCli(["status", "--root", root, "--config", path.join(root, "c.json")], { env: { ...inherited, DPKG_ROOT: "", ...colour } });
      assert.equal(result.status, 2);
      assert.match(result.stderr, /c\.json: Expected double-quoted property name in JSON at position 18\n$/, JSON.stringify(colour));
    }
  });
});
