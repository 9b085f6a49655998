// A fake initramfs tool inside a fake root: a shell and its libraries, so that
// `chroot ROOT /usr/bin/dracut` runs, and a dracut script that logs its
// arguments inside the root and exits with a chosen status.

import { spawnSync } from "node:child_process";
import * as fs from "node:fs";
import * as path from "node:path";

/** A shell and its libraries inside the root, so that `chroot ROOT /usr/bin/dracut` can run a script. */
export function installShell(root: string): void {
  const copy = (file: string): void => {
    const target = path.join(root, file);
    fs.mkdirSync(path.dirname(target), { recursive: true });
    fs.copyFileSync(fs.realpathSync(file), target);
    fs.chmodSync(target, 0o755);
  };
  copy("/bin/sh");
  const ldd = spawnSync("ldd", [fs.realpathSync("/bin/sh")], { encoding: "utf8" }).stdout;
  for (const lib of ldd.matchAll(/(\/\S+\.so[.\d]*)/g)) copy(lib[1]!);
}

/** A fake dracut that logs its arguments inside the root and exits with `status`. */
export function installDracut(root: string, status: number): void {
  const file = path.join(root, "usr/bin/dracut");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.mkdirSync(path.join(root, "var/log"), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\necho "dracut $*" >> /var/log/dracut-runs\necho "dracut: cannot build an image here" >&2\nexit ${status}\n`, { mode: 0o755 });
}

/** The fake dracut's runs so far, one line each. */
export function dracutRuns(root: string): string[] {
  const log = path.join(root, "var/log/dracut-runs");
  return fs.existsSync(log) ? fs.readFileSync(log, "utf8").trim().split("\n") : [];
}
