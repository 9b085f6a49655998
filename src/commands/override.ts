import type { Context } from "../context.ts";
import { RuntimeFailure } from "../errors.ts";

async function notYet(_ctx: Context): Promise<number> {
  throw new RuntimeFailure("this command is not built yet");
}
export const runAllow = notYet;
export const runBlock = notYet;
export const runReset = notYet;
