import { test } from "node:test";
import assert from "node:assert/strict";
import { readFileSync } from "node:fs";
import { runCli } from "../helpers/cli.ts";
import { VERSION } from "../../src/version.ts";

test("--version prints the package version", () => {
  const pkg = JSON.parse(readFileSync(new URL("../../package.json", import.meta.url), "utf8")) as { version: string };
  assert.equal(VERSION, pkg.version);
  const result = runCli(["--version"]);
  assert.equal(result.status, 0);
  assert.equal(result.stdout.trim(), pkg.version);
});

test("an unknown command is a usage error (exit 2)", () => {
  const result = runCli(["frobnicate"]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /unknown command 'frobnicate'/);
  assert.equal(result.stdout, "");
});

test("a --root that does not exist is a usage error naming it", () => {
  const result = runCli(["showconfig", "--root", "/nonexistent/fsblacklist-root"]);
  assert.equal(result.status, 2);
  assert.match(result.stderr, /--root \/nonexistent\/fsblacklist-root: no such directory/);
});
