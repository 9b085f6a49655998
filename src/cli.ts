// The command table. Each action imports its command module only when it runs,
// and creates the context through it: in dist/ a command is a file of its own
// (scripts/build.mjs), so `fsblacklist status` loads neither Ink nor explain's
// code, and `--version` no command at all.

import { Command, type CommanderError, Option } from "commander";
import type { Context, GlobalOptions, IO, createContext } from "./context.ts";
import { VERSION } from "./version.ts";

/** Thrown to end the run with commander's own exit code (help, version, usage). */
export class CliExit extends Error {
  /** commander's own message for a usage error ("unknown option '--x'"), without its "error: " prefix. */
  readonly usage: string | null;
  constructor(
    readonly exitCode: number,
    usage: string | null = null,
  ) {
    super(`exit ${exitCode}`);
    this.usage = usage === null ? null : usage.replace(/^error: /, "");
  }
}

type Action = (ctx: Context, args: string[], options: Record<string, unknown>) => Promise<number>;
/** A command's module: what it runs, and the context made by that module's own copy of context.ts. */
interface CommandModule {
  run: Action;
  createContext: typeof createContext;
}

export async function runCli(argv: readonly string[], io: IO): Promise<number> {
  let exitCode = 0;
  const program = commandTable(io, (code) => {
    exitCode = code;
  });
  await program.parseAsync([...argv], { from: "user" });
  return exitCode;
}

/**
 * Every command with its arguments and options; `ranWith` gets the exit code
 * of the command that ran. The package build also reads it (scripts/package.mjs
 * writes the man page and the shell completions from it).
 */
export function commandTable(io: IO, ranWith: (exitCode: number) => void): Command {
  const program = new Command("fsblacklist")
    .description("Manage modprobe blacklist fragments for rarely used filesystem modules")
    .version(VERSION, "-V, --version")
    .addOption(new Option("--root <dir>", "operate on the system under DIR (default: $DPKG_ROOT or /)"))
    .addOption(new Option("--config <file>", "configuration file (default: <root>/etc/fsblacklist/config.yaml)"))
    .addOption(new Option("--json", "print one JSON document on stdout"))
    .addOption(new Option("--profile <name>", "use this policy profile for this run instead of the configured one"))
    .showHelpAfterError("(run 'fsblacklist --help' for usage)")
    .configureOutput({
      writeOut: (text) => io.stdout.write(text),
      writeErr: (text) => io.stderr.write(text),
    })
    .exitOverride((error: CommanderError) => {
      // commander uses 1 for usage errors; our contract says 2.
      const code = error.exitCode === 0 ? 0 : 2;
      throw new CliExit(code, code === 0 ? null : error.message);
    });

  const define = (name: string, description: string, load: () => Promise<CommandModule>, configure: (command: Command) => Command = (c) => c): void => {
    const command = configure(program.command(name).description(description));
    command.action(async (...received: unknown[]) => {
      const self = received[received.length - 1] as Command;
      const globals = self.optsWithGlobals<GlobalOptions & Record<string, unknown>>();
      const args = self.args;
      const module = await load();
      const ctx = await module.createContext(globals, io);
      ranWith(await module.run(ctx, args, globals));
    });
  };

  define(
    "status",
    "show every policy filesystem, its state and what decides it",
    () => import("./commands/status.ts"),
    (c) =>
      c
        .argument("[fs...]", "filesystem types or module names (default: all)")
        .option("--kernel <release>", "judge this installed kernel instead of the running one")
        .option("--all-kernels", "add what every installed kernel offers for each filesystem"),
  );
  define("showconfig", "print the effective modprobe configuration as `modprobe -c` does", () => import("./commands/showconfig.ts"));
  define(
    "apply",
    "install the shipped policy, keeping filesystems in use loadable (package hooks)",
    () => import("./commands/apply.ts"),
    (c) => c.option("--dry-run", "print the plan and change nothing").option("--yes", "accepted for scripts; apply never prompts"),
  );
  define(
    "uninstall",
    "remove what apply installed (package removal hooks)",
    () => import("./commands/uninstall.ts"),
    (c) => c.option("--dry-run", "print the plan and change nothing").option("--purge", "also remove allow/block overrides and the state file"),
  );
  define(
    "allow",
    "un-blacklist filesystems persistently",
    () => import("./commands/override.ts").then((m) => ({ run: m.runAllow, createContext: m.createContext })),
    (c) => c.argument("<fs...>", "filesystem types or module names").option("--now", "also load the module now").option("--dry-run", "print what would change and change nothing"),
  );
  define(
    "block",
    "blacklist filesystems persistently, even against a later apply",
    () => import("./commands/override.ts").then((m) => ({ run: m.runBlock, createContext: m.createContext })),
    (c) => c.argument("<fs...>", "filesystem types or module names").option("--dry-run", "print what would change and change nothing"),
  );
  define(
    "reset",
    "drop our override; the vendor default applies again",
    () => import("./commands/override.ts").then((m) => ({ run: m.runReset, createContext: m.createContext })),
    (c) => c.argument("<fs...>", "filesystem types or module names").option("--dry-run", "print what would change and change nothing"),
  );
  define(
    "explain",
    "say why a mount of a filesystem fails or would fail, and the fix",
    () => import("./commands/explain.ts"),
    (c) => c.argument("[target]", "a device, image file or mount point").option("--type <type>", "the filesystem type").option("--message <text>", "the error text that mount printed"),
  );
  define(
    "audit",
    "judge the system against a benchmark's kernel-module rules (exit 1 when one fails)",
    () => import("./commands/audit.ts"),
    (c) => c.option("--benchmark <name>", "cis-l1 or cis-l2 (default: the configured profile's)"),
  );
  define("review", "review and change the list in an interactive terminal UI", () => import("./commands/review.ts"));
  define(
    "modprobe-hook",
    "run by our fragments' install lines when a blacklisted module is loaded by name",
    () => import("./commands/modprobe-hook.ts"),
    (c) => c.argument("<module>", "the module being loaded"),
  );
  return program;
}
