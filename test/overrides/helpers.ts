// Fake roots with the shipped policy installed in the vendor directory (as
// `apply` installs it), snapshots of whole trees, and reading commands typed
// at a terminal (test/helpers/tmux.ts).

import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";
import { entriesForProfile, fragmentName, loadPolicy, renderFragment, shippedPolicyDir } from "../../src/policy/policy.ts";

export const VENDOR_DIR = "usr/lib/modprobe.d";
export const ADMIN_DIR = "etc/modprobe.d";

/** A fake root whose vendor directory holds the default profile's fragments. */
export function policyRoot(spec: FakeRootSpec = {}): FakeRoot {
  const root = createFakeRoot(spec);
  const policy = loadPolicy(shippedPolicyDir());
  const vendor = path.join(root.dir, VENDOR_DIR);
  fs.mkdirSync(vendor, { recursive: true });
  for (const entry of entriesForProfile(policy, "default")) {
    fs.writeFileSync(path.join(vendor, fragmentName(entry.module)), renderFragment(entry, "default"));
  }
  return root;
}

export function overridePath(root: FakeRoot, module: string): string {
  return path.join(root.dir, ADMIN_DIR, fragmentName(module));
}

export { snapshotTree } from "../helpers/tree-snapshot.ts";

/** Lines of a `modprobe -c` configuration section that mention a module. */
export function linesFor(config: Buffer, module: string): string[] {
  return config
    .toString("latin1")
    .split("\n")
    .filter((line) => line.split(" ")[1] === module);
}

/** Quotes a word for the shell in the terminal. */
export function shellQuote(word: string): string {
  return `'${word.replaceAll("'", `'\\''`)}'`;
}

/** What a command printed: the lines between its echoed command line and its `EXIT=<status>` line. */
export function outputOf(screen: string): string {
  const lines = screen.split("\n");
  const exit = lines.findIndex((line) => /^EXIT=\d+$/.test(line));
  const command = lines.findIndex((line) => line.includes('echo "EXIT=$?"'));
  if (exit < 0 || command < 0 || command > exit) throw new Error(`no command and exit status on the screen:\n${screen}`);
  return lines.slice(command + 1, exit).join("\n");
}
