// The override marker's values are written escaped, one comment line each, and
// read back exactly; the real kmod sees the lines after the marker whatever a
// value holds (a line ending in a lone backslash joins the next line to its
// comment: a block's `blacklist` line would be lost).

import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeField, parseMarker, renderMarker, unescapeField, type OverrideMarker } from "../../src/policy/marker.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { kmodVerdict } from "../apply/helpers.ts";

const VALUES = ["plain", "a\\b", "ends in a backslash\\", "\\\\", "\\n is not a newline", "line\nbreak", "cr\rlf\r\n", "esc \x1b[2K", "tab\tdel\x7f c1\x9b", "\\x41 stays text", "é ü 日本", ""];

test("escapeField: one line, no control character, never a lone backslash at the end; unescapeField gives the value back exactly", () => {
  for (const value of VALUES) {
    const field = escapeField(value);
    assert.doesNotMatch(field, /[\u0000-\u001f\u007f-\u009f]/, JSON.stringify(field));
    assert.equal((/\\*$/.exec(field)?.[0].length ?? 0) % 2, 0, `an even run of backslashes at the end: ${JSON.stringify(field)}`);
    assert.equal(unescapeField(field), value, JSON.stringify(value));
  }
  assert.equal(escapeField("a\\b\nc\rd\x1b\t\\"), "a\\\\b\\nc\\rd\\x1b\\x09\\\\");
});

test("a marker round-trips through its text, every value exactly", () => {
  for (const value of VALUES) {
    const marker: OverrideMarker = { kind: "keep", module: "jfs", reason: value, date: "2026-01-02T03:04:05.000Z", kernel: `6.1.0${value}` };
    const text = renderMarker(marker);
    assert.equal(text.split("\n").length, 7, JSON.stringify(text));
    assert.deepEqual(parseMarker(text), marker);
    assert.equal(renderMarker(parseMarker(text)!), text, "rendering what was read gives the same text");
  }
});

test("kmod reads the directives after a marker whose values end in a backslash", async (t) => {
  const marker = renderMarker({ kind: "block", module: "jfs", reason: "C:\\", date: "2026-01-02T03:04:05.000Z", kernel: "6.1.0-odd\\" });
  const root = createFakeRoot({ files: { "etc/modprobe.d/60-blacklist_fs-jfs.conf": `${marker}blacklist jfs\ninstall jfs /bin/false\n` } });
  t.after(() => root.cleanup());
  const verdict = kmodVerdict(root.dir);
  assert.ok(verdict.blacklisted.has("jfs"), "the blacklist line is not swallowed by the comment");
  assert.equal(verdict.installs.get("jfs"), "/bin/false");
});
