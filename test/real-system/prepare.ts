// Builds what the given scenario files need before they run (scripts/test-system.mjs):
// the cached Debian roots. Roots of older recipes are removed from the cache.

import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE, cachedRoot, rootTarName, took } from "./debian.ts";
import { ALL_ROOTS, BOOKWORM, TRIXIE, TRIXIE_KERNEL } from "./recipes.ts";

const current = new Set(ALL_ROOTS.map(rootTarName));
const roots = path.join(CACHE, "roots");
for (const name of fs.existsSync(roots) ? fs.readdirSync(roots) : []) {
  if (!current.has(name) && !name.includes(".partial")) fs.rmSync(path.join(roots, name), { force: true });
}

const files = process.argv.slice(2).join(" ");
const wanted = new Set([
  ...(/apt\.system/.test(files) ? [TRIXIE] : []),
  ...(/initramfs\.system/.test(files) ? [TRIXIE_KERNEL] : []),
  ...(/dist-upgrade\.system/.test(files) ? [BOOKWORM] : []),
  ...(/vm\.system/.test(files) ? [TRIXIE, BOOKWORM] : []),
]);
for (const recipe of wanted) {
  const started = Date.now();
  const tar = cachedRoot(recipe);
  console.log(`# root ${recipe.suite} (${recipe.include.join(" ")}): ${tar} (${took(started)})`);
}
