// The one import() of an ES module in the bundled command, in a file of its own
// (dist/import-review.cjs, scripts/build.mjs). The review UI stays an ES module
// (yoga, Ink's layout engine, has top-level await), and dist/cli.cjs, which
// main.cjs compiles with its code cache, cannot import() on Node 20 without a
// flag: it requires this file, which Node loads and compiles as usual.

export const importReview = (): Promise<typeof import("./run-review.tsx")> => import("./run-review.tsx");
