// The build records the shipped policy as validated (dist/validated-policy.json)
// and loadPolicy uses the record only for files identical to the recorded ones.
// These tests hold the shortcut to the full validation: same result for the same
// bytes, the full validation (and its errors) for anything else.

import { test } from "node:test";
import assert from "node:assert/strict";
import { appendFileSync, cpSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { describeValidPolicy, loadPolicy, shippedPolicyDir, VALIDATED_POLICY_FILE, type Policy } from "../../src/policy/policy.ts";
import { makeScratchDir } from "../helpers/tree-generator.ts";

const SHIPPED = shippedPolicyDir();
const recorded = describeValidPolicy(SHIPPED);
const FRAGMENT = "60-blacklist_fs-jfs.conf";

/** loadPolicy with the record and without it: the same policy, or the same error. */
function assertSameAsFullValidation(dir: string): Policy | Error {
  const outcome = (run: () => Policy): Policy | Error => {
    try {
      return run();
    } catch (error) {
      return error as Error;
    }
  };
  const withRecord = outcome(() => loadPolicy(dir, recorded));
  const without = outcome(() => loadPolicy(dir, null));
  assert.deepEqual(withRecord, without);
  if (withRecord instanceof Error) assert.equal(withRecord.message, (without as Error).message);
  return withRecord;
}

function copyOfShipped(t: { after(fn: () => void): void }): string {
  const scratch = makeScratchDir("fsb-validated-policy-");
  t.after(() => rmSync(scratch, { recursive: true, force: true }));
  const dir = path.join(scratch, "blacklist.d");
  cpSync(SHIPPED, dir, { recursive: true });
  return dir;
}

test("the record gives the shipped policy exactly as validating it does, wherever the directory is", (t) => {
  const shipped = assertSameAsFullValidation(SHIPPED) as Policy;
  assert.ok(shipped.entries.length > 20);
  const copy = assertSameAsFullValidation(copyOfShipped(t)) as Policy;
  assert.equal(copy.entries[0]!.file, path.join(copy.dir, path.basename(shipped.entries[0]!.file)));
});

test("a changed byte, an extra, missing or renamed file, a link or a directory in place of a file: validated as always", (t) => {
  const changes: [string, "valid" | "invalid", (dir: string) => void][] = [
    ["a changed reason", "valid", (dir) => writeFileSync(path.join(dir, FRAGMENT), readFileSync(path.join(dir, FRAGMENT), "utf8").replace("# reason: ", "# reason: Also "))],
    ["an invalid install line", "invalid", (dir) => appendFileSync(path.join(dir, FRAGMENT), "install jfs /bin/true; rm -rf /\n")],
    ["a blank line at the end", "valid", (dir) => appendFileSync(path.join(dir, FRAGMENT), "\n")],
    ["a byte that is not UTF-8", "invalid", (dir) => appendFileSync(path.join(dir, FRAGMENT), Buffer.from([0xff]))],
    [
      "policy.json with an older version than the fragments' since",
      "invalid",
      (dir) => writeFileSync(path.join(dir, "policy.json"), readFileSync(path.join(dir, "policy.json"), "utf8").replace(/"version": "[^"]*"/, '"version": "0.9.0"')),
    ],
    ["an extra file", "invalid", (dir) => writeFileSync(path.join(dir, "README"), "hello\n")],
    ["a fragment less", "valid", (dir) => rmSync(path.join(dir, FRAGMENT))],
    ["a missing policy.json", "invalid", (dir) => rmSync(path.join(dir, "policy.json"))],
    ["a renamed fragment", "invalid", (dir) => renameSync(path.join(dir, FRAGMENT), path.join(dir, "60-blacklist_fs-jfs2.conf"))],
    [
      "a fragment that is a link to the same bytes",
      "invalid",
      (dir) => {
        renameSync(path.join(dir, FRAGMENT), path.join(dir, "..", FRAGMENT));
        symlinkSync(path.join(dir, "..", FRAGMENT), path.join(dir, FRAGMENT));
      },
    ],
    [
      "a fragment that is a directory",
      "invalid",
      (dir) => {
        rmSync(path.join(dir, FRAGMENT));
        mkdirSync(path.join(dir, FRAGMENT));
      },
    ],
  ];
  for (const [what, validity, change] of changes) {
    const dir = copyOfShipped(t);
    change(dir);
    const outcome = assertSameAsFullValidation(dir);
    assert.equal(outcome instanceof Error ? "invalid" : "valid", validity, what);
  }
});

test("the record the build wrote beside the bundle is the shipped policy's", () => {
  const written = fileURLToPath(new URL(`../../dist/${VALIDATED_POLICY_FILE}`, import.meta.url));
  assert.ok(existsSync(written), "npm run build writes it");
  assert.deepEqual(JSON.parse(readFileSync(written, "utf8")), recorded);
});
