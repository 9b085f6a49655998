// Who may change a system: root on the real one; under --root DIR whoever can
// write the tree may (image builds run unprivileged).

import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";

export function mayChangeSystem(ctx: Context): boolean {
  return ctx.uid === 0 || !ctx.fs.isHostRoot;
}

/** Stops a command that would change `dirs` of the real system without root, before it reads or writes anything more. */
export function requireRootToChange(ctx: Context, command: string, dirs: readonly string[]): void {
  if (mayChangeSystem(ctx)) return;
  throw new UsageError(`${command} changes ${dirs.join(" and ")} and needs root`, `run it as root (sudo fsblacklist ${command} ...), or add --dry-run to see what it would change`);
}
