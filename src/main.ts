// Entry point: runs the command table and is the one place that turns errors
// into exit codes (0 success, 1 runtime failure, 2 usage error or bad input).

import { FsbError } from "./errors.ts";
import { processIO, type IO } from "./context.ts";
import { escapeMessage } from "./report/escape.ts";

export async function main(argv: readonly string[], io: IO = processIO()): Promise<number> {
  // Our fragments' install lines run `fsblacklist modprobe-hook MODULE` inside
  // every `modprobe MODULE`: that exact call skips the command table.
  if (argv.length === 2 && argv[0] === "modprobe-hook") {
    const { runFromModprobe } = await import("./commands/modprobe-hook.ts");
    return runFromModprobe(argv.slice(1), io);
  }
  const { runCli, CliExit } = await import("./cli.ts");
  try {
    return await runCli(argv, io);
  } catch (error) {
    if (error instanceof CliExit) return error.exitCode;
    if (error instanceof FsbError) {
      io.stderr.write(`fsblacklist: ${escapeMessage(error.message)}\n`);
      if (error.hint) io.stderr.write(`hint: ${escapeMessage(error.hint)}\n`);
      return error.exitCode;
    }
    const detail = error instanceof Error ? (io.env["FSBLACKLIST_DEBUG"] ? error.stack : error.message) : String(error);
    io.stderr.write(`fsblacklist: unexpected error: ${escapeMessage(detail ?? "")}\n`);
    return 1;
  }
}
