// `fsblacklist modprobe-hook MODULE`: run by the `install` line of our fragments
// when someone loads a blacklisted module by name (`modprobe jfs`):
//
//   install jfs /usr/bin/fsblacklist modprobe-hook jfs 2>/dev/null; /sbin/modprobe --ignore-install jfs $CMDLINE_OPTS
//
// modprobe runs that line through `sh -c`, and loads the module after us
// whatever we do, so this must never fail, never block a load it cannot ask
// about, and be quick. It asks only a person: stdin a terminal (inherited
// through modprobe and sh; a pipe or /dev/null means a script or a service),
// as root, outside an initramfs. It talks on /dev/tty because stderr is
// /dev/null by the install line and stdout may be captured by the caller.

import type { Context, IO } from "../context.ts";
import { moduleNameProblem, normaliseModuleName } from "../kmod/module-name.ts";
import { converse } from "../services/modprobe-hook.ts";
import { RootFs, chooseRoot } from "../system/root-fs.ts";
import { fdInput, type Input } from "../system/stdio.ts";
import { openTerminal, type Terminal } from "../system/terminal.ts";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

const INITRD_RELEASE = "etc/initrd-release";

/** Through the command table (`--root DIR modprobe-hook jfs`). */
export async function run(ctx: Context, args: string[]): Promise<number> {
  return hook(args[0], ctx.uid, ctx.stdin, ctx.fs.root, async () => ctx);
}

/** The fast path main.ts takes for exactly `modprobe-hook MODULE`, as our install lines call it. */
export async function runFromModprobe(args: readonly string[], io: IO): Promise<number> {
  return hook(args[0], io.uid, io.stdin ?? fdInput(), chooseRoot(undefined, io.env), async () => {
    const { createContext } = await import("../context.ts");
    return createContext({}, io);
  });
}

async function hook(name: string | undefined, uid: number, stdin: Input, rootDir: string, makeContext: () => Promise<Context>): Promise<number> {
  // An invalid name is never used, not even in a message: it could only come from a hand-written line.
  if (name === undefined || moduleNameProblem(name) !== null) return 0;
  if (uid !== 0 || !stdin.isTTY) return 0;
  let tty: Terminal | null = null;
  try {
    if (new RootFs(rootDir).exists(INITRD_RELEASE)) return 0;
    tty = openTerminal();
    if (tty === null) return 0;
    await converse(await makeContext(), normaliseModuleName(name), tty);
  } catch (error) {
    tty?.write(`fsblacklist: ${error instanceof Error ? error.message : String(error)}; nothing changed\n`);
  } finally {
    tty?.close();
  }
  return 0;
}
