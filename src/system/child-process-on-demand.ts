// Stands in for node:child_process in dist/cli.cjs (scripts/build.mjs points
// commander's import here). commander requires child_process when it loads, for
// executable subcommands, which fsblacklist does not have: that was ~2.4 ms of
// every run, with the net and stream modules it brings (test/system/stdio.test.ts).
// commander calls only `spawn`, so that is what this has; the module loads on the
// first call. commander is pinned exactly in package.json for this reason.

import { createRequire } from "node:module";

type Spawn = typeof import("node:child_process").spawn;

export const spawn = ((...args: Parameters<Spawn>) => (createRequire(import.meta.url)("node:child_process") as typeof import("node:child_process")).spawn(...args)) as Spawn;
