#!/usr/bin/env node
// The installed command: the bundled build, nothing else loaded here. CommonJS
// (bin/package.json), like dist/main.cjs: Node starts its ES module loader only
// for the part that needs it (the review UI).
"use strict";
require("../dist/main.cjs")
  .main(process.argv.slice(2))
  .then((code) => {
    process.exitCode = code;
  });
