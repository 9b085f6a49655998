// How modprobe.d file names are shown and ordered when they are not UTF-8:
// nameAsText() must keep every byte (its reading can be turned back into the
// bytes, so no two names read alike) and leave UTF-8 names without a backslash
// as they are; compareFileNames() must order names by their bytes, as strcmp.

import { test } from "node:test";
import assert from "node:assert/strict";
import { isUtf8 } from "node:buffer";
import { nameAsText } from "../../src/system/root-fs.ts";
import { compareFileNames } from "../../src/kmod/config-files.ts";
import { prng } from "../helpers/tree-generator.ts";

/** The inverse of nameAsText(), written out from its definition: `\\` is a backslash, `\xNN` a byte, the rest UTF-8. */
function bytesOf(text: string): Buffer {
  const parts: Buffer[] = [];
  let plain = "";
  for (let i = 0; i < text.length; i++) {
    if (text[i] !== "\\") {
      plain += text[i];
      continue;
    }
    parts.push(Buffer.from(plain, "utf8"));
    plain = "";
    if (text[i + 1] === "\\") {
      parts.push(Buffer.from("\\"));
      i += 1;
    } else {
      assert.match(text.slice(i, i + 4), /^\\x[0-9a-f]{2}$/, `a backslash starts an escape in ${JSON.stringify(text)}`);
      parts.push(Buffer.from([parseInt(text.slice(i + 2, i + 4), 16)]));
      i += 3;
    }
  }
  parts.push(Buffer.from(plain, "utf8"));
  return Buffer.concat(parts);
}

// Bytes where UTF-8 is decided: ASCII, continuation bytes, every kind of lead byte and the bounds of their ranges.
const INTERESTING = [0x2e, 0x41, 0x5c, 0x78, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc1, 0xc2, 0xdf, 0xe0, 0xe1, 0xec, 0xed, 0xee, 0xef, 0xf0, 0xf1, 0xf3, 0xf4, 0xf5, 0xff];

function randomName(next: () => number): Buffer {
  const length = 1 + Math.floor(next() * 8);
  return Buffer.from(Array.from({ length }, () => (next() < 0.8 ? INTERESTING[Math.floor(next() * INTERESTING.length)]! : Math.floor(next() * 256))));
}

test("nameAsText: every byte kept, UTF-8 names without a backslash unchanged, an escape only where UTF-8 fails", () => {
  assert.equal(nameAsText(Buffer.from("black-\xe9.conf", "latin1")), "black-\\xe9.conf");
  assert.equal(nameAsText(Buffer.from("black-\\xe9.conf")), "black-\\\\xe9.conf");
  assert.equal(nameAsText(Buffer.from("ü-über 😀.conf")), "ü-über 😀.conf");
  // An overlong ".", a surrogate in UTF-8's form, a character cut short, a code point above U+10FFFF.
  assert.equal(nameAsText(Buffer.from([0xc0, 0xae, 0x61])), "\\xc0\\xaea");
  assert.equal(nameAsText(Buffer.from([0xed, 0xa0, 0x80])), "\\xed\\xa0\\x80");
  assert.equal(nameAsText(Buffer.from([0xe2, 0x82, 0x2e, 0xe2, 0x82, 0xac])), "\\xe2\\x82.€");
  assert.equal(nameAsText(Buffer.from([0xf4, 0x90, 0x80, 0x80])), "\\xf4\\x90\\x80\\x80");

  const next = prng(17);
  const seen = new Map<string, string>();
  for (let n = 0; n < 20_000; n++) {
    const name = randomName(next);
    const text = nameAsText(name);
    assert.ok(bytesOf(text).equals(name), `${name.toString("hex")} -> ${JSON.stringify(text)} does not give its bytes back`);
    if (isUtf8(name) && !name.includes(0x5c)) assert.equal(text, name.toString("utf8"));
    if (!name.includes(0x5c)) assert.equal(text.includes("\\x"), !isUtf8(name), `${name.toString("hex")} -> ${JSON.stringify(text)}`);
    const other = seen.get(text);
    assert.ok(other === undefined || other === name.toString("hex"), `${other} and ${name.toString("hex")} both read ${JSON.stringify(text)}`);
    seen.set(text, name.toString("hex"));
  }
});

test("compareFileNames orders names as strcmp orders their bytes, whether they are UTF-8 or not", () => {
  const next = prng(29);
  const asEntry = (bytes: Buffer): { name: string; rawName?: Buffer } => (isUtf8(bytes) && !bytes.includes(0x5c) ? { name: bytes.toString("utf8") } : { name: nameAsText(bytes), rawName: bytes });
  for (let n = 0; n < 20_000; n++) {
    const a = randomName(next);
    const b = next() < 0.3 ? Buffer.concat([a.subarray(0, Math.floor(next() * a.length)), randomName(next)]) : randomName(next);
    assert.equal(Math.sign(compareFileNames(asEntry(a), asEntry(b))), Math.sign(Buffer.compare(a, b)), `${a.toString("hex")} vs ${b.toString("hex")}`);
  }
});
