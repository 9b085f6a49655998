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

const PROGRAMS: readonly { name: string; programs: readonly string[] }[] = [
  { name: "Docker", programs: ["dockerd"] },
  { name: "containerd", programs: ["containerd"] },
  { name: "Podman", programs: ["podman"] },
  { name: "LXC", programs: ["lxc-start", "lxd", "incus"] },
];
const BIN_DIRS = ["usr/bin", "usr/sbin", "usr/local/bin", "usr/local/sbin", "bin", "sbin"];

/** Every runtime whose program is installed, the first path found for each. */
export function installedContainerRuntimes(fs: RootFs): ContainerRuntime[] {
  const found: ContainerRuntime[] = [];
  for (const { name, programs } of PROGRAMS) {
    const hit = BIN_DIRS.flatMap((dir) => programs.map((program) => `${dir}/${program}`)).find((file) => fs.resolve(file).kind === "file");
    if (hit !== undefined) found.push({ name, path: hit });
  }
  return found;
}
