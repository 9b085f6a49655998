// Shared by the explain tests: the captured mount messages.

import { readFileSync } from "node:fs";

export const FIXTURES = new URL("../fixtures/mount-messages/", import.meta.url);

/** A captured fixture: its header fields and mount's output after them. */
export function readMountFixture(name: string): { command: string; exit: number; text: string } {
  const raw = readFileSync(new URL(`${name}.txt`, FIXTURES), "utf8");
  const lines = raw.split("\n");
  const header = new Map<string, string>();
  while (lines[0]?.startsWith("# ")) {
    const [key, ...rest] = lines.shift()!.slice(2).split(": ");
    header.set(key!, rest.join(": "));
  }
  return { command: header.get("command")!, exit: Number(header.get("exit")), text: lines.join("\n") };
}
