// The JSON Schemas of schemas/ against what the command prints: every run of the
// command through runCli() (and the evidence helpers) with --json has its
// stdout parsed and validated against the schema of that command, so a test
// fails when a document drifts from its schema. A failed run's document is the
// error schema's, and the keys beside `error` (what the run knew) follow the
// command's schema. The validators are compiled once for all test processes
// (compiled(), below).

import * as fs from "node:fs";
import * as path from "node:path";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import { createHash } from "node:crypto";
import type { ValidateFunction } from "ajv/dist/2020.js";
import { jsonRequested } from "../../src/report/output.ts";

export const SCHEMA_DIR = fileURLToPath(new URL("../../schemas/", import.meta.url));

/** The schema file (without .schema.json) of each command that prints a --json document. */
const SCHEMA_OF: Record<string, string> = {
  status: "status",
  showconfig: "showconfig",
  explain: "explain",
  apply: "apply",
  allow: "override",
  block: "override",
  reset: "override",
  uninstall: "uninstall",
  audit: "audit",
};

/** Options before the command (and the command's own) that take a value as the next argument. */
const TAKES_VALUE = new Set(["--root", "--config", "--profile", "--kernel", "--type", "--message", "--benchmark"]);

/** How the schemas are compiled: strict about keywords (a misspelt one would check nothing); types and required in if/then branches are meant. */
const AJV_OPTIONS = { allErrors: true, strict: true, strictTypes: false, strictRequired: false } as const;
/** Where compiled validators are kept between test processes (beside tsc's incremental state). */
const CACHE_DIR = fileURLToPath(new URL("../../node_modules/.cache/fsblacklist/", import.meta.url));

let validators: Record<string, ValidateFunction> | null = null;

/**
 * Every schema of schemas/ as a validator, by name. Compiling them (Ajv, the
 * draft's meta-schema, each schema) took ~0.2 s of every test process that ran
 * the command with --json, so the first process compiles them into one module
 * of code (Ajv's standalone code: the same validators) kept under
 * node_modules/.cache, named by a hash of the schemas, Ajv's version and its
 * options; the others load that. Loaded on first use: most test processes never
 * run the command with --json.
 */
function compiled(): Record<string, ValidateFunction> {
  if (validators !== null) return validators;
  const require = createRequire(import.meta.url);
  const files = fs
    .readdirSync(SCHEMA_DIR)
    .filter((file) => file.endsWith(".schema.json"))
    .sort();
  const texts = files.map((file) => fs.readFileSync(path.join(SCHEMA_DIR, file), "utf8"));
  const ajvVersion = (require("ajv/package.json") as { version: string }).version;
  const key = createHash("sha256")
    .update(JSON.stringify([ajvVersion, AJV_OPTIONS, files, texts]))
    .digest("hex")
    .slice(0, 16);
  const module = path.join(CACHE_DIR, `json-schemas-${key}.cjs`);
  if (!fs.existsSync(module)) {
    const { Ajv2020: Ajv } = require("ajv/dist/2020.js") as typeof import("ajv/dist/2020.js");
    const standaloneCode = (require("ajv/dist/standalone/index.js") as typeof import("ajv/dist/standalone/index.js")).default;
    const ajv = new Ajv({ ...AJV_OPTIONS, code: { source: true } });
    // Each schema is checked against the draft's meta-schema as it is added.
    for (const text of texts) ajv.addSchema(JSON.parse(text) as object);
    const code = standaloneCode(ajv, Object.fromEntries(files.map((file) => [file.slice(0, -".schema.json".length), file])));
    // Written whole under another name first: test processes run side by side.
    fs.mkdirSync(CACHE_DIR, { recursive: true });
    const partial = `${module}.${process.pid}`;
    fs.writeFileSync(partial, code);
    fs.renameSync(partial, module);
  }
  validators = require(module) as Record<string, ValidateFunction>;
  return validators;
}

/** The validator of one schema (apply, error, ...), or undefined when schemas/ has no such file. */
function validatorOf(name: string): ValidateFunction | undefined {
  return Object.hasOwn(compiled(), name) ? compiled()[name] : undefined;
}

/** Every schema of schemas/, compiled: name (apply, error, ...) -> validator. */
export function schemaValidators(): Map<string, ValidateFunction> {
  const names = fs
    .readdirSync(SCHEMA_DIR)
    .filter((file) => file.endsWith(".schema.json"))
    .sort()
    .map((file) => file.slice(0, -".schema.json".length));
  return new Map(names.map((name) => [name, validatorOf(name)!]));
}

/** The command an argv runs (the first argument that is no option nor an option's value), or null. */
export function commandOf(args: readonly string[]): string | null {
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") return args[i + 1] ?? null;
    if (TAKES_VALUE.has(arg)) i++;
    else if (!arg.startsWith("-")) return arg;
  }
  return null;
}

/** The schema errors of one document, as lines; empty when it is valid. */
export function schemaErrors(schema: string, document: unknown): string[] {
  const validate = validatorOf(schema);
  if (validate === undefined) throw new Error(`no schema ${schema}.schema.json in ${SCHEMA_DIR}`);
  if (validate(document)) return [];
  return (validate.errors ?? []).map((e) => `${schema}.schema.json: ${e.instancePath || "/"} ${e.message ?? "is invalid"}${e.params ? ` ${JSON.stringify(e.params)}` : ""}`);
}

/**
 * What is wrong with a --json run's stdout against the schemas; empty when it
 * is right or the run is none to check (no --json, help or version, no JSON
 * command, a run ended by a signal).
 */
export function jsonOutputProblems(args: readonly string[], stdout: string, status: number | null): string[] {
  if (!jsonRequested(args) || status === null || status < 0) return [];
  const end = args.indexOf("--");
  const options = end < 0 ? args : args.slice(0, end);
  if (options.some((a) => a === "--help" || a === "-h" || a === "--version" || a === "-V")) return [];
  const command = commandOf(args);
  const schema = command === null ? null : (SCHEMA_OF[command] ?? null);
  let document: unknown;
  try {
    document = JSON.parse(stdout);
  } catch (error) {
    // A usage error before any command (or for an unknown one) is the error document too.
    return [`stdout is not one JSON document (${error instanceof Error ? error.message : String(error)}): ${JSON.stringify(stdout.slice(0, 200))}`];
  }
  if (typeof document === "object" && document !== null && !Array.isArray(document) && "error" in document) {
    const problems = schemaErrors("error", document);
    const { error, ...known } = document as { error: { exitCode?: unknown } };
    if (error?.exitCode !== status) problems.push(`error.exitCode is ${JSON.stringify(error?.exitCode)}, the run exited ${status}`);
    if (status === 0) problems.push("an error document from a run that exited 0");
    if (schema !== null && Object.keys(known).length > 0) problems.push(...schemaErrors(schema, known));
    return problems;
  }
  if (schema === null) return [`${command ?? "no command"} printed a document under --json that is not an error: no schema for it`];
  // audit's verdict (exit 1 for a failing rule) is its own document, not an error.
  if (status !== 0 && command !== "audit") return [`exit ${status} with a document that is not the error document`];
  return schemaErrors(schema, document);
}

/** Throws when a --json run's stdout does not follow its schema: the test that ran it fails. */
export function assertJsonOutput(args: readonly string[], stdout: string, status: number | null): void {
  const problems = jsonOutputProblems(args, stdout, status);
  if (problems.length > 0) {
    throw new Error(`fsblacklist ${args.map((a) => JSON.stringify(a)).join(" ")} (exit ${status}): its --json output breaks its schema:\n  ${problems.join("\n  ")}`);
  }
}
