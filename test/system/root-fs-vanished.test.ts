// RootFs remembers directories it has seen to be real. Another run
// (`uninstall --purge` removes var/lib/fsblacklist) or an administrator's
// `rm -rf` may remove one while a run goes on: from then on RootFs must behave
// as if it had never seen the directory, not fail with ENOENT or ENOTDIR.

import { test, type TestContext } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { RootFs } from "../../src/system/root-fs.ts";
import { RuntimeFailure } from "../../src/errors.ts";

const DIR = "var/lib/fsblacklist";
const FILE = `${DIR}/state.json`;

/** A root with var/lib/fsblacklist/state.json, and a RootFs that has seen every directory on the way. */
function seenRoot(t: TestContext): { root: string; rootFs: RootFs } {
  const root = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-vanished-"));
  t.after(() => fs.rmSync(root, { recursive: true, force: true }));
  fs.mkdirSync(path.join(root, DIR), { recursive: true });
  fs.writeFileSync(path.join(root, FILE), "{}\n");
  const rootFs = new RootFs(root);
  assert.deepEqual(
    rootFs.listDir(DIR)?.map((e) => e.name),
    ["state.json"],
  );
  assert.equal(rootFs.readText(FILE), "{}\n");
  assert.equal(rootFs.resolve(DIR).kind, "directory");
  return { root, rootFs };
}

for (const removed of [DIR, "var/lib", "var"]) {
  test(`${removed} removed from outside: list, read, create and write as if never seen`, async (t) => {
    const { root, rootFs } = seenRoot(t);
    fs.rmSync(path.join(root, removed), { recursive: true });

    assert.equal(rootFs.listDir(DIR), null);
    assert.equal(rootFs.readText(FILE), null);
    assert.equal(rootFs.readBytes(FILE), null);
    assert.equal(rootFs.exists(FILE), false);
    assert.equal(await rootFs.removeFile(FILE), false);
    assert.equal(await rootFs.removeEmptyDir(DIR), false);

    await rootFs.writeFileAtomic(FILE, "new\n");
    assert.equal(fs.readFileSync(path.join(root, FILE), "utf8"), "new\n", "the parents were created again");
    assert.deepEqual(
      rootFs.listDir(DIR)?.map((e) => e.name),
      ["state.json"],
    );

    fs.rmSync(path.join(root, removed), { recursive: true });
    assert.equal(rootFs.mkdirp(DIR), path.join(root, DIR));
    assert.ok(fs.statSync(path.join(root, DIR)).isDirectory(), "mkdirp created it again");
    assert.deepEqual(rootFs.listDir(DIR), []);
  });
}

test("a seen directory replaced by a file: not a directory, as for a never-seen path", async (t) => {
  const { root, rootFs } = seenRoot(t);
  fs.rmSync(path.join(root, DIR), { recursive: true });
  fs.writeFileSync(path.join(root, DIR), "a file now\n");

  assert.equal(rootFs.listDir(DIR), null);
  assert.equal(rootFs.readText(FILE), null);
  assert.equal(await rootFs.removeFile(FILE), false);
  assert.throws(
    () => rootFs.mkdirp(DIR),
    (error) => error instanceof RuntimeFailure && /var\/lib\/fsblacklist exists and is not a directory/.test(error.message),
  );
  await assert.rejects(rootFs.writeFileAtomic(FILE, "x"), (error) => error instanceof RuntimeFailure && /exists and is not a directory/.test(error.message));
  assert.equal(await rootFs.removeEmptyDir(DIR), false);
  assert.equal(fs.readFileSync(path.join(root, DIR), "utf8"), "a file now\n", "the file stays");
});

test("a seen directory removed and made again by someone else is used as it is", async (t) => {
  const { root, rootFs } = seenRoot(t);
  fs.rmSync(path.join(root, DIR), { recursive: true });
  fs.mkdirSync(path.join(root, DIR));
  fs.writeFileSync(path.join(root, `${DIR}/other`), "theirs\n");

  assert.deepEqual(
    rootFs.listDir(DIR)?.map((e) => e.name),
    ["other"],
  );
  await rootFs.writeFileAtomic(FILE, "mine\n");
  assert.deepEqual(fs.readdirSync(path.join(root, DIR)).sort(), ["other", "state.json"]);
});

test("removeEmptyDir: removes an empty directory, refuses a non-empty one, leaves links and files, stays inside the root", async (t) => {
  const { root, rootFs } = seenRoot(t);
  const host = (rel: string): string => path.join(root, rel);

  await assert.rejects(rootFs.removeEmptyDir(DIR), (error: NodeJS.ErrnoException) => error.code === "ENOTEMPTY");
  assert.equal(fs.readFileSync(host(FILE), "utf8"), "{}\n", "nothing in it was touched");

  fs.rmSync(host(FILE));
  assert.equal(await rootFs.removeEmptyDir(DIR), true);
  assert.equal(fs.existsSync(host(DIR)), false);
  assert.equal(rootFs.listDir(DIR), null, "known to be gone");
  assert.equal(await rootFs.removeEmptyDir(DIR), false, "missing is fine");
  await rootFs.writeFileAtomic(FILE, "again\n");
  assert.equal(fs.readFileSync(host(FILE), "utf8"), "again\n");

  // A link is not the directory it points at; a file is no directory.
  fs.mkdirSync(host("var/empty"));
  fs.symlinkSync("empty", host("var/link"));
  fs.writeFileSync(host("var/file"), "");
  assert.equal(await rootFs.removeEmptyDir("var/link"), false);
  assert.equal(await rootFs.removeEmptyDir("var/file"), false);
  assert.ok(fs.lstatSync(host("var/link")).isSymbolicLink());
  assert.ok(fs.statSync(host("var/empty")).isDirectory());

  // Through a link that climbs above the root: resolved inside it, as in a chroot.
  const outside = fs.mkdtempSync(path.join(os.tmpdir(), "fsb-outside-"));
  t.after(() => fs.rmSync(outside, { recursive: true, force: true }));
  fs.mkdirSync(path.join(outside, "victim"));
  fs.symlinkSync(`${"../".repeat(12)}${outside.slice(1)}`, host("var/up"));
  fs.mkdirSync(host(outside), { recursive: true });
  fs.mkdirSync(path.join(host(outside), "victim"));
  assert.equal(await rootFs.removeEmptyDir("var/up/victim"), true);
  assert.ok(fs.statSync(path.join(outside, "victim")).isDirectory(), "the directory outside the root stays");
  assert.equal(fs.existsSync(path.join(host(outside), "victim")), false, "the one inside the root went");
});
