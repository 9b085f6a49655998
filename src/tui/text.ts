// Making text safe for one terminal line. File contents and policy text reach
// the screen, and a stray escape sequence or tab would break the layout (or the
// terminal); names and states are ASCII or one-column symbols.

export function pad(text: string, width: number): string {
  if (width <= 0) return "";
  if (text.length >= width) return text.slice(0, Math.max(0, width - 1)) + " ";
  return text + " ".repeat(width - text.length);
}

/** Tabs expanded to spaces, control characters in caret notation (ESC as ^[). */
export function printable(text: string): string {
  let out = "";
  for (const char of text) {
    const code = char.codePointAt(0)!;
    if (char === "\t") out += " ".repeat(8 - (out.length % 8));
    else if (code < 0x20) out += "^" + String.fromCharCode(code + 0x40);
    else if (code === 0x7f) out += "^?";
    else if (code >= 0x80 && code < 0xa0) out += "?";
    else out += char;
  }
  return out;
}

/** A value shown on one line: newlines become spaces. */
export function oneLine(text: string): string {
  return printable(text.replace(/[\r\n]+/g, " "));
}
