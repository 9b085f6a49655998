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

import { closeSync, openSync, readSync, writeSync } from "node:fs";
import type { Context, IO } from "../context.ts";
import { moduleNameProblem, normaliseModuleName } from "../kmod/module-name.ts";
import { RootFs, chooseRoot } from "../system/root-fs.ts";
import { isTerminal } from "../system/stdio.ts";

const INITRD_RELEASE = "etc/initrd-release";
const LOCK_TIMEOUT_MS = 5_000;
const MAX_ATTEMPTS = 3;

/** Through the command table (`--root DIR modprobe-hook jfs`). */
export async function run(ctx: Context, args: string[]): Promise<number> {
  return hook(args[0], ctx.uid, ctx.fs.root, async () => ctx);
}

/** The fast path main.ts takes for exactly `modprobe-hook MODULE`, as our install lines call it. */
export async function runFromModprobe(args: readonly string[], io: IO): Promise<number> {
  return hook(args[0], io.uid, chooseRoot(undefined, io.env), async () => {
    const { createContext } = await import("../context.ts");
    return createContext({}, io);
  });
}

async function hook(name: string | undefined, uid: number, rootDir: string, makeContext: () => Promise<Context>): Promise<number> {
  // An invalid name is never used, not even in a message: it could only come from a hand-written line.
  if (name === undefined || moduleNameProblem(name) !== null) return 0;
  if (uid !== 0 || !isTerminal(0)) return 0;
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

interface Terminal {
  write(text: string): void;
  /** One line as typed (cooked mode), without its newline; null at end of input. */
  readLine(): string | null;
  close(): void;
}

function openTerminal(): Terminal | null {
  let fd: number;
  try {
    fd = openSync("/dev/tty", "r+");
  } catch {
    return null; // no controlling terminal
  }
  return {
    write: (text) => void writeSync(fd, text),
    readLine: () => {
      const chunk = Buffer.alloc(256);
      let line = "";
      for (;;) {
        const n = readSync(fd, chunk, 0, chunk.length, null);
        if (n === 0) return line === "" ? null : line;
        line += chunk.toString("utf8", 0, n);
        const newline = line.indexOf("\n");
        if (newline >= 0) return line.slice(0, newline);
      }
    },
    close: () => closeSync(fd),
  };
}

type Answer = "yes" | "no" | "never";

function parseAnswer(text: string): Answer | null {
  const word = text.trim().toLowerCase();
  if (word === "" || word === "n" || word === "no") return "no";
  if (word === "y" || word === "yes") return "yes";
  if (word === "v" || word === "never") return "never";
  return null;
}

async function converse(ctx: Context, module: string, tty: Terminal): Promise<void> {
  const { applyOverridePlan, planOverride } = await import("../services/overrides.ts");
  const { blacklistEntries } = await import("../decide/override-plan.ts");
  const { loadModprobeConfig } = await import("../services/modprobe-config.ts");
  const { parseMarker } = await import("../policy/marker.ts");
  const { config } = loadModprobeConfig(ctx);
  const first = blacklistEntries(config, module)[0];
  if (first === undefined) return; // nothing blacklists it: nothing to offer
  const where = first.source.file === "proc/cmdline" ? "the kernel command line" : `${first.source.file}:${first.source.line}`;
  const loadingAnyway = "will be loaded now anyway, because you asked for it by name";

  const allow = await planOverride(ctx, "allow", [module], { reason: `allowed at the prompt of \`modprobe ${module}\`` });
  const change = allow.changes[0]!;
  if (change.before !== null && parseMarker(change.before)?.kind === "block") {
    // "never" was answered before (or `fsblacklist block`): do not ask again.
    tty.write(`fsblacklist: ${module} is blacklisted by ${where} (pinned by fsblacklist block) and ${loadingAnyway}.\n`);
    return;
  }
  tty.write(`fsblacklist: ${module} is blacklisted by ${where} and ${loadingAnyway}.\n`);
  if (change.action !== "allow") {
    tty.write(`fsblacklist cannot un-blacklist it: ${change.reason}.\n`);
    return;
  }

  let answer: Answer | null = null;
  for (let attempt = 0; attempt < MAX_ATTEMPTS && answer === null; attempt++) {
    tty.write(`Un-blacklist ${module} permanently? [y]es / [n]o / ne[v]er: `);
    const line = tty.readLine();
    if (line === null) {
      tty.write("\n");
      answer = "no";
    } else answer = parseAnswer(line);
  }
  if (answer === null || answer === "no") {
    tty.write(`Nothing changed: ${module} stays blacklisted and is loaded this time only.\n`);
    return;
  }
  const plan = answer === "yes" ? allow : await planOverride(ctx, "block", [module], { reason: `"never" answered at the prompt of \`modprobe ${module}\`` });
  await applyOverridePlan(ctx, plan, { lockTimeoutMs: LOCK_TIMEOUT_MS, rebuildInitramfs: false });
  const written = plan.changes[0]!;
  tty.write(
    answer === "yes"
      ? `Wrote ${written.path}: ${module} is no longer blacklisted (undo with: fsblacklist reset ${module}).\n`
      : `Wrote ${written.path}: ${module} stays blacklisted and fsblacklist will not ask again (undo with: fsblacklist reset ${module}).\n`,
  );
}
