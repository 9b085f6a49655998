// The review UI escapes system text the way status and explain do
// (report/escape.ts): a file name with an escape sequence cannot repaint the
// terminal, and it reads the same in the TUI as in `status`.

import { test } from "node:test";
import assert from "node:assert/strict";
import { escapeControl } from "../../src/report/escape.ts";
import { oneLine, printable } from "../../src/tui/text.ts";

const hostile = "etc/modprobe.d/\x1b[2J\x1b[Hremoved\x07 x\x9b1m.conf";

test("the TUI prints a name with escape sequences as status does: each control character as \\xNN", () => {
  assert.equal(printable(hostile), escapeControl(hostile));
  assert.equal(printable(hostile), "etc/modprobe.d/\\x1b[2J\\x1b[Hremoved\\x07 x\\x9b1m.conf");
  assert.doesNotMatch(printable(hostile), /[\u0000-\u001f\u007f-\u009f]/);
});

test("tabs still become spaces to the next column, and oneLine turns line breaks into spaces", () => {
  assert.equal(printable("a\tb"), "a       b");
  assert.equal(oneLine("mounted at /media/x\n\x1b[1Aforged"), "mounted at /media/x \\x1b[1Aforged");
});
