// depmod's .bin indexes are what kmod reads; the model reads them too and falls
// back to their text twins when one is missing or damaged. Through the bundled
// command: a root whose .bin files are garbage, truncated, empty or links out
// of the root gives the same status, explain and apply --dry-run as the same
// root without any .bin file. Under `npm test` two of the damages run
// (test/helpers/tier.ts); test:evidence runs every one.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { runInProcess } from "../helpers/cli.ts";
import { createFakeRoot, DEFAULT_RELEASE } from "../helpers/fake-root.ts";
import { SAMPLING } from "../helpers/tier.ts";

const BINS = ["modules.dep.bin", "modules.alias.bin", "modules.builtin.alias.bin"];
const COMMANDS = [
  ["status", "--json"],
  ["status", "nfs4", "vfat", "ext3", "iso9660", "--json"],
  ["explain", "--type", "minix", "--json"],
  ["explain", "--type", "ext3", "--json"],
  ["apply", "--dry-run", "--json"],
];

/** The same system: jfs loaded, an admin's block of vfat and an alias of its own. */
function system(): ReturnType<typeof createFakeRoot> {
  return createFakeRoot({
    loaded: ["jfs"],
    files: { "etc/modprobe.d/local.conf": "blacklist vfat\nalias fs-ext3 ext4\ninstall fat /bin/false\n" },
  });
}

async function outputs(root: string): Promise<string[]> {
  const texts: string[] = [];
  for (const args of COMMANDS) {
    const run = await runInProcess(["--root", root, ...args]);
    assert.equal(run.status, 0, `${args.join(" ")}: ${run.stderr}`);
    // A dry run's keeps say when they would be made.
    texts.push(run.stdout.replaceAll(root, "<root>").replace(/\d{4}-\d\d-\d\dT[\d:.]+Z/g, "<time>"));
  }
  return texts;
}

test("damaged .bin index files give the answers of the text files", async (t) => {
  const reference = system();
  t.after(() => reference.cleanup());
  const modules = (root: string): string => path.join(root, "lib/modules", DEFAULT_RELEASE);
  for (const bin of BINS) fs.rmSync(path.join(modules(reference.dir), bin));
  const expected = await outputs(reference.dir);
  assert.ok(expected[1]!.includes('"module": "nfs"') && expected[3]!.includes("ext4"), "the commands reach the index");

  // Another kernel's real index, whose answers differ (ext4 built in, no minix): read through the link, it would show.
  const outside = createFakeRoot({ kernel: "6.1.0-50-cloud-amd64" });
  t.after(() => outside.cleanup());
  const outsideModules = path.join(outside.dir, "lib/modules/6.1.0-50-cloud-amd64");
  const damages: [string, (file: string) => void][] = [
    ["random bytes", (file) => fs.writeFileSync(file, Buffer.from(Array.from({ length: 4096 }, (_, i) => (i * 7919 + 13) % 256)))],
    ["truncated after the header", (file) => fs.truncateSync(file, 40)],
    ["truncated in the middle", (file) => fs.truncateSync(file, Math.floor(fs.statSync(file).size / 2))],
    ["empty", (file) => fs.writeFileSync(file, "")],
    ["a directory", (file) => (fs.rmSync(file), fs.mkdirSync(file))],
    ["a link out of the root (to another kernel's real index)", (file) => (fs.rmSync(file), fs.symlinkSync(path.join(outsideModules, path.basename(file)), file))],
  ];
  // The sample: garbage, and a link out of the root.
  for (const [what, damage] of SAMPLING ? [damages[0]!, damages[5]!] : damages) {
    const root = system();
    try {
      for (const bin of BINS) damage(path.join(modules(root.dir), bin));
      assert.deepEqual(await outputs(root.dir), expected, what);
    } finally {
      root.cleanup();
    }
  }
});
