// readEffectiveConfig with an overlay: the configuration kmod will see once
// planned files are written or removed, computed before touching them. apply
// and the overrides both ask it; the result must equal reading the tree after
// really writing the files.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { renderModprobeC } from "../../src/kmod/effective-config.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { ConfigReads, readEffectiveConfig } from "../../src/system/modprobe-config.ts";
import { enforcementChanged } from "../../src/decide/apply-plan.ts";

const VENDOR_JFS = "usr/lib/modprobe.d/60-blacklist_fs-jfs.conf";
const ADMIN_JFS = "etc/modprobe.d/60-blacklist_fs-jfs.conf";

test("an overlay shows what kmod will read after the writes, and equals reading the written tree", (t) => {
  const root = createFakeRoot({ files: { [VENDOR_JFS]: "# old comment\nblacklist jfs\n", "etc/modprobe.d/local.conf": "blacklist minix\n" } });
  t.after(() => root.cleanup());
  const rootFs = new RootFs(root.dir);
  const read = (overlay: ReadonlyMap<string, string | null> = new Map()) => readEffectiveConfig(rootFs, { behaviour: kmodBehaviour(), release: null, cmdline: false, overlay });
  const now = read();

  const cases: { title: string; overlay: Map<string, string | null>; changed: boolean }[] = [
    { title: "a new comment", overlay: new Map([[VENDOR_JFS, "# new comment\nblacklist jfs\n"]]), changed: false },
    { title: "a new install line", overlay: new Map([[VENDOR_JFS, "blacklist jfs\ninstall jfs /bin/false\n"]]), changed: true },
    { title: "a file of the same name in an earlier directory masks the vendor one", overlay: new Map([[ADMIN_JFS, "# keep\n"]]), changed: true },
    { title: "a removed file", overlay: new Map([[VENDOR_JFS, null]]), changed: true },
    { title: "removing a file that is not there", overlay: new Map([["etc/modprobe.d/none.conf", null]]), changed: false },
    { title: "a new file in a directory that does not exist yet", overlay: new Map([["run/modprobe.d/x.conf", "blacklist hfs\n"]]), changed: true },
  ];
  for (const { title, overlay, changed } of cases) {
    const planned = read(overlay);
    assert.equal(enforcementChanged(now, planned), changed, title);

    // The same files really written: kmod's view must be the same.
    const saved = new Map([...overlay.keys()].map((file) => [file, fs.existsSync(path.join(root.dir, file)) ? fs.readFileSync(path.join(root.dir, file), "utf8") : null]));
    const put = (file: string, text: string | null): void => {
      const full = path.join(root.dir, file);
      if (text === null) fs.rmSync(full, { force: true });
      else {
        fs.mkdirSync(path.dirname(full), { recursive: true });
        fs.writeFileSync(full, text);
      }
    };
    for (const [file, text] of overlay) put(file, text);
    assert.equal(renderModprobeC(planned), renderModprobeC(read()), title);
    assert.deepEqual(
      planned.files.map((f) => f.path),
      read().files.map((f) => f.path),
      title,
    );
    for (const [file, text] of saved) put(file, text);
  }
  assert.equal(renderModprobeC(read()), renderModprobeC(now), "the tree is as before");
});

test("with ConfigReads, reading the configuration again reads no file, lists no directory and parses no file again, overlays and problems as without", (t) => {
  const root = createFakeRoot({ files: { [VENDOR_JFS]: "blacklist jfs\n", "etc/modprobe.d/local.conf": "blacklist minix\n", "etc/modprobe.d/secret.conf": "blacklist hfs\n" } });
  t.after(() => root.cleanup());
  // A directory where kmod expects a file: a problem said on each read.
  fs.mkdirSync(path.join(root.dir, "etc/modprobe.d/dir.conf"));
  const rootFs = new RootFs(root.dir);
  const reads = new ConfigReads();
  const read = (overlay: ReadonlyMap<string, string | null> = new Map(), with_: ConfigReads | null = reads) =>
    readEffectiveConfig(rootFs, { behaviour: kmodBehaviour(), release: null, cmdline: false, overlay, ...(with_ === null ? {} : { reads: with_ }) });
  const first = read();
  assert.ok(first.diagnostics.length > 0, "the directory entry is named");
  assert.equal(reads.texts.get("etc/modprobe.d/local.conf"), "blacklist minix\n");
  assert.equal(reads.texts.get(VENDOR_JFS), "blacklist jfs\n");

  // Changed on disk after the first read: a second read with the same ConfigReads still sees the first texts and entries.
  fs.writeFileSync(path.join(root.dir, "etc/modprobe.d/local.conf"), "blacklist ufs\n");
  fs.writeFileSync(path.join(root.dir, "etc/modprobe.d/new.conf"), "blacklist bfs\n");
  const again = read();
  assert.equal(renderModprobeC(again), renderModprobeC(first));
  assert.ok(
    again.entries.every((entry, i) => entry === first.entries[i]),
    "each file parsed once",
  );
  assert.deepEqual(again.diagnostics, first.diagnostics);
  assert.notEqual(renderModprobeC(read(new Map(), null)), renderModprobeC(first), "without it, the new texts");

  // An overlay still wins over what was read, and is not kept.
  const planned = read(new Map([["etc/modprobe.d/local.conf", "blacklist cramfs\n"]]));
  assert.match(renderModprobeC(planned), /blacklist cramfs/);
  assert.doesNotMatch(renderModprobeC(planned), /blacklist minix/);
  assert.equal(reads.texts.get("etc/modprobe.d/local.conf"), "blacklist minix\n");
  assert.match(renderModprobeC(read()), /blacklist minix/);
});
