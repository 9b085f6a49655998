// Our fnmatch against kmod's own use of glibc fnmatch: config `alias` patterns
// looked up with the real `modprobe -R` (every matching alias line is printed).

import { test } from "node:test";
import assert from "node:assert/strict";
import { fnmatch } from "../../src/kmod/fnmatch.ts";
import { parseConfigText, underscores } from "../../src/kmod/parse-config.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { canRunOracle, runModprobe } from "./modprobe-oracle.ts";

const PATTERNS = [
  "fs-ext4",
  "fs-*",
  "fs-ext?",
  "fs-ext[234]",
  "fs-ext[!4]",
  "fs-ext[^4]",
  "fs-[a-f]*",
  "fs-[[:digit:]]*",
  "*fs",
  "fs-*-*",
  "fs*ext*",
  "fs-\\*",
  "fs-[*]",
  "fs-[]]x",
  "fs-[!]]x",
  "fs-[a-]x",
  "fs-[-a]x",
  "[[:alpha:]][[:alpha:]]-*",
  "*",
  "?",
  "fs-ext[2-4",
  "fs-[[:upper:]]*",
  "fs-[[:alnum:]_]*",
  "fs-ntfs[0-9]",
  "fs-nfs[4]",
  "*[0-9]",
  "fs-\\[x",
  "fs-a\\b",
  "cpu:type:x86,ven*fam*mod*:feature:*0094*",
  "fs-**x",
  "fs-x*y*z",
  "f[s]-j[a-z]s",
  // A backslash in a modprobe.d file escapes the next character for the line reader
  // already; a doubled one reaches fnmatch.
  "fs-\\\\*",
  "fs-\\\\[x",
  "fs-[\\\\]]x",
];
const TEXTS = [
  "fs-ext4",
  "fs-ext3",
  "fs-ext2",
  "fs-ext",
  "fs-ext44",
  "fs-ntfs3",
  "fs-ntfs",
  "fs-9p",
  "fs-jfs",
  "fs-vfat",
  "fs-a-b",
  "fs-*",
  "fs-x",
  "fs-]x",
  "fs-ax",
  "fs-_x",
  "fs-bx",
  "xfs",
  "fs",
  "f",
  "fs-ext2-4",
  "fs-Z",
  "fs-[x",
  "fs-ab",
  "cpu:type:x86,ven0000fam0006mod003f:feature:,0094,00c2",
  "fs-xyz",
  "fs-x_y_z",
  "fs-nfs4",
  "fs-",
];

test("glibc fnmatch semantics, as kmod matches alias patterns", { skip: canRunOracle() ? false : "needs root, unshare and modprobe" }, () => {
  const config = PATTERNS.map((p, i) => `alias ${p} target${i}`).join("\n") + "\n";
  const root = createFakeRoot({ kernel: null, files: { "etc/modprobe.d/patterns.conf": config } });
  try {
    const [runs] = runModprobe([{ root: root.dir, release: "no-such-release", mode: "lookup", requests: TEXTS }]);
    let matches = 0;
    const aliases = parseConfigText(config, "patterns.conf", kmodBehaviour(30)).entries.flatMap((e) => (e.kind === "alias" ? [e] : []));
    assert.ok(aliases.length > 20);
    for (const run of runs!) {
      // kmod refuses a request with an unmatched bracket before any lookup.
      const text = underscores(run.request);
      const ours = text === null ? [] : aliases.filter((a) => fnmatch(a.pattern, text)).map((a) => a.module);
      const theirs = run.status === 0 ? run.stdout.split("\n").filter(Boolean) : [];
      assert.deepEqual(ours, theirs, `${run.request}: ${run.stderr}`);
      matches += theirs.length;
    }
    assert.ok(matches > 60, `only ${matches} matches`);
  } finally {
    root.cleanup();
  }
});

test("fnmatch without the oracle: the cases kmod relies on", () => {
  assert.equal(fnmatch("fs_ext[234]", "fs_ext3"), true);
  assert.equal(fnmatch("fs_ext[!234]", "fs_ext3"), false);
  assert.equal(fnmatch("*", ".hidden/x"), true);
  assert.equal(fnmatch("fs_\\*", "fs_*"), true);
  assert.equal(fnmatch("fs_\\*", "fs_x"), false);
  assert.equal(fnmatch("fs_[", "fs_["), true);
  assert.equal(fnmatch("cpu:type:x86,ven*fam*mod*:feature:*0094*", "cpu:type:x86,ven0000fam0006mod003f:feature:,0094,00c2"), true);
});
