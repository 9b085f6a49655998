// A fleet for real `ansible-playbook`: fake roots on this machine, one host each,
// all through the local connection, the root passed through the module's `root`
// option, the collection found in the repository's ansible/ (ANSIBLE_COLLECTIONS_PATH)
// and the command run from this worktree's bundle through a small wrapper.
// Used by the fleet suite (test/fleet/ansible.fleet.ts) and bench/fleet.ts.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { fileURLToPath } from "node:url";
import { createFakeRoot, type FakeRoot, type FakeRootSpec } from "../helpers/fake-root.ts";

export const REPO = fileURLToPath(new URL("../..", import.meta.url));
const BIN = path.join(REPO, "bin/fsblacklist.js");

export interface FleetHost {
  name: string;
  root: FakeRoot;
}

export interface Fleet {
  dir: string;
  hosts: FleetHost[];
  inventory: string;
  /** Runs the bundle with the Node running this process (the module's `executable`). */
  wrapper: string;
  cleanup(): void;
}

export function createFleet(specs: readonly FakeRootSpec[]): Fleet {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), "fsblacklist-fleet-"));
  const hosts: FleetHost[] = [];
  try {
    const wrapper = path.join(dir, "fsblacklist");
    fs.writeFileSync(wrapper, `#!/bin/sh\nexec '${process.execPath}' '${BIN}' "$@"\n`, { mode: 0o755 });
    specs.forEach((spec, i) => hosts.push({ name: `host${String(i + 1).padStart(2, "0")}`, root: createFakeRoot(spec) }));
    const inventory = path.join(dir, "inventory.ini");
    const lines = hosts.map((h) => `${h.name} fsblacklist_root=${h.root.dir}`);
    fs.writeFileSync(
      inventory,
      `[fleet]\n${lines.join("\n")}\n\n[fleet:vars]\nansible_connection=local\nansible_python_interpreter={{ ansible_playbook_python }}\nfsblacklist_executable=${wrapper}\n`,
    );
    return {
      dir,
      hosts,
      inventory,
      wrapper,
      cleanup: () => {
        for (const h of hosts) h.root.cleanup();
        fs.rmSync(dir, { recursive: true, force: true });
      },
    };
  } catch (error) {
    for (const h of hosts) h.root.cleanup();
    fs.rmSync(dir, { recursive: true, force: true });
    throw error;
  }
}

/** What ansible.posix's json callback prints: plays with their tasks, each task's result per host, and stats. */
export interface PlaybookJson {
  plays: {
    tasks: {
      task: { name: string; duration: { start: string; end?: string } };
      hosts: Record<string, HostResult>;
    }[];
  }[];
  stats: Record<string, { changed: number; failures: number; ok: number; skipped: number; unreachable: number }>;
}

export type HostResult = Record<string, unknown> & { changed?: boolean; failed?: boolean; skipped?: boolean; msg?: string };

export interface PlaybookRun {
  status: number;
  json: PlaybookJson;
  stderr: string;
}

function ansibleEnv(fleet: Fleet): NodeJS.ProcessEnv {
  const home = path.join(fleet.dir, "ansible-home");
  return {
    ...process.env,
    ANSIBLE_COLLECTIONS_PATH: path.join(REPO, "ansible"),
    ANSIBLE_HOME: home,
    ANSIBLE_LOCAL_TEMP: path.join(home, "tmp"),
    ANSIBLE_RETRY_FILES_ENABLED: "false",
    ANSIBLE_NOCOLOR: "1",
    NO_COLOR: "1",
    DPKG_ROOT: "",
  };
}

/** `ansible-playbook --syntax-check`: its exit status and what it printed. */
export function syntaxCheck(fleet: Fleet, playbook: string, inventory: string): { status: number; output: string } {
  const result = spawnSync("ansible-playbook", ["--syntax-check", "-i", inventory, playbook], { encoding: "utf8", env: ansibleEnv(fleet) });
  return { status: result.status ?? -1, output: `${result.stdout}${result.stderr}` };
}

/** Runs ansible-playbook with the JSON callback; `callbacks` enables more (e.g. ansible.posix.profile_tasks). */
export function runPlaybook(fleet: Fleet, playbook: string, args: readonly string[] = [], callbacks: readonly string[] = []): PlaybookRun {
  const result = spawnSync("ansible-playbook", ["-i", fleet.inventory, playbook, ...args], {
    encoding: "utf8",
    maxBuffer: 256 * 1024 * 1024,
    env: {
      ...ansibleEnv(fleet),
      ANSIBLE_STDOUT_CALLBACK: "ansible.posix.json",
      ANSIBLE_CALLBACKS_ENABLED: callbacks.join(","),
      ANSIBLE_FORKS: process.env["FSB_FLEET_FORKS"] ?? "5",
    },
  });
  if (result.error) throw result.error;
  let json: PlaybookJson;
  try {
    json = JSON.parse(result.stdout) as PlaybookJson;
  } catch {
    throw new Error(`ansible-playbook ${playbook} printed no JSON (exit ${result.status}):\n${result.stdout.slice(-3000)}\n${result.stderr.slice(-3000)}`);
  }
  return { status: result.status ?? -1, json, stderr: result.stderr };
}

/** Each host's result of the task whose name ends with `name` (a role's tasks are prefixed with the role). */
export function taskResults(run: PlaybookRun, name: string): Map<string, HostResult> {
  const out = new Map<string, HostResult>();
  for (const play of run.json.plays) {
    for (const task of play.tasks) {
      if (task.task.name === name || task.task.name.endsWith(` : ${name}`)) {
        for (const [host, result] of Object.entries(task.hosts)) out.set(host, result);
      }
    }
  }
  return out;
}
