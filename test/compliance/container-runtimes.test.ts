// Which container runtimes make `overlay` kept under cis-l2: a table of fake
// roots with real files and links, each runtime reported by its own name (LXD
// and Incus are not LXC), and through apply the keep's reason as the real kmod
// leaves overlay loadable.

import { test } from "node:test";
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { runInProcess } from "../helpers/cli.ts";
import { installedContainerRuntimes } from "../../src/system/container-runtimes.ts";
import { RootFs } from "../../src/system/root-fs.ts";

const SCRIPT = "#!/bin/sh\n";

interface Case {
  name: string;
  /** Files to write (text), and links: [path, target]. */
  files?: Record<string, string>;
  links?: [string, string][];
  /** The runtimes found, as [name, path], in table order. */
  found: [string, string][];
}

const CASES: Case[] = [
  { name: "nothing installed", found: [] },
  { name: "Docker", files: { "usr/bin/dockerd": SCRIPT }, found: [["Docker", "usr/bin/dockerd"]] },
  { name: "the docker client alone runs no containers here", files: { "usr/bin/docker": SCRIPT }, found: [] },
  { name: "containerd", files: { "usr/bin/containerd": SCRIPT }, found: [["containerd", "usr/bin/containerd"]] },
  { name: "Podman in usr/local", files: { "usr/local/bin/podman": SCRIPT }, found: [["Podman", "usr/local/bin/podman"]] },
  { name: "LXC", files: { "usr/bin/lxc-start": SCRIPT }, found: [["LXC", "usr/bin/lxc-start"]] },
  { name: "LXD from a package", files: { "usr/sbin/lxd": SCRIPT, "usr/bin/lxc": SCRIPT }, found: [["LXD", "usr/sbin/lxd"]] },
  {
    name: "LXD from the snap: /snap/bin/lxd links to snap's launcher",
    files: { "usr/bin/snap": SCRIPT },
    links: [["snap/bin/lxd", "/usr/bin/snap"]],
    found: [["LXD", "snap/bin/lxd"]],
  },
  { name: "a snap link without snapd leads nowhere", links: [["snap/bin/lxd", "/usr/bin/snap"]], found: [] },
  { name: "Incus's client", files: { "usr/bin/incus": SCRIPT }, found: [["Incus", "usr/bin/incus"]] },
  { name: "Incus's daemon outside PATH", files: { "usr/libexec/incus/incusd": SCRIPT }, found: [["Incus", "usr/libexec/incus/incusd"]] },
  {
    name: "several at once, each by its own name",
    files: { "usr/bin/dockerd": SCRIPT, "usr/bin/containerd": SCRIPT, "usr/bin/lxc-start": SCRIPT, "usr/bin/incus": SCRIPT, "usr/bin/snap": SCRIPT },
    links: [["snap/bin/lxd", "/usr/bin/snap"]],
    found: [
      ["Docker", "usr/bin/dockerd"],
      ["containerd", "usr/bin/containerd"],
      ["LXC", "usr/bin/lxc-start"],
      ["LXD", "snap/bin/lxd"],
      ["Incus", "usr/bin/incus"],
    ],
  },
  { name: "a directory of the program's name is no program", files: { "usr/bin/podman/readme": SCRIPT }, found: [] },
  { name: "a link out of the root is followed inside it", links: [["usr/bin/dockerd", "/usr/bin/env"]], found: [] },
];

function build(c: Case): { dir: string; cleanup(): void } {
  const root = createFakeRoot({ kmodVersion: "34.2-2", files: { ...(c.files ?? {}), "etc/fsblacklist/config.yaml": "profile: cis-l2\n" } });
  for (const [at, target] of c.links ?? []) {
    fs.mkdirSync(path.dirname(path.join(root.dir, at)), { recursive: true });
    fs.symlinkSync(target, path.join(root.dir, at));
  }
  return root;
}

for (const c of CASES) {
  test(`container runtimes: ${c.name}`, (t) => {
    const root = build(c);
    t.after(() => root.cleanup());
    assert.deepEqual(
      installedContainerRuntimes(new RootFs(root.dir)).map((r) => [r.name, r.path]),
      c.found,
    );
  });
}

test("apply under cis-l2 keeps overlay for LXD from the snap and names LXD; the real kmod loads overlay and blocks squashfs", async (t) => {
  const root = build(CASES.find((c) => c.name.startsWith("LXD from the snap"))!);
  t.after(() => root.cleanup());
  const result = await runInProcess(["--root", root.dir, "apply", "--json"]);
  assert.equal(result.status, 0, result.stderr);
  const json = JSON.parse(result.stdout) as { kept: { module: string; reason: string }[]; deviations: { module: string; reason: string }[] };
  assert.deepEqual(
    json.kept.map((k) => [k.module, k.reason]),
    [["overlay", "container runtime LXD installed (snap/bin/lxd)"]],
  );
  assert.match(json.deviations.find((d) => d.module === "overlayfs")?.reason ?? "", /kept loadable: container runtime LXD installed/);
  const dirs = ["etc/modprobe.d", "run/modprobe.d", "usr/local/lib/modprobe.d", "usr/lib/modprobe.d", "lib/modprobe.d"].flatMap((d) => ["-C", path.join(root.dir, d)]);
  const config = spawnSync("modprobe", [...dirs, "-d", root.dir, "-S", "6.1.0-50-amd64", "-c"], { encoding: "utf8" }).stdout.split("\n");
  assert.ok(!config.some((l) => l === "blacklist overlay" || l.startsWith("install overlay ")), "kmod lets overlay load");
  assert.ok(config.includes("install squashfs /bin/false"), "kmod blocks squashfs");
});
