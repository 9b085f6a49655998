// Where kmod versions differ. Only kmod 30 runs here, so each case is checked
// against the real modprobe for 30, and against what kmod's source does at the
// tag where the behaviour changed (traced by hand from libkmod-config.c and
// shared/util.c at that tag; the tag is named in each test).

import { after, describe, test } from "node:test";
import assert from "node:assert/strict";
import { runOracle } from "../helpers/kmod-oracle.ts";
import { modelAt, removeTree, writeTree, type TreeNode } from "./trees.ts";
import { parseKernelCmdline } from "../../src/kmod/cmdline.ts";
import { kmodBehaviour, parseKmodVersion } from "../../src/kmod/kmod-version.ts";
import { renderModprobeC } from "../../src/kmod/effective-config.ts";
import { detectKmodVersion } from "../../src/system/kmod-detect.ts";
import { RootFs } from "../../src/system/root-fs.ts";

const roots: string[] = [];
after(() => roots.forEach(removeTree));

function tree(spec: Record<string, TreeNode>): string {
  const root = writeTree(spec);
  roots.push(root);
  return root;
}

/** Asserts the model at 30 against the real kmod 30, then returns the tree for the other versions. */
async function anchoredAt30(spec: Record<string, TreeNode>): Promise<string> {
  const root = tree(spec);
  const [oracle] = await runOracle([root], { parallel: 1 });
  assert.equal(modelAt(root, 30).text, oracle!.config.toString("latin1"), "the model at kmod 30 matches the real modprobe");
  return root;
}

describe("kmod up to 32 reads *.alias files in modprobe.d; 33 dropped them (v33 conf_files_filter_out)", () => {
  test("an .alias file is read before 33 and ignored from 33", async () => {
    const root = await anchoredAt30({
      "etc/modprobe.d/local.alias": "alias fs-jfs jfs\n",
      "lib/modprobe.d/x.conf": "blacklist jfs\n",
    });
    assert.equal(modelAt(root, 30).text, "blacklist jfs\nalias fs_jfs jfs\n");
    assert.equal(modelAt(root, 32).text, "blacklist jfs\nalias fs_jfs jfs\n");
    assert.equal(modelAt(root, 33).text, "blacklist jfs\n");
    assert.equal(modelAt(root, 34).text, "blacklist jfs\n");
  });
});

describe("an entry that cannot be stat'ed: masks up to 33, skipped with a message from 34 (v34 conf_files_filter_out)", () => {
  test("a dangling link masks the same name in a lower directory until 33", async () => {
    const root = await anchoredAt30({
      "etc/modprobe.d/jfs.conf": { link: "gone.conf" },
      "lib/modprobe.d/jfs.conf": "blacklist jfs\n",
    });
    assert.equal(modelAt(root, 33).text, "");
    const at34 = modelAt(root, 34);
    assert.equal(at34.text, "blacklist jfs\n");
    assert.deepEqual(at34.problems, ["etc/modprobe.d/jfs.conf: Cannot stat directory entry: etc/modprobe.d/jfs.conf"]);
  });

  test("a link loop is judged like a dangling link", async () => {
    const root = await anchoredAt30({
      "etc/modprobe.d/jfs.conf": { link: "jfs.conf" },
      "lib/modprobe.d/jfs.conf": "blacklist jfs\n",
    });
    assert.equal(modelAt(root, 33).text, "");
    assert.equal(modelAt(root, 34).text, "blacklist jfs\n");
  });

  test("until 33, such an entry right after a directory named *.conf counts as a directory (kmod reads a stale stat buffer)", async () => {
    // Interleave directories and dangling links so that, whatever order the file
    // system lists them in, some links come right after a directory.
    const spec: Record<string, TreeNode> = {};
    for (let i = 0; i < 12; i++) {
      spec[`etc/modprobe.d/d${i}.conf`] = { dir: true };
      spec[`etc/modprobe.d/l${i}.conf`] = { link: `missing-${i}` };
      spec[`lib/modprobe.d/l${i}.conf`] = `blacklist l${i}\n`;
    }
    const root = await anchoredAt30(spec);
    const at30 = modelAt(root, 30);
    // Some links were taken for directories (their lower file shows), some masked.
    const shown = at30.text.split("\n").filter(Boolean).length;
    assert.ok(shown > 0 && shown < 12, `expected some but not all links to count as directories, got ${shown} of 12:\n${at30.text}`);
    assert.ok(at30.problems.some((p) => /^etc\/modprobe\.d\/l\d+\.conf: Directories inside directories/.test(p)));
    // From 34 every link is skipped with its own message and nothing is masked.
    const at34 = modelAt(root, 34);
    assert.equal(at34.text.split("\n").filter(Boolean).length, 12);
    assert.equal(at34.problems.filter((p) => p.includes("Cannot stat directory entry")).length, 12);
  });
});

describe("weakdep lines and modules.weakdep: from 33 (v33 kmod_config_parse, kmod_config_new)", () => {
  const files = (): Record<string, TreeNode> => ({
    "etc/modprobe.d/w.conf": "weakdep jfs crc32c  nls-utf8 \nweakdep jfs  lead\nweakdep jfs  \nweakdep jfs pre: x\nsoftdep jfs pre: a\n",
    "proc/sys/kernel/osrelease": "6.1.0-test\n",
    "lib/modules/6.1.0-test/modules.weakdep": "weakdep ext4 crc32c\noptions from weakdep-file\n",
    "lib/modules/6.1.0-test/modules.softdep": "options from softdep-file\n",
    "etc/modprobe.d/modules.conf": "options from conf-before\n",
    "etc/modprobe.d/modules.x.conf": "options from conf-after\n",
  });

  test("before 33 a weakdep line is a bad line and modules.weakdep is not read", async () => {
    const root = await anchoredAt30(files());
    const at32 = modelAt(root, 32);
    assert.equal(at32.text, "options from conf-before\noptions from softdep-file\noptions from conf-after\nsoftdep jfs pre: a\n");
    assert.deepEqual(
      at32.problems.filter((p) => p.includes("weakdep")),
      [1, 2, 3, 4].map((n) => `etc/modprobe.d/w.conf:${n}: ignoring bad line starting with 'weakdep'`),
    );
  });

  test("from 33 weakdeps print after softdeps, words split like softdep's, and modules.weakdep sorts by its name", () => {
    const root = tree(files());
    assert.equal(
      modelAt(root, 33).text,
      [
        "options from conf-before",
        "options from softdep-file",
        "options from weakdep-file",
        "options from conf-after",
        "softdep jfs pre: a",
        "weakdep ext4 crc32c",
        // kmod's scanner: the value starts after one blank, a single leading blank
        // stays glued to the first word, a trailing blank ends the last word.
        "weakdep jfs crc32c nls-utf8",
        "weakdep jfs  lead",
        "weakdep jfs ",
        "weakdep jfs pre: x",
        "",
      ].join("\n"),
    );
  });
});

describe("a backslash right before the end of a file: 0xFF byte up to 33, dropped from 34 (v34 freadline_wrapped)", () => {
  test("at the end of a line with text", async () => {
    const root = await anchoredAt30({ "etc/modprobe.d/eof.conf": "blacklist jfs\\" });
    assert.equal(modelAt(root, 33).text, "blacklist jfs\xff\n");
    assert.equal(modelAt(root, 34).text, "blacklist jfs\n");
  });

  test("alone on the last line", async () => {
    const root = await anchoredAt30({ "etc/modprobe.d/eof.conf": "blacklist jfs\n\\" });
    assert.deepEqual(modelAt(root, 33).problems, ["etc/modprobe.d/eof.conf:2: ignoring bad line starting with '\xff'"]);
    assert.deepEqual(modelAt(root, 34).problems, []);
    assert.equal(modelAt(root, 34).text, "blacklist jfs\n");
  });
});

describe("the kernel command line across versions (v24 quotes, v28 bad module names, v29 state machine)", () => {
  const at = (version: number, cmdline: string): string => {
    const parsed = parseKernelCmdline(cmdline, kmodBehaviour(version));
    return renderModprobeC({ files: [], entries: parsed.entries, diagnostics: parsed.diagnostics, behaviour: kmodBehaviour(version) });
  };

  test("checked against the real kmod 30 first", async () => {
    const lines = ["jfs.a=1\tjfs.b=2\n", "a.b=1\nc.d=2\n", '"m.p=x y"\n', "a-b[.p=1 ok.q=2\n", "modprobe.blacklist=a=b,c\n", 'm.p="a b"\n'];
    const trees = lines.map((cmdline) => tree({ "proc/cmdline": cmdline }));
    const oracle = await runOracle(trees, { parallel: 1 });
    lines.forEach((cmdline, i) => {
      assert.equal(at(30, cmdline), oracle[i]!.config.toString("latin1"), JSON.stringify(cmdline));
    });
  });

  test("a tab separates words from 29; before, it is part of the word", () => {
    assert.equal(at(29, "jfs.a=1\tjfs.b=2\n"), "options jfs a=1\noptions jfs b=2\n");
    assert.equal(at(28, "jfs.a=1\tjfs.b=2\n"), "options jfs a=1 jfs.b=2\n");
  });

  test("before 29 scanning stops at the first newline", () => {
    assert.equal(at(29, "a.b=1\nc.d=2\n"), "options a b=1\noptions c d=2\n");
    assert.equal(at(28, "a.b=1\nc.d=2\n"), "options a b=1\n");
  });

  test("a word quoted whole (as grub passes it): re-quoted from 29, ignored from 24, split before", () => {
    assert.equal(at(29, '"m.p=x y"\n'), 'options m p="x y"\n');
    assert.equal(at(28, '"m.p=x y"\n'), "");
    assert.equal(at(24, '"m.p=x y"\n'), "");
    assert.equal(at(23, '"m.p=x y"\n'), 'options "m p=x\n');
  });

  test("a quoted value keeps its blanks from 24; before, the blank ends the word", () => {
    assert.equal(at(30, 'm.p="a b"\n'), 'options m p="a b"\n');
    assert.equal(at(24, 'm.p="a b"\n'), 'options m p="a b"\n');
    assert.equal(at(23, 'm.p="a b"\n'), 'options m p="a\n');
  });

  test("a module name with an unmatched bracket: reported, and until 27 stored anyway half converted", () => {
    const message = "Ignoring bad option on kernel command line while parsing module name: 'a_b['";
    for (const version of [27, 28, 30]) {
      assert.deepEqual(
        parseKernelCmdline("a-b[.p=1 ok.q=2\n", kmodBehaviour(version)).diagnostics.map((d) => d.message),
        [message],
      );
    }
    assert.equal(at(27, "a-b[.p=1 ok.q=2\n"), "options a_b[ p=1\noptions ok q=2\n");
    assert.equal(at(28, "a-b[.p=1 ok.q=2\n"), "options ok q=2\n");
  });

  test("modprobe.blacklist= takes its value after the first '=' from 29, after the last one before", () => {
    assert.equal(at(29, "modprobe.blacklist=a=b,c\n"), "blacklist a=b\nblacklist c\n");
    assert.equal(at(28, "modprobe.blacklist=a=b,c\n"), "blacklist b\nblacklist c\n");
  });
});

describe("which kmod the target has", () => {
  test("version strings of distributions", () => {
    const cases: [string, number | null][] = [
      ["30+20221128-1", 30],
      ["34.2-1", 34],
      ["29-1ubuntu1", 29],
      ["28-1", 28],
      ["kmod version 30", 30],
      ["kmod-31-5.fc40", 31],
      ["nonsense", null],
      ["", null],
    ];
    for (const [text, expected] of cases) assert.equal(parseKmodVersion(text), expected, text);
  });

  test("the dpkg database under the root: only an installed kmod counts", () => {
    const stanza = (pkg: string, status: string, version: string): string => `Package: ${pkg}\nStatus: ${status}\nPriority: optional\nVersion: ${version}\nDescription: x\n\n`;
    const detect = (status: string): number | null => detectKmodVersion(new RootFs(tree({ "var/lib/dpkg/status": status })));
    assert.equal(detect(stanza("libkmod2", "install ok installed", "33-1") + stanza("kmod", "install ok installed", "1:30+20221128-1")), 30);
    assert.equal(detect(stanza("kmod", "deinstall ok config-files", "30-1")), null);
    assert.equal(detect(stanza("kmod-extra", "install ok installed", "31-1")), null);
    assert.equal(detectKmodVersion(new RootFs(tree({ "etc/hostname": "x\n" }))), null);
  });
});
