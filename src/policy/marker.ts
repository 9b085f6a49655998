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

/** The header block of an override file we write. Values never contain newlines. */
export function renderMarker(marker: OverrideMarker): string {
  const oneLine = (s: string): string => s.replace(/[\r\n]+/g, " ");
  return [
    FIRST_LINE,
    `# fsblacklist-override: ${marker.kind}`,
    `# fsblacklist-module: ${oneLine(marker.module)}`,
    `# fsblacklist-reason: ${oneLine(marker.reason)}`,
    `# fsblacklist-date: ${oneLine(marker.date)}`,
    `# fsblacklist-kernel: ${marker.kernel === null ? "none" : oneLine(marker.kernel)}`,
    "",
  ].join("\n");
}

/** Reads our marker from a file's text; null when the file is not ours. */
export function parseMarker(text: string): OverrideMarker | null {
  if (!text.startsWith(FIRST_LINE + "\n")) return null;
  const fields = new Map<string, string>();
  for (const line of text.split("\n")) {
    const match = /^# fsblacklist-([a-z]+): (.*)$/.exec(line);
    if (match) fields.set(match[1]!, match[2]!);
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
