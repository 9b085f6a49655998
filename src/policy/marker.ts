// The marker that says "fsblacklist wrote this file". Files in the admin
// directory without it belong to the administrator: read, honoured, reported,
// never modified or deleted.

export type OverrideKind = "keep" | "allow" | "block";

export interface OverrideMarker {
  kind: OverrideKind;
  module: string;
  reason: string;
  /** ISO 8601 time of writing. */
  date: string;
  /** Kernel release at the time, or null under a root without a running kernel. */
  kernel: string | null;
}

const FIRST_LINE = "# Managed by fsblacklist. `fsblacklist reset` removes this file; edits are overwritten.";
const KINDS: readonly OverrideKind[] = ["keep", "allow", "block"];

// C0, DEL and C1: what would break the comment line or act on a terminal.
const CONTROL = /[\u0000-\u001f\u007f-\u009f]/;

/**
 * A value on one comment line, exactly recoverable by unescapeField(): a
 * backslash as `\\`, newline and carriage return as `\n` and `\r`, every other
 * control character as `\xNN`. kmod joins a line ending in a lone backslash
 * with the next one, even a comment; one ending in `\\` it does not.
 */
export function escapeField(value: string): string {
  let out = "";
  for (const c of value) {
    if (c === "\\") out += "\\\\";
    else if (c === "\n") out += "\\n";
    else if (c === "\r") out += "\\r";
    else if (CONTROL.test(c)) out += `\\x${c.charCodeAt(0).toString(16).padStart(2, "0")}`;
    else out += c;
  }
  return out;
}

/** escapeField() undone; a backslash that starts no escape stays as it is. */
export function unescapeField(text: string): string {
  return text.replace(/\\(\\|n|r|x[0-9a-fA-F]{2})/g, (_, e: string) => (e === "\\" ? "\\" : e === "n" ? "\n" : e === "r" ? "\r" : String.fromCharCode(Number.parseInt(e.slice(1), 16))));
}

/** The header block of an override file we write: each value on its line, escaped (escapeField()). */
export function renderMarker(marker: OverrideMarker): string {
  return [
    FIRST_LINE,
    `# fsblacklist-override: ${marker.kind}`,
    `# fsblacklist-module: ${escapeField(marker.module)}`,
    `# fsblacklist-reason: ${escapeField(marker.reason)}`,
    `# fsblacklist-date: ${escapeField(marker.date)}`,
    `# fsblacklist-kernel: ${marker.kernel === null ? "none" : escapeField(marker.kernel)}`,
    "",
  ].join("\n");
}

/** Reads our marker from a file's text; null when the file is not ours. */
export function parseMarker(text: string): OverrideMarker | null {
  if (!text.startsWith(FIRST_LINE + "\n")) return null;
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^# fsblacklist-([a-z]+): (.*)$/.exec(line);
    if (match) fields.set(match[1]!, unescapeField(match[2]!));
  }
  const kind = fields.get("override") as OverrideKind | undefined;
  const module = fields.get("module");
  if (!kind || !KINDS.includes(kind) || !module) return null;
  const kernel = fields.get("kernel") ?? "none";
  return {
    kind,
    module,
    reason: fields.get("reason") ?? "",
    date: fields.get("date") ?? "",
    kernel: kernel === "none" ? null : kernel,
  };
}
