import { test } from "node:test";
import assert from "node:assert/strict";
import { stripVTControlCharacters } from "node:util";
import { App } from "../../src/tui/App.tsx";
import type { ReviewPlan, ReviewReport } from "../../src/tui/review-state.ts";
import { filesystem, recordingServices, sampleReport } from "./sample.ts";
import { KEYS, press, renderSized, selectedRow, waitForFrame, type SizedApp } from "./terminal.ts";

/** Text as long and as hostile as files can make it: long lines, tabs, an escape sequence. */
function wideReport(): ReviewReport {
  const report = sampleReport();
  report.notes = ["no running kernel under this root: decided from etc/fstab alone ".repeat(3)];
  report.filesystems = report.filesystems.map((fs) =>
    fs.name === "jfs"
      ? filesystem("jfs", {
          reason: "JFS, the journaled file system from IBM: unmaintained upstream, and syzbot keeps finding memory-safety bugs in its metadata parsing ".repeat(2),
          references: Array.from({ length: 12 }, (_, i) => `CVE-2024-${26600 + i}`),
          decidedBy: `etc/modprobe.d/${"very-long-name-".repeat(6)}jfs.conf:12`,
          usedBy: ["mounted at /srv/a\tb \u001b[31mred\u001b[0m (proc/self/mountinfo)", ...Array.from({ length: 10 }, (_, i) => `etc/fstab:${i + 1}`)],
        })
      : fs,
  );
  return report;
}

function longPlanServices() {
  const services = recordingServices();
  const plan = services.plan.bind(services);
  services.plan = async (changes): Promise<ReviewPlan> => {
    const made = await plan(changes);
    return { ...made, files: [{ path: "etc/modprobe.d/60-blacklist_fs-jfs.conf", before: null, after: Array.from({ length: 40 }, (_, i) => `# line ${i} ${"x".repeat(100)}\n`).join("") }] };
  };
  return services;
}

function assertFits(frame: string, columns: number, rows: number, what: string): void {
  // Every line within the width (no wrapping) and one line short of the height.
  assert.doesNotMatch(frame, /\u001b/, `${what}: no escape codes without colour`);
  const lines = frame.split("\n");
  assert.ok(lines.length <= rows - 1, `${what}: ${lines.length} lines in a ${rows}-row terminal:\n${frame}`);
  for (const line of lines) {
    assert.ok([...stripVTControlCharacters(line)].length <= columns, `${what}: line wider than ${columns}: ${JSON.stringify(line)}`);
  }
}

async function openEveryView(app: SizedApp, columns: number, rows: number): Promise<void> {
  const check = async (what: string, ok: (frame: string) => boolean): Promise<void> => assertFits(await waitForFrame(app, ok), columns, rows, what);
  await check("list", (f) => f.includes("NAME"));
  await press(app, "/", "j", "f", "s");
  await check("filter", (f) => /^\/jfs/m.test(f));
  await press(app, KEYS.enter, KEYS.enter);
  await check("details", (f) => f.includes("State") && !f.includes("NAME"));
  await press(app, KEYS.escape, "?");
  await check("help", (f) => f.includes("any key closes"));
  await press(app, "x", KEYS.space, "a");
  await check("diff", (f) => f.includes("Changes to write"));
  await press(app, KEYS.pageDown, "G");
  await check("diff scrolled to its end", (f) => f.includes("# line 39"));
  await press(app, "n", "q");
  await check("quit confirmation", (f) => f.includes("y yes · n no"));
}

test("in 80x24 every view fits: no line wraps, the frame is one line short of the screen", async () => {
  const app = renderSized(<App report={wideReport()} services={longPlanServices()} canApply colour={false} />, 80, 24);
  try {
    await openEveryView(app, 80, 24);
  } finally {
    app.unmount();
  }
});

test("in 40x10, the smallest size it draws in, every view still fits", async () => {
  const app = renderSized(<App report={wideReport()} services={longPlanServices()} canApply colour={false} />, 40, 10);
  try {
    await openEveryView(app, 40, 10);
  } finally {
    app.unmount();
  }
});

test("resizing redraws for the new size and keeps the cursor in view", async () => {
  const app = renderSized(<App report={sampleReport()} services={recordingServices()} canApply colour={false} />, 80, 24);
  try {
    await waitForFrame(app, (f) => f.includes("NAME"));
    await press(app, "G");
    await waitForFrame(app, (f) => selectedRow(f).includes("zonefs"));
    app.resize(60, 14);
    let frame = await waitForFrame(app, (f) => f.split("\n").length <= 13 && selectedRow(f).includes("zonefs"));
    assertFits(frame, 60, 14, "60x14");
    app.resize(120, 40);
    frame = await waitForFrame(app, (f) => f.includes("adfs") && f.includes("zonefs"));
    assertFits(frame, 120, 40, "120x40");
    // All 26 filesystems fit now.
    assert.equal(frame.split("\n").filter((l) => /^[› ] [a-z]/.test(l)).length, 26);
    app.resize(30, 8);
    frame = await waitForFrame(app, (f) => f.includes("Terminal too small"));
    assertFits(frame, 30, 8, "30x8");
    // Keys that would change something are ignored while nothing can be seen.
    await press(app, KEYS.space, "a", "y");
    app.resize(80, 24);
    frame = await waitForFrame(app, (f) => selectedRow(f).includes("zonefs"));
    assert.doesNotMatch(frame, /pending|→/);
    // A change marked, then the window shrinks: the small window says so, and q's question shows there.
    await press(app, KEYS.space);
    app.resize(30, 8);
    frame = await waitForFrame(app, (f) => f.includes("1 pending change"));
    assertFits(frame, 30, 8, "30x8 with a change pending");
    assert.match(frame.replaceAll("\n", " "), /q asks before\s+quitting/);
    await press(app, "q");
    frame = await waitForFrame(app, (f) => f.includes("Quit without"));
    assertFits(frame, 30, 8, "30x8 asking");
    assert.match(frame.replaceAll("\n", " "), /y quits, n\s+goes back/);
  } finally {
    app.unmount();
  }
});
