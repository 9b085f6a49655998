// kmod's modprobe.d rules, one readable case each: the expected `modprobe -c`
// text is written out here AND checked against the real modprobe, so the table
// documents the rules and cannot drift from kmod. (The differential test covers
// the combinations; this file says what each rule is.)

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import { runOracle, type OracleResult } from "../helpers/kmod-oracle.ts";
import { KMOD_30_DPKG_STATUS } from "../helpers/tree-generator.ts";
import { modelAt, removeTree, writeTree, type TreeNode } from "./trees.ts";

interface Rule {
  rule: string;
  files: Record<string, TreeNode>;
  /** `modprobe -c`'s configuration section (latin1 text). */
  expected: string;
  /** Problems kmod reports, as "file:line" or "file". */
  problems?: string[];
}

const E = "etc/modprobe.d";
const U = "lib/modprobe.d";

const RULES: Rule[] = [
  { rule: "'#' starts a comment only as the very first byte", files: { [`${E}/a.conf`]: "#blacklist a\n  # blacklist b\n\t#x\n" }, expected: "", problems: [`${E}/a.conf:2`, `${E}/a.conf:3`] },
  { rule: "CR is kept (CRLF files keep a CR in the last field)", files: { [`${E}/a.conf`]: "blacklist jfs\r\noptions jfs a=1\r\n" }, expected: "blacklist jfs\r\noptions jfs a=1\r\n" },
  {
    rule: "a backslash joins lines (numbered by the last one), escapes any other byte, and is dropped before a newline only",
    files: { [`${E}/a.conf`]: "blacklist \\\njfs\nbogus\\\n line\noptions m a=\\\\b\\ c\n" },
    expected: "blacklist jfs\noptions m a=\\b c\n",
    problems: [`${E}/a.conf:4`],
  },
  {
    rule: "'-' becomes '_' in module names and alias patterns, not inside [...] and not in values or commands",
    files: { [`${E}/a.conf`]: "alias fs-[a-z]-x snd-hda\noptions snd-hda model=a-b\ninstall usb-storage /sbin/modprobe --ignore-install usb-storage\n" },
    expected: "install usb_storage /sbin/modprobe --ignore-install usb-storage\nalias fs_[a-z]_x snd_hda\noptions snd_hda model=a-b\n",
  },
  {
    rule: "an unmatched bracket makes the line bad",
    files: { [`${E}/a.conf`]: "blacklist a]\nalias b[ x\noptions [c p=1\nblacklist [ok]\n" },
    expected: "blacklist [ok]\n",
    problems: [`${E}/a.conf:1`, `${E}/a.conf:2`, `${E}/a.conf:3`],
  },
  {
    rule: "spaces and tabs separate fields; options keep the text after one separator, with tabs made spaces",
    files: { [`${E}/a.conf`]: "options\tjfs\t\ta=1\tb=2 \nblacklist   jfs   trailing words\n" },
    expected: "blacklist jfs\noptions jfs  a=1 b=2 \n",
  },
  {
    rule: "softdep: words as kmod splits them, printed as 'pre: ...post: ...' spans of one buffer",
    files: { [`${E}/a.conf`]: "softdep m pre: a post: b pre: c\nsoftdep n post: x\nsoftdep o  pre: glued\nsoftdep p nothing here\n" },
    expected: "softdep m pre: a b cpost: b\nsoftdep n post: x\nsoftdep o \nsoftdep p \n",
  },
  { rule: "weakdep is not a command in kmod 30", files: { [`${E}/a.conf`]: "weakdep jfs crc32c\n" }, expected: "", problems: [`${E}/a.conf:1`] },
  { rule: "include and config are reported as deprecated (no line number)", files: { [`${E}/a.conf`]: "include /etc/other.conf\nconfig x\n" }, expected: "", problems: [`${E}/a.conf`, `${E}/a.conf`] },
  { rule: "a NUL byte ends the line", files: { [`${E}/a.conf`]: "blacklist jfs\0 ignored\nblacklist\0 jfs\n" }, expected: "blacklist jfs\n", problems: [`${E}/a.conf:2`] },
  {
    rule: "files are read in one sort by basename (bytes) across directories; the first directory wins a name",
    files: { [`${U}/b.conf`]: "blacklist b\n", [`${E}/c.conf`]: "blacklist c\n", [`${U}/a.conf`]: "blacklist a-lower\n", [`${E}/a.conf`]: "blacklist a\n", [`${U}/B.conf`]: "blacklist B\n" },
    expected: "blacklist B\nblacklist a\nblacklist b\nblacklist c\n",
  },
  {
    rule: "an empty file or a link to /dev/null masks the same name below",
    files: { [`${E}/a.conf`]: "", [`${U}/a.conf`]: "blacklist a\n", [`${E}/b.conf`]: { link: "/dev/null" }, [`${U}/b.conf`]: "blacklist b\n" },
    expected: "",
  },
  {
    rule: "only *.conf (and, in kmod up to 32, *.alias) non-hidden names are read; a directory named *.conf is reported",
    files: {
      [`${E}/.h.conf`]: "blacklist hidden\n",
      [`${E}/README`]: "blacklist readme\n",
      [`${E}/x.conf~`]: "blacklist backup\n",
      [`${E}/x.alias`]: "blacklist alias\n",
      [`${E}/d.conf`]: { dir: true },
    },
    expected: "blacklist alias\n",
    problems: [`${E}/d.conf`],
  },
  {
    rule: "a modprobe.d that is a file is read as one file named modprobe.d",
    files: { [E]: "blacklist single\n", [`${U}/modprobe.e.conf`]: "blacklist after\n", [`${U}/modprobd.conf`]: "blacklist before\n" },
    expected: "blacklist before\nblacklist single\nblacklist after\n",
  },
  {
    rule: "modules.softdep of the running release takes part in the sort by name",
    files: {
      "proc/sys/kernel/osrelease": "6.1.0-test\n",
      "lib/modules/6.1.0-test/modules.softdep": "softdep ext4 pre: crc32c\n",
      [`${E}/modules.conf`]: "softdep first pre: x\n",
      [`${E}/modules.z.conf`]: "softdep last pre: y\n",
    },
    expected: "softdep first pre: x\nsoftdep ext4 pre: crc32c\nsoftdep last pre: y\n",
  },
  {
    rule: "the kernel command line: modprobe.blacklist= verbatim, module.param=value as options, after the files",
    files: { "proc/cmdline": 'BOOT_IMAGE=/vmlinuz root=/dev/vda1 modprobe.blacklist=jfs,a-b usb-storage.delay_use=3 "m.p=a b" quiet\n', [`${E}/a.conf`]: "options usb-storage quirks=x\n" },
    expected: 'blacklist jfs\nblacklist a-b\noptions usb_storage quirks=x\noptions usb_storage delay_use=3\noptions m p="a b"\n',
  },
];

let oracle: OracleResult[] = [];
const roots = RULES.map((r) => writeTree({ "var/lib/dpkg/status": KMOD_30_DPKG_STATUS, ...r.files }));
before(async () => {
  oracle = await runOracle(roots, { parallel: 1 });
});
after(() => roots.forEach(removeTree));

describe("kmod 30's modprobe.d rules", () => {
  RULES.forEach((r, i) => {
    test(r.rule, () => {
      const root = roots[i]!;
      assert.equal(oracle[i]!.config.toString("latin1"), r.expected, "the real modprobe -c");
      const model = modelAt(root, 30);
      assert.equal(model.text, r.expected, "fsblacklist's model");
      const where = model.config.diagnostics
        .filter((d) => /^(ignoring bad line|command \S+ is deprecated|Directories inside)/.test(d.message))
        .map((d) => (d.line !== undefined ? `${d.file}:${d.line}` : d.file));
      assert.deepEqual(where, r.problems ?? []);
    });
  });
});
