// Entry point: runs the command table and is the one place that turns errors
// into exit codes (0 success, 1 runtime failure, 2 usage error or bad input).
// With --json a failure is a JSON document on stdout as well: the error, and
// what the run knew when it failed.

import { FsbError } from "./errors.ts";
import { processIO, type IO } from "./context.ts";
import { escapeMessage } from "./report/escape.ts";
import { errorDocument, jsonRequested, type ErrorFields } from "./report/output.ts";

export async function main(argv: readonly string[], io: IO = processIO()): Promise<number> {
  // Our fragments' install lines run `fsblacklist modprobe-hook MODULE` inside
  // every `modprobe MODULE`: that exact call skips the command table.
  if (argv.length === 2 && argv[0] === "modprobe-hook") {
    const { runFromModprobe } = await import("./commands/modprobe-hook.ts");
    return runFromModprobe(argv.slice(1), io);
  }
  const json = jsonRequested(argv);
  const fail = (fields: ErrorFields, report?: Record<string, unknown>): number => {
    if (json) io.stdout.write(JSON.stringify(errorDocument(fields, report), null, 2) + "\n");
    return fields.exitCode;
  };
  const { runCli, CliExit } = await import("./cli.ts");
  try {
    return await runCli(argv, io);
  } catch (error) {
    if (error instanceof CliExit) {
      // commander has already said what was wrong on stderr; help and --version end with 0.
      if (error.exitCode === 0) return 0;
      return fail({ message: error.usage ?? "usage error", hint: "run 'fsblacklist --help' for usage", exitCode: error.exitCode });
    }
    if (error instanceof FsbError) {
      io.stderr.write(`fsblacklist: ${escapeMessage(error.message)}\n`);
      if (error.hint) io.stderr.write(`hint: ${escapeMessage(error.hint)}\n`);
      return fail({ message: error.message, hint: error.hint ?? null, exitCode: error.exitCode }, error.report);
    }
    const message = error instanceof Error ? error.message : String(error);
    const detail = error instanceof Error ? (io.env["FSBLACKLIST_DEBUG"] ? error.stack : error.message) : String(error);
    io.stderr.write(`fsblacklist: unexpected error: ${escapeMessage(detail ?? "")}\n`);
    return fail({ message: `unexpected error: ${message}`, hint: "run it again with FSBLACKLIST_DEBUG=1 for the stack trace, and report it", exitCode: 1 });
  }
}
