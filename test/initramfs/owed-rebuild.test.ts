// The rebuild a change of the blacklist owes the initramfs is kept in the state
// file (initramfsOwedSince) until a rebuild is run or seen, so that a run that
// dies before its initramfs handler (an Ansible play, a package transaction) is
// followed by runs that still say the initramfs is stale. Seen: an image under
// boot/ written after the change, or one whose modprobe.d carries what the root
// enforces. Through the command, on fake roots, in report mode (the default).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { runInProcess } from "../helpers/cli.ts";
import { imageFromRoot } from "../helpers/initramfs-image.ts";
import { STATE, apply, applyJson } from "../apply/helpers.ts";
import { uninstallJson } from "../uninstall/helpers.ts";
import { parseState, renderState } from "../../src/system/state-file.ts";

const RELEASE = "6.1.0-50-amd64";
const IMAGE = `boot/initrd.img-${RELEASE}`;

function owedInState(root: string): string | null {
  return parseState(fs.readFileSync(path.join(root, STATE), "utf8")).initramfsOwedSince;
}

async function status(root: string): Promise<{ json: { initramfsOwedSince: string | null }; text: string }> {
  const json = await runInProcess(["--root", root, "status", "--json"]);
  assert.equal(json.status, 0, json.stderr);
  const text = await runInProcess(["--root", root, "status"]);
  assert.equal(text.status, 0, text.stderr);
  return { json: JSON.parse(json.stdout) as { initramfsOwedSince: string | null }, text: text.stdout };
}

/** Sets an image's modification time relative to an ISO time. */
function touch(root: string, file: string, at: string, offsetMs: number): void {
  const when = new Date(Date.parse(at) + offsetMs);
  fs.utimesSync(path.join(root, file), when, when);
}

test("a rebuild the first apply owes is still owed by the next runs until an image written after the change is seen", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  const first = (await applyJson(root.dir)).json;
  assert.equal(first.initramfsStale, true);
  const since = first.initramfsOwedSince;
  assert.ok(since !== null && !Number.isNaN(Date.parse(since)), `owed since the change: ${since}`);
  assert.equal(owedInState(root.dir), since, "recorded in the state file");

  // The play died before its handler: the next run still says so, and changes nothing.
  const second = (await applyJson(root.dir)).json;
  assert.deepEqual([second.changed, second.initramfsStale, second.initramfsOwedSince, second.initramfs.owedSince], [false, true, since, since]);
  const text = (await apply(root.dir)).stdout;
  assert.match(text, /^If this system boots with an initramfs, rebuild it: it still carries the previous blacklist\.$/m);
  assert.ok(text.includes(`A rebuild of the initramfs is owed since ${since} (the state file keeps it until one is run or seen).`), text);
  let shown = await status(root.dir);
  assert.equal(shown.json.initramfsOwedSince, since);
  assert.match(shown.text, new RegExp(`^Initramfs:\\n(?:.*\\n)*  A rebuild of the initramfs is owed since ${since.replaceAll(".", "\\.")}`, "m"));

  // An image that cannot be read and was written before the change shows no rebuild.
  fs.mkdirSync(path.join(root.dir, "boot"), { recursive: true });
  fs.writeFileSync(path.join(root.dir, IMAGE), "not an initramfs\n");
  touch(root.dir, IMAGE, since, -60_000);
  assert.deepEqual([(await applyJson(root.dir)).json.initramfsStale, (await applyJson(root.dir)).json.initramfsOwedSince], [true, since]);
  assert.equal((await status(root.dir)).json.initramfsOwedSince, since);

  // Written after the change (update-initramfs ran by hand, or the handler did): the rebuild was done.
  touch(root.dir, IMAGE, since, 60_000);
  const seen = (await applyJson(root.dir)).json;
  assert.deepEqual([seen.changed, seen.initramfsStale, seen.initramfsOwedSince], [false, false, null]);
  shown = await status(root.dir);
  assert.equal(shown.json.initramfsOwedSince, null);
  assert.doesNotMatch(shown.text, /owed/);
});

test("an image older than the change whose modprobe.d carries what the root enforces clears the owed rebuild; a newer one that does not leaves it stale", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  const since = (await applyJson(root.dir)).json.initramfsOwedSince!;
  imageFromRoot(root.dir, RELEASE, { compression: "gzip" });
  touch(root.dir, IMAGE, since, -3_600_000);
  const compared = (await applyJson(root.dir)).json;
  assert.deepEqual([compared.initramfsStale, compared.initramfsOwedSince], [false, null], "the image is current by comparison");
  assert.equal((await status(root.dir)).json.initramfsOwedSince, null);

  // allow changes what kmod enforces: owed from then on, and the image, though newer, is stale by comparison.
  const allowed = await runInProcess(["--root", root.dir, "--json", "allow", "hfs"]);
  assert.equal(allowed.status, 0, allowed.stderr);
  const owed = owedInState(root.dir);
  assert.ok(owed !== null && owed > since, `the allow owes a rebuild since ${owed}`);
  touch(root.dir, IMAGE, owed, 60_000);
  const after = (await applyJson(root.dir)).json;
  assert.deepEqual([after.changed, after.initramfsStale, after.initramfsOwedSince], [false, true, owed]);
  assert.equal((await status(root.dir)).json.initramfsOwedSince, owed);

  imageFromRoot(root.dir, RELEASE, { compression: "gzip" });
  assert.deepEqual([(await applyJson(root.dir)).json.initramfsStale, (await status(root.dir)).json.initramfsOwedSince], [false, null]);
});

test("allow, block, reset and uninstall record the rebuild they owe; the next apply says it is owed", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  assert.equal((await apply(root.dir)).status, 0);
  // The first apply's rebuild was done: an image written after it (and before each change below).
  fs.mkdirSync(path.join(root.dir, "boot"), { recursive: true });
  fs.writeFileSync(path.join(root.dir, IMAGE), "an image this test does not read\n");
  touch(root.dir, IMAGE, owedInState(root.dir)!, 1);
  assert.equal((await applyJson(root.dir)).json.initramfsStale, false);

  for (const args of [
    ["allow", "jfs"],
    ["block", "jfs"],
    // reset after block changes nothing kmod enforces (the override is the vendor's fragment): after allow it does.
    ["allow", "ufs"],
    ["reset", "ufs"],
  ]) {
    const before = Date.now();
    const changed = await runInProcess(["--root", root.dir, "--json", ...args]);
    assert.equal(changed.status, 0, changed.stderr);
    const doc = JSON.parse(changed.stdout) as { initramfsStale: boolean; initramfs: { owedSince: string | null } };
    const owed = owedInState(root.dir);
    assert.ok(owed !== null && Date.parse(owed) >= before - 1000, `${args.join(" ")} records the rebuild it owes`);
    assert.deepEqual([doc.initramfsStale, doc.initramfs.owedSince], [true, owed]);
    const next = (await applyJson(root.dir)).json;
    assert.deepEqual([next.changed, next.initramfsStale, next.initramfsOwedSince], [false, true, owed], `after ${args.join(" ")}`);
    touch(root.dir, IMAGE, owed, 1);
    assert.equal((await applyJson(root.dir)).json.initramfsStale, false, "seen rebuilt");
  }

  const removed = await uninstallJson(root.dir);
  assert.deepEqual([removed.blacklistChanged, removed.initramfsStale], [true, true]);
  const owed = owedInState(root.dir);
  assert.ok(owed !== null && removed.initramfsOwedSince === owed);
  assert.deepEqual([(await uninstallJson(root.dir)).initramfsStale, (await status(root.dir)).json.initramfsOwedSince], [true, owed], "still owed after the uninstall");
});

test("state files without the field keep working: an older version's pending rebuild is owed since its last apply", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  assert.equal((await apply(root.dir)).status, 0);
  const state = parseState(fs.readFileSync(path.join(root.dir, STATE), "utf8"));
  const older = (fields: Record<string, unknown>): void => {
    const { initramfsOwedSince: _, ...rest } = JSON.parse(renderState(state)) as Record<string, unknown>;
    fs.writeFileSync(path.join(root.dir, STATE), JSON.stringify({ ...rest, ...fields }));
  };
  older({ initramfsPending: false });
  const quiet = (await applyJson(root.dir)).json;
  assert.deepEqual([quiet.changed, quiet.initramfsStale, quiet.initramfsOwedSince], [false, false, null]);

  older({ initramfsPending: true });
  const pending = (await applyJson(root.dir)).json;
  assert.deepEqual([pending.initramfsStale, pending.initramfsOwedSince], [true, state.appliedAt]);

  // An older version's file without the format key, with its keys only.
  const { format: _f, initramfsOwedSince: _o, profile: _p, ...keys } = JSON.parse(renderState({ ...state, initramfsPending: false })) as Record<string, unknown>;
  fs.writeFileSync(path.join(root.dir, STATE), JSON.stringify(keys));
  assert.deepEqual([(await applyJson(root.dir)).json.initramfsStale, (await status(root.dir)).json.initramfsOwedSince], [false, null]);
});
