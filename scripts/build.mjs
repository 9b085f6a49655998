// Bundles src/main.ts into dist/ with code splitting, so each command's module
// (and Ink/React for `review`) is a separate chunk that loads only when used.
//
// The new build is written beside dist/ and moved in file by file, main.js
// last, so a CLI that is running (or a test) never sees a half-built dist/.
import { build } from "esbuild";
import { mkdirSync, readdirSync, renameSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";

const staging = `dist/.staging-${process.pid}`;
rmSync(staging, { recursive: true, force: true });
await build({
  entryPoints: { main: "src/main.ts" },
  outdir: staging,
  bundle: true,
  splitting: true,
  format: "esm",
  platform: "node",
  target: "node20",
  jsx: "automatic",
  chunkNames: "chunks/[name]-[hash]",
  // Ink imports React's devtools only when DEV=true; they are not a dependency.
  // cosmiconfig requires TypeScript only to load .ts configuration, which we
  // refuse; bundled, its 10 MB chunk was imported (and parsed, ~130 ms) by every
  // run that has a config.yaml.
  external: ["react-devtools-core", "typescript"],
  banner: {
    // Bundled CommonJS dependencies (cosmiconfig, js-yaml) call require().
    js: "import { createRequire as __fsbCreateRequire } from 'node:module'; const require = __fsbCreateRequire(import.meta.url);",
  },
  define: { "process.env.NODE_ENV": '"production"' },
  legalComments: "none",
  logLevel: "warning",
});

mkdirSync("dist/chunks", { recursive: true });
const fresh = new Set(readdirSync(join(staging, "chunks")));
for (const chunk of fresh) renameSync(join(staging, "chunks", chunk), join("dist/chunks", chunk));
renameSync(join(staging, "main.js"), "dist/main.js");
rmSync(staging, { recursive: true, force: true });
// Chunks of earlier builds: hashed names, harmless, but do not let them pile up.
for (const chunk of readdirSync("dist/chunks")) {
  const path = join("dist/chunks", chunk);
  if (!fresh.has(chunk) && Date.now() - statSync(path).mtimeMs > 60_000) rmSync(path, { force: true });
}
