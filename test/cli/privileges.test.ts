// One rule for every command that changes a system: root on the real system,
// anyone who can write the tree under --root DIR. Same message, same exit code.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createContext, type IO } from "../../src/context.ts";
import { FsbError } from "../../src/errors.ts";
import { main } from "../../src/main.ts";
import { mayChangeSystem, requireRootToChange } from "../../src/services/privileges.ts";
import { createFakeRoot } from "../helpers/fake-root.ts";

function io(uid: number, out: { stdout: string; stderr: string } = { stdout: "", stderr: "" }): IO {
  return {
    stdout: { write: (text) => void (out.stdout += String(text)), isTTY: false },
    stderr: { write: (text) => void (out.stderr += String(text)), isTTY: false },
    env: { NO_COLOR: "1" },
    uid,
  };
}

test("root may change the real system, others only a tree under --root", async (t) => {
  const root = createFakeRoot();
  t.after(() => root.cleanup());
  const cases: { dir: string; uid: number; may: boolean }[] = [
    { dir: "/", uid: 0, may: true },
    { dir: "/", uid: 1000, may: false },
    { dir: root.dir, uid: 1000, may: true },
    { dir: root.dir, uid: 0, may: true },
  ];
  for (const { dir, uid, may } of cases) {
    const ctx = await createContext({ root: dir }, io(uid));
    assert.equal(mayChangeSystem(ctx), may, `${dir} as ${uid}`);
    if (may) requireRootToChange(ctx, "apply", ["usr/lib/modprobe.d"]);
    else {
      assert.throws(
        () => requireRootToChange(ctx, "apply", ["usr/lib/modprobe.d", "etc/modprobe.d"]),
        (error: unknown) =>
          error instanceof FsbError &&
          error.exitCode === 2 &&
          error.message === "apply changes usr/lib/modprobe.d and etc/modprobe.d and needs root" &&
          error.hint === "run it as root (sudo fsblacklist apply ...), or add --dry-run to see what it would change",
      );
    }
  }
});

test("allow on the real system as a user: exit 2 with the same message, before any planning", async () => {
  const out = { stdout: "", stderr: "" };
  const status = await main(["allow", "jfs"], io(1000, out));
  assert.equal(status, 2);
  assert.equal(out.stdout, "");
  assert.match(out.stderr, /allow changes etc\/modprobe\.d and needs root/);
  assert.match(out.stderr, /run it as root \(sudo fsblacklist allow \.\.\.\), or add --dry-run/);
});
