// `fsblacklist showconfig`: the effective configuration exactly as `modprobe -c`
// prints its configuration section.

import type { Context } from "../context.ts";
import { loadModprobeConfig, renderModprobeConfig } from "../services/modprobe-config.ts";
import { binaryToText, printDiagnostics, writeJson } from "../report/output.ts";
// cli.ts creates the context through this module, so that dist/ has each command in a file of its own with all it runs.
export { createContext } from "../context.ts";

export async function run(ctx: Context): Promise<number> {
  if (!ctx.json) {
    const { text, diagnostics } = renderModprobeConfig(ctx);
    // Byte for byte: the model keeps file bytes as latin1 code units.
    ctx.stdout.write(Buffer.from(text, "latin1"));
    printDiagnostics(ctx, diagnostics);
    return 0;
  }
  const { config } = loadModprobeConfig(ctx);
  writeJson(ctx, {
    kmodVersion: config.behaviour.version,
    files: config.files.map((f) => ({ path: f.path, masks: f.masks, kind: f.kind })),
    // Config bytes are latin1 binary strings; file names are already text.
    entries: config.entries.map(({ source, ...entry }) => ({ ...binaryToText(entry), source: `${source.file}:${source.line}` })),
    diagnostics: config.diagnostics.map((d) => ({ ...d, message: binaryToText(d.message) })),
  });
  printDiagnostics(ctx, config.diagnostics);
  return 0;
}
