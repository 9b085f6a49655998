// The tier a test file runs in (scripts/test.mjs sets FSB_TEST_TIER). A file of
// test.mjs's SAMPLED list runs in both tiers: under `npm test` (everyday) its
// exhaustive tables and seeds take a sample, a smoke of every behaviour in about a
// second or two; under `npm run test:evidence` (CI), and when the file is run on
// its own, all of it.

export const SAMPLING = process.env["FSB_TEST_TIER"] === "everyday";

/** All of `items`, or when SAMPLING `count` of them spread evenly from the first. */
export function sampled<T>(items: readonly T[], count: number): T[] {
  if (!SAMPLING || items.length <= count) return [...items];
  return Array.from({ length: count }, (_, i) => items[Math.floor((i * items.length) / count)]!);
}
