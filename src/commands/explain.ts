import type { Context } from "../context.ts";
import { RuntimeFailure } from "../errors.ts";

export async function run(_ctx: Context): Promise<number> {
  throw new RuntimeFailure("this command is not built yet");
}
