import { test, afterEach } from "node:test";
import assert from "node:assert/strict";
import { stripVTControlCharacters } from "node:util";
import { render, cleanup } from "ink-testing-library";
import { App } from "../../src/tui/App.tsx";
import { filesystem, recordingServices, sampleReport, type RecordingServices } from "./sample.ts";
import { KEYS, press, renderSized, selectedRow, waitForFrame, type Driven } from "./terminal.ts";

afterEach(() => cleanup());

function start(options: { services?: RecordingServices; canApply?: boolean; colour?: boolean } = {}) {
  const services = options.services ?? recordingServices();
  const app = render(<App report={sampleReport()} services={services} canApply={options.canApply ?? true} colour={options.colour ?? false} />);
  return { app, services };
}

/** Selects a filesystem through the filter, then clears the filter (the cursor stays on it). */
async function select(app: Driven, name: string): Promise<void> {
  await press(app, "/", ...name, KEYS.escape);
  await waitForFrame(app, (f) => selectedRow(f).includes(` ${name} `) && !f.includes('filter "'));
}

test("arrows and j/k move the cursor, and the list scrolls to keep it visible", async () => {
  const { app } = start();
  await waitForFrame(app, (f) => selectedRow(f).includes("adfs"));
  await press(app, "j", KEYS.down);
  await waitForFrame(app, (f) => selectedRow(f).includes("befs"));
  await press(app, "k");
  await waitForFrame(app, (f) => selectedRow(f).includes("affs"));
  // zonefs is far below the first screen.
  assert.doesNotMatch(app.lastFrame()!, /zonefs/);
  await press(app, "G");
  const frame = await waitForFrame(app, (f) => selectedRow(f).includes("zonefs"));
  assert.doesNotMatch(frame, /^ {2}adfs /m);
  // The details pane follows the cursor.
  assert.match(frame, /─ zonefs ─/);
});

test("/ filters as you type, Enter keeps the filter, Esc clears it", async () => {
  const { app } = start();
  await press(app, "/", "j", "f");
  let frame = await waitForFrame(app, (f) => f.includes('filter "jf": 2 shown'));
  assert.match(frame, /^\/jf/m);
  const rows = frame.split("\n").filter((l) => /^[› ] \S/.test(l) && !l.includes("NAME"));
  assert.deepEqual(
    rows.map((l) => l.slice(2).split(/\s+/)[0]),
    ["jffs2", "jfs"],
  );
  await press(app, KEYS.enter);
  frame = await waitForFrame(app, (f) => !/^\/jf/m.test(f));
  assert.match(frame, /filter "jf": 2 shown/);
  await press(app, KEYS.escape);
  frame = await waitForFrame(app, (f) => !f.includes('filter "'));
  assert.match(frame, /adfs/);
});

test("space marks allow/block as pending, r marks a reset, and the marks show in the list and the details", async () => {
  const { app } = start();
  await select(app, "jfs");
  await press(app, KEYS.space);
  let frame = await waitForFrame(app, (f) => f.includes("1 pending"));
  assert.match(selectedRow(frame), /jfs +jfs +✗ blocked +· · · +→ allow/);
  assert.match(frame, /State +✗ blocked by usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf:5 +→ allow \(pending\)/);
  await select(app, "hfsplus");
  await press(app, KEYS.space);
  frame = await waitForFrame(app, (f) => f.includes("2 pending"));
  assert.match(selectedRow(frame), /hfsplus +hfsplus +✓ kept +L M F +→ block/);
  await select(app, "minix");
  await press(app, "r");
  frame = await waitForFrame(app, (f) => f.includes("3 pending"));
  assert.match(selectedRow(frame), /minix .*✗ pinned .*→ reset/);
  // Space again takes a mark back.
  await press(app, KEYS.space);
  await waitForFrame(app, (f) => f.includes("2 pending") && !selectedRow(f).includes("→"));
});

test("a shows the exact file changes as unified diffs and asks before writing", async () => {
  const { app, services } = start();
  await select(app, "jfs");
  await press(app, KEYS.space);
  await select(app, "minix");
  await press(app, "r", "a");
  const frame = await waitForFrame(app, (f) => f.includes("Changes to write: 2 files"));
  assert.deepEqual(services.planned, [
    [
      { name: "jfs", action: "allow" },
      { name: "minix", action: "reset" },
    ],
  ]);
  const lines = frame.split("\n");
  const at = (text: string): number => lines.indexOf(text);
  assert.ok(at("create etc/modprobe.d/60-blacklist_fs-jfs.conf") >= 0, frame);
  assert.equal(lines[at("create etc/modprobe.d/60-blacklist_fs-jfs.conf") + 1], "--- /dev/null");
  assert.equal(lines[at("create etc/modprobe.d/60-blacklist_fs-jfs.conf") + 2], "+++ b/etc/modprobe.d/60-blacklist_fs-jfs.conf");
  assert.ok(lines.includes("+# fsblacklist-override: allow"), frame);
  assert.equal(lines[at("remove etc/modprobe.d/60-blacklist_fs-minix.conf") + 1], "--- a/etc/modprobe.d/60-blacklist_fs-minix.conf");
  assert.equal(lines[at("remove etc/modprobe.d/60-blacklist_fs-minix.conf") + 2], "+++ /dev/null");
  assert.ok(lines.includes("@@ -1,2 +0,0 @@"), frame);
  assert.match(frame, /Write these changes\? y yes · n no/);
  assert.equal(services.applied, 0);
});

test("y writes through the service, then the list shows the new state and the marks are gone", async () => {
  const services = recordingServices({
    afterApply: () => ({ ...sampleReport(), filesystems: sampleReport().filesystems.map((fs) => (fs.name === "jfs" ? filesystem("jfs", { state: "allowed", decidedBy: null }) : fs)) }),
  });
  const { app } = start({ services });
  await select(app, "jfs");
  await press(app, KEYS.space, "a");
  await waitForFrame(app, (f) => f.includes("Write these changes?"));
  await press(app, "y");
  const frame = await waitForFrame(app, (f) => f.includes("Applied: allow jfs"));
  assert.equal(services.applied, 1);
  assert.match(selectedRow(frame), /jfs +jfs +✓ allowed/);
  assert.doesNotMatch(frame, /pending|→ allow/);
});

test("n leaves the diff without writing and keeps the marks", async () => {
  const { app, services } = start();
  await select(app, "jfs");
  await press(app, KEYS.space, "a");
  await waitForFrame(app, (f) => f.includes("Write these changes?"));
  await press(app, "n");
  const frame = await waitForFrame(app, (f) => f.includes("Not applied; the changes are still pending"));
  assert.equal(services.applied, 0);
  assert.match(selectedRow(frame), /→ allow/);
});

test("as non-root the diff shows, and applying explains that root is needed and which commands to run", async () => {
  const { app, services } = start({ canApply: false });
  let frame = await waitForFrame(app, (f) => f.includes("read-only (not root)"));
  await select(app, "jfs");
  await press(app, KEYS.space, "a");
  frame = await waitForFrame(app, (f) => f.includes("Changes to write: 1 file"));
  assert.match(frame, /Applying needs root\. As root run fsblacklist review again, or: fsblacklist allow jfs/);
  await press(app, "y");
  frame = await waitForFrame(app, (f) => f.includes("Applying needs root: run fsblacklist review as root, or: fsblacklist allow jfs"));
  assert.equal(services.applied, 0);
});

test("a plan the service cannot make shows its error and keeps the marks", async () => {
  const { app } = start({ services: recordingServices({ fail: "etc/modprobe.d/60-blacklist_fs-jfs.conf changed since the plan was made" }) });
  await select(app, "jfs");
  await press(app, KEYS.space, "a");
  const frame = await waitForFrame(app, (f) => f.includes("changed since the plan was made"));
  assert.match(frame, /1 pending/);
});

test("? shows the keys and the meaning of every symbol; any key closes it", async () => {
  const { app } = start();
  await press(app, "?");
  const frame = await waitForFrame(app, (f) => f.includes("any key closes"));
  for (const text of ["space", "mark allow / block", "apply: show the file changes", "✗ blocked", "✗ pinned", "✓ allowed", "✓ kept", "◆ built in", "- unavailable", "loaded, mounted, in etc/fstab"]) {
    assert.ok(frame.includes(text), `${text} in\n${frame}`);
  }
  await press(app, "x");
  await waitForFrame(app, (f) => f.includes("NAME") && !f.includes("any key closes"));
});

test("Enter shows everything about the selected filesystem", async () => {
  const { app } = start();
  await select(app, "hfsplus");
  await press(app, KEYS.enter);
  const frame = await waitForFrame(app, (f) => f.includes("Enter/Esc back"));
  assert.match(frame, /Why +kept in use by `fsblacklist apply`: hfsplus mounted at \/srv\/mac \(the policy blocks it, but\n +it is in use here/);
  assert.match(frame, /Used by +mounted at \/srv\/mac \(proc\/self\/mountinfo\); etc\/fstab:4/);
  assert.match(frame, /fsblacklist block hfsplus/);
  await press(app, KEYS.escape);
  await waitForFrame(app, (f) => f.includes("NAME"));
});

test("quitting with pending changes asks first; n stays, y quits without writing", async () => {
  const services = recordingServices();
  const app = renderSized(<App report={sampleReport()} services={services} canApply colour={false} />, 80, 24);
  let exited = false;
  void app.exited.then(() => (exited = true));
  await select(app, "jfs");
  await press(app, KEYS.space, "q");
  await waitForFrame(app, (f) => f.includes("1 change is not applied yet. Quit and drop it?"));
  assert.match(app.lastFrame()!, /pending: allow jfs/);
  await press(app, "n");
  await waitForFrame(app, (f) => f.includes("NAME"));
  assert.equal(exited, false);
  await press(app, KEYS.escape);
  await waitForFrame(app, (f) => f.includes("Quit and drop it?"));
  await press(app, "y");
  await app.exited;
  assert.equal(services.applied, 0);
});

test("q quits at once when nothing is pending", async () => {
  const app = renderSized(<App report={sampleReport()} services={recordingServices()} canApply colour={false} />, 80, 24);
  await waitForFrame(app, (f) => f.includes("NAME"));
  await press(app, "q");
  assert.equal(await app.exited, "quit");
});

test("Ctrl-C with a change pending asks first from the list, the filter, the help and the diff; n goes back with the marks", async () => {
  const { app, services } = start();
  await select(app, "jfs");
  await press(app, KEYS.space);
  await waitForFrame(app, (f) => f.includes("1 pending"));
  const interruptAndGoBack = async (view: string): Promise<void> => {
    await press(app, KEYS.ctrlC);
    const frame = await waitForFrame(app, (f) => f.includes("1 change is not applied yet. Quit and drop it?"));
    assert.match(frame, /pending: allow jfs/, view);
    assert.match(frame, /y or Ctrl-C quit without applying · n back/, view);
    await press(app, "n");
    await waitForFrame(app, (f) => f.includes("NAME") && selectedRow(f).includes("→ allow"));
  };
  await interruptAndGoBack("list");
  await press(app, "/");
  await waitForFrame(app, (f) => /^\/▏/m.test(f));
  await interruptAndGoBack("filter");
  await press(app, "?");
  await waitForFrame(app, (f) => f.includes("any key closes"));
  await interruptAndGoBack("help");
  await press(app, "a");
  await waitForFrame(app, (f) => f.includes("Write these changes?"));
  await interruptAndGoBack("diff");
  assert.equal(services.applied, 0);
});

test("a second Ctrl-C at the question quits without writing, as interrupted", async () => {
  const services = recordingServices();
  const app = renderSized(<App report={sampleReport()} services={services} canApply colour={false} />, 80, 24);
  await select(app, "jfs");
  await press(app, KEYS.space, "a");
  await waitForFrame(app, (f) => f.includes("Write these changes?"));
  await press(app, KEYS.ctrlC);
  await waitForFrame(app, (f) => f.includes("Quit and drop it?"));
  await press(app, KEYS.ctrlC);
  assert.equal(await app.exited, "interrupted");
  assert.equal(services.applied, 0);
});

test("a plan still being worked out when Ctrl-C left is dropped: the next a shows the plan for the marks then", async () => {
  const services = recordingServices();
  const plan = services.plan.bind(services);
  const held: (() => void)[] = [];
  services.plan = async (changes) => {
    await new Promise<void>((resolve) => held.push(resolve));
    return plan(changes);
  };
  const { app } = start({ services });
  await select(app, "jfs");
  await press(app, KEYS.space, "a");
  await waitForFrame(app, (f) => f.includes("Working out the file changes"));
  await press(app, KEYS.ctrlC);
  await waitForFrame(app, (f) => f.includes("Quit and drop it?"));
  await press(app, "n");
  await select(app, "adfs");
  await press(app, KEYS.space, "a");
  await waitForFrame(app, (f) => f.includes("2 pending") && f.includes("Working out the file changes"));
  // The first plan (jfs alone) comes now, while the second is worked out.
  held[0]!();
  await new Promise((resolve) => setTimeout(resolve, 50));
  assert.match(app.lastFrame()!, /Working out the file changes/);
  held[1]!();
  const frame = await waitForFrame(app, (f) => f.includes("Changes to write"));
  assert.match(frame, /Changes to write: 2 files/);
  assert.deepEqual(services.planned, [
    [{ name: "jfs", action: "allow" }],
    [
      { name: "adfs", action: "allow" },
      { name: "jfs", action: "allow" },
    ],
  ]);
});

test("Ctrl-C with nothing pending quits at once, as interrupted", async () => {
  const app = renderSized(<App report={sampleReport()} services={recordingServices()} canApply colour={false} />, 80, 24);
  await waitForFrame(app, (f) => f.includes("NAME"));
  await press(app, KEYS.ctrlC);
  assert.equal(await app.exited, "interrupted");
});

test("without colour (NO_COLOR) the frame has no escape codes and still reads", async () => {
  // The real terminal's colours are checked in review-e2e.test.ts (chalk draws none into a pipe).
  const { app } = start({ colour: false });
  const frame = await waitForFrame(app, (f) => f.includes("NAME"));
  assert.equal(frame, stripVTControlCharacters(frame));
  assert.match(frame, /✗ blocked/);
});
