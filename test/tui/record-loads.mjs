// Preloaded with `node --import`: records the URL of every module the process
// loads in the file named by $FSB_LOAD_LOG (how the tests see which files of
// dist/ a command loads): ES modules through a loader hook, CommonJS files
// through the CommonJS loader, and dist/cli.cjs and dist/hook.cjs, which
// main.cjs compiles itself with their code cache, through vm.Script.
import { appendFileSync } from "node:fs";
import Module, { register } from "node:module";
import { isAbsolute } from "node:path";
import { pathToFileURL } from "node:url";
import vm from "node:vm";

register(new URL("./load-hook.mjs", import.meta.url));

const load = Module._load;
Module._load = function (request, parent, isMain, ...rest) {
  const file = Module._resolveFilename(request, parent, isMain);
  if (isAbsolute(file)) appendFileSync(process.env.FSB_LOAD_LOG, `${pathToFileURL(file).href}\n`);
  return load.call(this, request, parent, isMain, ...rest);
};

const Script = vm.Script;
vm.Script = class extends Script {
  constructor(code, options) {
    if (typeof options?.filename === "string" && isAbsolute(options.filename)) appendFileSync(process.env.FSB_LOAD_LOG, `${pathToFileURL(options.filename).href}\n`);
    super(code, options);
  }
};
