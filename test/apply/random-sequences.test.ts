// A few dozen random apply/allow/block/reset/uninstall sequences, each judged
// after every step by the real kmod (test/helpers/random-sequences.ts says
// what is judged). The evidence tier runs hundreds more
// (test/evidence/random-sequences.test.ts). A failure names its seed:
// FSB_SEQ_SEED=<seed> node scripts/test.mjs random-sequences replays it alone.
// Under `npm test` the first three run (test/helpers/tier.ts), all twelve under
// test:evidence.

import { test } from "node:test";
import assert from "node:assert/strict";
import { canRunOracle } from "../facts/modprobe-oracle.ts";
import { runSequence } from "../helpers/random-sequences.ts";
import { SAMPLING } from "../helpers/tier.ts";

const skipOracle = canRunOracle() ? false : "needs root, unshare and kmod's modprobe (the oracle)";
const replay = process.env["FSB_SEQ_SEED"];
const seeds = replay !== undefined ? [Number(replay)] : Array.from({ length: Number(process.env["FSB_SEQ_COUNT"] ?? (SAMPLING ? 3 : 12)) }, (_, i) => i + 1);

test(`random sequences agree with the real kmod after every step (${seeds.length} sequences)`, { skip: skipOracle }, async () => {
  let steps = 0;
  let judged = 0;
  for (const seed of seeds) {
    const done = await runSequence(seed);
    steps += done.steps;
    judged += done.judged;
  }
  assert.ok(steps >= seeds.length * 3, `${steps} steps run`);
  assert.ok(judged > steps * 10, `${judged} kmod verdicts compared`);
});
