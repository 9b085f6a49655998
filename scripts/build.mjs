// Bundles src/main.ts into dist/ with code splitting, so each command's module
// (and Ink/React for `review`) is a separate chunk that loads only when used.
import { build } from "esbuild";
import { rm } from "node:fs/promises";

await rm(new URL("../dist", import.meta.url), { recursive: true, force: true });
await build({
  entryPoints: { main: "src/main.ts" },
  outdir: "dist",
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
