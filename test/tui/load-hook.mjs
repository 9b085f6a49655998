// The loader hook behind record-loads.mjs.
import { appendFileSync } from "node:fs";

export async function load(url, context, nextLoad) {
  appendFileSync(process.env.FSB_LOAD_LOG, `${url}\n`);
  return nextLoad(url, context);
}
