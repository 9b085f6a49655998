// What apply and uninstall share: reading the files they may change, asking kmod's
// model what a set of planned writes would make of the configuration, and
// carrying out one write so that a failure says how far the run got.

import * as path from "node:path";
import type { Context } from "../context.ts";
import { RuntimeFailure } from "../errors.ts";
import type { FoundFile } from "../decide/apply-plan.ts";
import type { EffectiveConfig } from "../kmod/effective-config.ts";
import { atomicTempWriter } from "../system/atomic-temp.ts";
import { describeErrno } from "../system/errno-text.ts";
import { readEffectiveConfig, type ConfigReads } from "../system/modprobe-config.ts";
import type { ApplyState } from "../model.ts";
import { writeState } from "../system/state-file.ts";
import { behaviourFor } from "./modprobe-config.ts";

/**
 * The files of `dir` that `wanted` accepts, with their text (null for what is
 * not a regular file or /dev/null): our temporaries, and names that are not
 * UTF-8 (never ours), left out.
 */
export function readManagedDir(ctx: Context, dir: string, wanted: (file: string) => boolean = () => true, texts?: ReadonlyMap<string, string>): FoundFile[] {
  return (ctx.fs.listDir(dir) ?? [])
    .filter((e) => atomicTempWriter(e.name) === null && e.undecodableName !== true)
    .map((e) => ({ file: path.posix.join(dir, e.name), kind: e.kind }))
    .filter(({ file }) => wanted(file))
    .map(({ file, kind }) => ({ path: file, content: readManagedContent(ctx, file, kind, texts) }));
}

/**
 * A file's text as kmod would read it: "" for a link to /dev/null, null for
 * what is not a file. `texts`: what the model read of the configuration in the
 * same decision (ConfigReads.texts, latin1), taken instead of reading the file again.
 */
export function readManagedContent(ctx: Context, file: string, kind: string, texts?: ReadonlyMap<string, string>): string | null {
  if (kind === "devnull") return "";
  if (kind !== "file") return null;
  const known = texts?.get(file);
  if (known !== undefined) return Buffer.from(known, "latin1").toString("utf8");
  try {
    return ctx.fs.readText(file);
  } catch (error) {
    throw new RuntimeFailure(`cannot read ${file}: ${describeErrno(error)}`);
  }
}

/**
 * What kmod will read once `files` are written or (null) removed; the module
 * directory and the command line do not change. `reads`: what a decision read
 * of the configuration already (ConfigReads).
 */
export function configAfter(ctx: Context, files: ReadonlyMap<string, string | null>, reads?: ConfigReads): EffectiveConfig {
  return readEffectiveConfig(ctx.fs, { behaviour: behaviourFor(ctx), release: null, cmdline: false, overlay: files, ...(reads === undefined ? {} : { reads }) });
}

/** How far a run's writes got, for the message when one fails. */
export interface WriteProgress {
  done: number;
  total: number;
  /** The command whose next run finishes the job, e.g. "fsblacklist apply". */
  retry: string;
}

/** One planned write: a text written atomically, the state file, or (null) a removal. */
export async function carryOut(ctx: Context, file: string, content: string | ApplyState | null, progress: WriteProgress): Promise<void> {
  try {
    if (content === null) await ctx.fs.removeFile(file);
    else if (typeof content === "string") await ctx.fs.writeFileAtomic(file, content);
    else await writeState(ctx.fs, file, content);
  } catch (error) {
    if (error instanceof RuntimeFailure) throw error;
    throw new RuntimeFailure(
      `cannot ${content === null ? "remove" : "write"} ${file}: ${describeErrno(error)}; ${progress.done} of ${progress.total} changes were made, every file is whole`,
      `fix the file system (read-only? full?) and run \`${progress.retry}\` again: it finishes the job`,
      { cause: error },
    );
  }
  progress.done++;
}
