// Container runtimes installed under the root. They mount overlay for every
// container, so a benchmark profile that blocks overlay keeps it loadable on
// such a host (and reports the keep as a deviation): a host that runs
// containers today must not stop running them after a package update.

import type { RootFs } from "./root-fs.ts";

export interface ContainerRuntime {
  name: string;
  /** Root-relative path of the program found. */
  path: string;
}

/**
 * Each runtime by its own name, and the programs that show it installed: names
 * in the usual bin directories, or a root-relative path. LXD and Incus are not
 * LXC (LXD's client is even called `lxc`, which is why that name is no sign of
 * LXC here): each is reported as itself. The snap of LXD puts /snap/bin/lxd, a
 * link to snap's launcher (followed inside the root: snapd must be there too).
 */
const RUNTIMES: readonly { name: string; programs: readonly string[]; paths?: readonly string[] }[] = [
  { name: "Docker", programs: ["dockerd"] },
  { name: "containerd", programs: ["containerd"] },
  { name: "Podman", programs: ["podman"] },
  { name: "LXC", programs: ["lxc-start"] },
  { name: "LXD", programs: ["lxd"], paths: ["snap/bin/lxd"] },
  // Incus keeps its daemon out of PATH (its packaging recommendations); the client is in it.
  { name: "Incus", programs: ["incusd", "incus"], paths: ["usr/libexec/incus/incusd", "usr/lib/incus/incusd", "opt/incus/bin/incusd"] },
];
const BIN_DIRS = ["usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin", "bin", "sbin"];

/** Every runtime whose program is installed, the first path found for each. */
export function installedContainerRuntimes(fs: RootFs): ContainerRuntime[] {
  const found: ContainerRuntime[] = [];
  for (const { name, programs, paths = [] } of RUNTIMES) {
    const candidates = [...BIN_DIRS.flatMap((dir) => programs.map((program) => `${dir}/${program}`)), ...paths];
    const hit = candidates.find((file) => isFile(fs, file));
    if (hit !== undefined) found.push({ name, path: hit });
  }
  return found;
}

/** A file once links are followed inside the root; a path that cannot be followed (a loop, no permission) is none. */
function isFile(fs: RootFs, file: string): boolean {
  try {
    return fs.resolve(file).kind === "file";
  } catch {
    return false;
  }
}
