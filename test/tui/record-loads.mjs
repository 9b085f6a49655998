// Preloaded with `node --import`: records the URL of every module the process
// loads in the file named by $FSB_LOAD_LOG (how the tests see which files of
// dist/ a command loads): ES modules through a loader hook, CommonJS files
// (most of dist/) through the CommonJS loader.
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";

register(new URL("./load-hook.mjs", import.meta.url));

const load = Module._load;
Module._load = function (request, parent, isMain) {
  const file = Module._resolveFilename(request, parent, isMain);
  if (isAbsolute(file)) appendFileSync(process.env.FSB_LOAD_LOG, `${pathToFileURL(file).href}\n`);
  return load.apply(this, arguments);
};
