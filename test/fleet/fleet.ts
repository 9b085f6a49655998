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
    for (const [i, spec] of specs.entries()) hosts.push({ name: `host${String(i + 1).padStart(2, "0")}`, root: createFakeRoot(spec) });
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

/** An Ansible command (`ansible-playbook --syntax-check ...`, `ansible-doc ...`) with the fleet's settings: its exit status and what it printed. */
export function ansibleTool(fleet: Fleet, command: string, args: readonly string[]): { status: number; output: string } {
  const result = spawnSync(command, args, { encoding: "utf8", env: ansibleEnv(fleet) });
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

export interface HostCase {
  spec: FakeRootSpec;
  /**
   * What apply keeps under the host's configured profile, by module, with the reason it gives (the
   * evidence of use it found), and what cis-l2 keeps on top (its extra modules).
   */
  kept: Record<string, string>;
  keptCisL2?: Record<string, string>;
}

/** A host's keeps as the test expects them: "module: reason", sorted; with cis-l2's on top when asked. */
export function expectedKeeps(c: HostCase, cisL2 = false): string[] {
  return Object.entries({ ...c.kept, ...(cisL2 ? c.keptCisL2 : {}) })
    .map(([module, reason]) => `${module}: ${reason}`)
    .sort();
}

const ROOT_MOUNT = { source: "/dev/vda1", target: "/", fstype: "ext4" };
const mountUnit = (what: string, where: string, type: string): string => `[Mount]\nWhat=${what}\nWhere=${where}\nType=${type}\n`;
const LOADED = (m: string): string => `${m} loaded (proc/modules)`;

/**
 * 22 hosts, each with its own evidence of use (a loaded module, a registered type, a mount, an fstab
 * entry, a mount unit, a keep rule), so that what apply keeps, and why, differs from host to host.
 */
export const FLEET_CASES: readonly HostCase[] = [
  { spec: {}, kept: {} },
  { spec: { loaded: ["jfs"] }, kept: { jfs: LOADED("jfs") } },
  { spec: { loaded: ["minix"], registered: ["minix"] }, kept: { minix: `${LOADED("minix")}; minix registered (proc/filesystems)` } },
  { spec: { mounts: [ROOT_MOUNT, { source: "/dev/sdc2", target: "/mnt/mac", fstype: "hfsplus" }] }, kept: { hfsplus: "hfsplus mounted at /mnt/mac (proc/self/mountinfo:6)" } },
  { spec: { fstab: "/dev/vda1 / ext4 defaults 0 1\n/dev/sdb1 /mnt/old minix noauto 0 0\n" }, kept: { minix: "minix /dev/sdb1 on /mnt/old, noauto (etc/fstab:2)" } },
  { spec: { fstab: "/dev/sr0 /media/cdrom udf ro,noauto 0 0\n" }, kept: {}, keptCisL2: { udf: "udf /dev/sr0 on /media/cdrom, noauto (etc/fstab:1)" } },
  { spec: { mountUnits: { "srv-data.mount": mountUnit("/dev/sdd1", "/srv/data", "jfs") } }, kept: { jfs: "jfs /dev/sdd1 on /srv/data (etc/systemd/system/srv-data.mount)" } },
  { spec: { loaded: ["hfs"], fstab: "/dev/sdc3 /mnt/backup hfsplus noauto 0 0\n" }, kept: { hfs: LOADED("hfs"), hfsplus: "hfsplus /dev/sdc3 on /mnt/backup, noauto (etc/fstab:1)" } },
  // A cloud kernel, whose module index has fewer filesystems.
  { spec: { kernel: "6.1.0-50-cloud-amd64", loaded: ["romfs"] }, kept: { romfs: LOADED("romfs") } },
  { spec: { kernel: "6.12.100+deb12-amd64", loaded: ["nilfs2"] }, kept: { nilfs2: LOADED("nilfs2") } },
  // An image being built: no running kernel, fstab alone decides.
  { spec: { running: false, fstab: "/dev/sdf1 /srv jfs defaults 0 2\n" }, kept: { jfs: "jfs /dev/sdf1 on /srv (etc/fstab:1)" } },
  // An administrator's install line for a policy module stays the one kmod runs.
  {
    spec: { mounts: [ROOT_MOUNT, { source: "/dev/sdj1", target: "/mnt/acorn", fstype: "adfs" }], files: { "etc/modprobe.d/local.conf": "install cramfs /bin/false\n" } },
    kept: { adfs: "adfs mounted at /mnt/acorn (proc/self/mountinfo:6)" },
  },
  // Debian 12's kmod 30 does not read usr/lib/modprobe.d: the fragments go to lib/modprobe.d.
  { spec: { kmodVersion: "30+20221128-1", fstab: "/dev/sde1 /mnt/os2 hpfs noauto 0 0\n" }, kept: { hpfs: "hpfs /dev/sde1 on /mnt/os2, noauto (etc/fstab:1)" } },
  { spec: { loaded: ["affs"], files: { "etc/fsblacklist/config.yaml": "profile: cis-l1\n" } }, kept: { affs: LOADED("affs") } },
  { spec: { files: { "etc/fsblacklist/config.yaml": "keep:\n  always: [hfsplus]\n" } }, kept: { hfsplus: "listed in keep.always (etc/fsblacklist/config.yaml)" } },
  { spec: { loaded: ["ufs"] }, kept: { ufs: LOADED("ufs") } },
  { spec: { mounts: [ROOT_MOUNT, { source: "/dev/nvme0n1p3", target: "/data", fstype: "f2fs" }] }, kept: { f2fs: "f2fs mounted at /data (proc/self/mountinfo:6)" } },
  {
    spec: { loaded: ["befs"], mounts: [ROOT_MOUNT, { source: "/dev/sdg1", target: "/mnt/haiku", fstype: "befs" }] },
    kept: { befs: `${LOADED("befs")}; befs mounted at /mnt/haiku (proc/self/mountinfo:6)` },
  },
  {
    spec: { loaded: ["squashfs"], mounts: [ROOT_MOUNT, { source: "/var/lib/snapd/snaps/core_1.snap", target: "/snap/core/1", fstype: "squashfs" }] },
    kept: {},
    keptCisL2: { squashfs: `${LOADED("squashfs")}; squashfs mounted at /snap/core/1 (proc/self/mountinfo:6)` },
  },
  {
    spec: { loaded: ["overlay"], mounts: [ROOT_MOUNT, { source: "overlay", target: "/var/lib/docker/overlay2/a/merged", fstype: "overlay" }] },
    kept: {},
    keptCisL2: { overlay: `${LOADED("overlay")}; overlay mounted at /var/lib/docker/overlay2/a/merged (proc/self/mountinfo:6)` },
  },
  {
    spec: { loaded: ["reiserfs"], mountUnits: { "mnt-old.mount": mountUnit("/dev/sdh1", "/mnt/old", "minix") } },
    kept: { minix: "minix /dev/sdh1 on /mnt/old (etc/systemd/system/mnt-old.mount)", reiserfs: LOADED("reiserfs") },
  },
  // The host whose modprobe.d is made read-only in the last test.
  { spec: { mounts: [ROOT_MOUNT, { source: "/dev/sdi1", target: "/mnt/qnx", fstype: "qnx6" }] }, kept: { qnx6: "qnx6 mounted at /mnt/qnx (proc/self/mountinfo:6)" } },
];
