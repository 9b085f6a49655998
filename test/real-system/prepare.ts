// Builds what the given scenario files need before they run (scripts/test-system.mjs):
// the cached Debian roots. The cache is shared by every checkout on the machine,
// and another branch's recipes are not known here: a root is removed only when
// no run has used it for a while (cachedRoot() marks each use on the tar's mtime).

import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE, cachedRoot, rootTarName, took } from "./debian.ts";
import { ALL_ROOTS, BOOKWORM, TRIXIE, TRIXIE_DRACUT, TRIXIE_KERNEL } from "./recipes.ts";

const UNUSED_FOR = 14 * 24 * 3600 * 1000;
const current = new Set(ALL_ROOTS.map(rootTarName));
const roots = path.join(CACHE, "roots");
for (const name of fs.existsSync(roots) ? fs.readdirSync(roots) : []) {
  if (current.has(name) || name.includes(".partial")) continue;
  const file = path.join(roots, name);
  if (Date.now() - fs.statSync(file).mtimeMs > UNUSED_FOR) {
    fs.rmSync(file, { force: true });
    console.log(`# removed ${name}: no recipe here, unused for ${Math.round(UNUSED_FOR / 86400000)} days`);
  }
}

const files = process.argv.slice(2).join(" ");
const wanted = new Set([
  ...(/apt\.system/.test(files) ? [TRIXIE] : []),
  ...(/initramfs\.system/.test(files) ? [TRIXIE_KERNEL] : []),
  ...(/initramfs-dracut\.system/.test(files) ? [TRIXIE_DRACUT] : []),
  ...(/dist-upgrade\.system/.test(files) ? [BOOKWORM] : []),
  ...(/vm\.system/.test(files) ? [TRIXIE, BOOKWORM] : []),
  ...(/vm-fstab\.system/.test(files) ? [TRIXIE_KERNEL] : []),
]);
for (const recipe of wanted) {
  const started = Date.now();
  const tar = cachedRoot(recipe);
  console.log(`# root ${recipe.suite} (${recipe.include.join(" ")}): ${tar} (${took(started)})`);
}
