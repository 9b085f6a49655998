// Hundreds of random apply/allow/block/reset/uninstall sequences, each judged
// after every step by the real kmod (test/helpers/random-sequences.ts says what
// is judged); the everyday tier runs the first few dozen seeds
// (test/apply/random-sequences.test.ts). A failure names its seed:
// FSB_SEQ_SEED=<seed> node scripts/test.mjs test/apply/random-sequences replays it.

import { test } from "node:test";
import assert from "node:assert/strict";
import { canRunOracle } from "../facts/modprobe-oracle.ts";
import { runSequence } from "../helpers/random-sequences.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const COUNT = Number(process.env["FSB_SEQ_EVIDENCE_COUNT"] ?? 300);
/** Seeds after the everyday tier's, so the two tiers judge different sequences. */
const FIRST = 1000;

test(`random sequences agree with the real kmod after every step (${COUNT} sequences)`, { skip: skipOracle }, async () => {
  let steps = 0;
  for (let seed = FIRST; seed < FIRST + COUNT; seed++) steps += (await runSequence(seed)).steps;
  assert.ok(steps >= COUNT * 3, `${steps} steps run`);
});
