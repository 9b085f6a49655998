// `fsblacklist review` with CI set, in a real terminal (tmux): the UI is still
// interactive (Ink would draw only a last frame if it believed it ran in CI),
// and what the review runs (here the initramfs tool, after applying) inherits
// the user's environment unchanged. Needs the bundle, tmux, root (chroot).

import { test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { BIN, runCli } from "../helpers/cli.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";
import { installShell } from "../helpers/initramfs-tool.ts";
import { TmuxTerminal } from "../helpers/tmux.ts";

const ENV_LOG = "var/log/dracut-env";

/** A dracut inside the root that records the CI variables it was started with. */
function installEnvRecordingDracut(root: string): void {
  const file = path.join(root, "usr/bin/dracut");
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.mkdirSync(path.join(root, "var/log"), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\necho "CI=\${CI-unset} CONTINUOUS_INTEGRATION=\${CONTINUOUS_INTEGRATION-unset}" >> /${ENV_LOG}\n`, { mode: 0o755 });
}

const selected = (screen: string): string => screen.split("\n").find((line) => line.startsWith("›")) ?? "";

test("with CI set, review stays interactive and the initramfs tool it runs sees CI unchanged", { skip: process.getuid?.() !== 0 && "chroot needs root" }, async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  assert.equal(runCli(["apply", "--root", root.dir]).status, 0);
  installShell(root.dir);
  installEnvRecordingDracut(root.dir);
  fs.mkdirSync(path.join(root.dir, "etc/fsblacklist"), { recursive: true });
  fs.writeFileSync(path.join(root.dir, "etc/fsblacklist/config.yaml"), "initramfs: {mode: regenerate, underRoot: true}\n");
  const terminal = new TmuxTerminal([process.execPath, BIN, "review", "--root", root.dir], { env: { NO_COLOR: "1", CI: "true", CONTINUOUS_INTEGRATION: "1" } });
  try {
    // Every step shows while the review runs: in CI mode Ink would show nothing until it ends.
    await terminal.waitFor(/fsblacklist review · kernel/);
    terminal.text("/jfs");
    terminal.keys("Enter");
    await terminal.waitFor((s) => selected(s).includes(" jfs "));
    terminal.keys("Space");
    await terminal.waitFor(/1 pending/);
    terminal.keys("a");
    await terminal.waitFor(/Write these changes\? y yes · n no/);
    terminal.keys("y");
    await terminal.waitFor(/Applied: allow jfs: wrote etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf; rebuilt the/);
    terminal.keys("q");
    assert.equal(await terminal.exitStatus(), 0);
    assert.deepEqual(fs.readFileSync(path.join(root.dir, ENV_LOG), "utf8").trim().split("\n"), ["CI=true CONTINUOUS_INTEGRATION=1"]);
  } finally {
    terminal.close();
  }
});
