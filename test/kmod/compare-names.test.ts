// compareNames orders names as kmod's strcmp does: by their UTF-8 bytes. It
// compares UTF-16 code units while that gives the same answer; this holds it
// to the byte comparison on names built from the characters where the two
// orders part (surrogates, U+E000 and above) and their neighbours.

import { test } from "node:test";
import assert from "node:assert/strict";
import { compareNames } from "../../src/kmod/config-files.ts";

const bytes = (a: string, b: string): number => Math.sign(Buffer.compare(Buffer.from(a, "utf8"), Buffer.from(b, "utf8")));

test("compareNames agrees with strcmp of the UTF-8 bytes, surrogates and lone surrogates included", () => {
  const pieces = ["", "a", "z", "-", "_", "\u007f", "\u0080", "é", "\u0800", "\ud7ff", "\ud83d", "\ude00", "\ud83d\ude00", "\ue000", "\uffff"];
  let compared = 0;
  for (const x of pieces) {
    for (const y of pieces) {
      for (const z of pieces) {
        for (const [a, b] of [
          [x + y, x + z],
          [x + y + z, x + y],
          [y + x, z + x + y],
        ] as const) {
          assert.equal(Math.sign(compareNames(a, b)), bytes(a, b), `${JSON.stringify(a)} vs ${JSON.stringify(b)}`);
          compared++;
        }
      }
    }
  }
  assert.ok(compared > 10_000);
});
