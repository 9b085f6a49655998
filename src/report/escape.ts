// Text from the system (paths, mount points from volume labels and mountinfo's
// octal escapes, file names, fstab and policy text) reaches the terminal in human
// output. A control character in it could move the cursor, erase lines or start
// a new one and so forge output ("removed ..."): each is shown as `\xNN` (C0, DEL,
// C1; ESC is C0's 0x1b), `\n`, `\r` or `\t`. JSON output stays exact.

const SHORT: Record<string, string> = { "\n": "\\n", "\r": "\\r", "\t": "\\t" };

// C0 and DEL, and C1 (U+0080-U+009F): all that a terminal may act on.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/g;

/** `text` with every control character escaped, safe to print on a terminal line. */
export function escapeControl(text: string): string {
  return text.replace(CONTROL, (c) => SHORT[c] ?? `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`);
}

/** A copy of `value` with escapeControl() applied to every string in it (object keys too), for rendering a result as text. */
export function escapeStrings<T>(value: T): T {
  if (typeof value === "string") return escapeControl(value) as T;
  if (Array.isArray(value)) return value.map((v) => escapeStrings(v)) as T;
  if (value !== null && typeof value === "object" && Object.getPrototypeOf(value) === Object.prototype) {
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [escapeControl(k), escapeStrings(v)])) as T;
  }
  return value;
}

/** Like escapeControl, but a message's own line breaks stay: each line is escaped (a tool's multi-line output, say). */
export function escapeMessage(text: string): string {
  return text.split("\n").map(escapeControl).join("\n");
}
