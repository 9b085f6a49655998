// The JSON Schemas in schemas/ mean something: each is a valid draft 2020-12
// schema that the test hook (test/helpers/json-schemas.ts, run by runCli() and
// runInProcess() on every --json run) uses, and a document that breaks the
// contract in any of the ways a script would notice is refused.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { runInProcess } from "../helpers/cli.ts";
import { SCHEMA_DIR, assertJsonOutput, commandOf, jsonOutputProblems, schemaErrors, schemaValidators } from "../helpers/json-schemas.ts";

test("every schema is draft 2020-12 with its file name as $id, and every one but the shared definitions describes a document", () => {
  const files = fs.readdirSync(SCHEMA_DIR).filter((f) => f.endsWith(".schema.json"));
  assert.deepEqual(
    files.sort(),
    ["apply", "audit", "common", "error", "explain", "override", "showconfig", "status", "uninstall"].map((n) => `${n}.schema.json`),
  );
  for (const file of files) {
    const schema = JSON.parse(fs.readFileSync(`${SCHEMA_DIR}/${file}`, "utf8")) as Record<string, unknown>;
    assert.equal(schema["$schema"], "https://json-schema.org/draft/2020-12/schema", file);
    assert.equal(schema["$id"], file);
    if (file !== "common.schema.json") assert.equal(schema["type"], "object", `${file} describes one JSON object`);
  }
  assert.equal(schemaValidators().size, files.length, "all compile (ajv checks each against the draft's meta-schema)");
});

test("the command of an argv: options and their values before it are skipped", () => {
  assert.equal(commandOf(["--root", "/x", "--json", "--profile", "cis-l2", "apply", "--dry-run"]), "apply");
  assert.equal(commandOf(["--config", "c.yaml", "explain", "--type", "minix"]), "explain");
  assert.equal(commandOf(["--json"]), null);
});

test("a document that breaks its schema is refused: missing key, unknown key, wrong type, value outside an enum, a diff outside a dry run", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  const run = await runInProcess(["--root", root.dir, "--json", "apply"]);
  assert.equal(run.status, 0, run.stderr);
  const good = JSON.parse(run.stdout) as Record<string, unknown> & { actions: Record<string, unknown>[]; initramfs: Record<string, unknown> };
  assert.deepEqual(schemaErrors("apply", good), [], "the real document is valid");

  const { changed: _, ...missing } = good;
  const wrong: [string, unknown][] = [
    ["a required key missing", missing],
    ["an unknown key", { ...good, extra: 1 }],
    ["a wrong type", { ...good, changed: "yes" }],
    ["an action outside the enum", { ...good, actions: [{ ...good.actions[0], action: "delete" }] }],
    ["an unknown key in a closed nested object", { ...good, initramfs: { ...good.initramfs, rebuilt: true } }],
    ["a time that is no ISO time", { ...good, initramfsOwedSince: "yesterday" }],
    ["an owed rebuild with initramfsStale false", { ...good, initramfsStale: false, initramfsOwedSince: "2026-01-02T03:04:05.000Z" }],
    ["a diff outside a dry run", { ...good, actions: [{ ...good.actions[0], diff: "--- a\n+++ b\n" }] }],
    ["a dry run's change without its diff", { ...good, dryRun: true }],
  ];
  for (const [what, document] of wrong) assert.notDeepEqual(schemaErrors("apply", document), [], what);
  assert.notDeepEqual(schemaErrors("status", { kernel: null, notes: [], filesystems: [{ name: "jfs", state: "gone" }] }), []);
  assert.notDeepEqual(schemaErrors("explain", { ...JSON.parse((await runInProcess(["--root", root.dir, "--json", "explain", "--type", "jfs"])).stdout), cause: "mystery" }), []);
});

test("the hook refuses what is not one valid document for the run: no JSON, the wrong exit code in the error, an error beside a success", () => {
  const error = { error: { message: "the change was refused; nothing was written", hint: null, exitCode: 1 } };
  const args = ["--root", "/r", "--json", "allow", "jfs"];
  assert.deepEqual(jsonOutputProblems(args, JSON.stringify(error), 1), []);
  assert.match(jsonOutputProblems(args, "", 1).join("\n"), /stdout is not one JSON document/);
  assert.match(jsonOutputProblems(args, JSON.stringify(error), 2).join("\n"), /error\.exitCode is 1, the run exited 2/);
  assert.match(jsonOutputProblems(args, JSON.stringify(error), 0).join("\n"), /an error document from a run that exited 0/);
  assert.match(jsonOutputProblems(args, JSON.stringify({ error: { message: "x", exitCode: 1 } }), 1).join("\n"), /must have required property 'hint'/);
  // What the run knew, beside the error, follows the command's own schema.
  assert.match(
    jsonOutputProblems(args, JSON.stringify({ ...error, changed: false, dryRun: false, actions: [{ action: "refused" }], initramfsStale: false }), 1).join("\n"),
    /override\.schema\.json: \/actions\/0 must have required property 'path'/,
  );
  assert.match(jsonOutputProblems(["--json", "apply"], JSON.stringify({ changed: true }), 1).join("\n"), /exit 1 with a document that is not the error document/);
  assert.throws(() => assertJsonOutput(args, "{}", 0), /its --json output breaks its schema/);
  assert.deepEqual(jsonOutputProblems(["allow", "jfs"], "not JSON: no --json", 0), [], "only --json runs are checked");
});
