import { test } from "node:test";
import assert from "node:assert/strict";
import { equivalentCommands, initialState, pendingChanges, reviewReducer, visibleFilesystems, type ReviewAction, type ReviewPlan, type ReviewState } from "../../src/tui/review-state.ts";
import { keyToAction, type KeyContext, type KeyPress } from "../../src/tui/keys.ts";
import { filesystem, sampleReport } from "./sample.ts";

const plan = (overrides: Partial<ReviewPlan> = {}): ReviewPlan => ({
  files: [{ path: "etc/modprobe.d/60-blacklist_fs-jfs.conf", before: null, after: "# marker\n" }],
  notes: [],
  refused: [],
  apply: () => Promise.reject(new Error("not in a reducer test")),
  ...overrides,
});

function run(actions: readonly ReviewAction[], start: ReviewState = initialState(sampleReport(), true, { rows: 5, pageRows: 4, drawable: true })): ReviewState {
  return actions.reduce(reviewReducer, start);
}

const down = (n: number): ReviewAction[] => Array.from({ length: n }, () => ({ type: "move", by: 1 }) as const);
const type = (text: string): ReviewAction[] => [{ type: "filter-start" }, ...[...text].map((c) => ({ type: "filter-type", text: c }) as const)];

interface Case {
  name: string;
  actions: ReviewAction[];
  start?: ReviewState;
  expect: Partial<Pick<ReviewState, "selected" | "top" | "filter" | "pending" | "ended">> & { mode?: string; message?: RegExp | null; visible?: number };
}

const readOnly = initialState(sampleReport(), false, { rows: 5, pageRows: 4, drawable: true });

const cases: Case[] = [
  { name: "starts on the first filesystem, nothing pending", actions: [], expect: { selected: "adfs", top: 0, pending: {}, mode: "browse" } },
  { name: "down moves the cursor", actions: down(2), expect: { selected: "befs", top: 0 } },
  { name: "up at the top stays", actions: [{ type: "move", by: -1 }], expect: { selected: "adfs" } },
  { name: "moving past the window scrolls it", actions: down(6), expect: { selected: "erofs", top: 2 } },
  { name: "last and first", actions: [{ type: "move-to", where: "last" }], expect: { selected: "zonefs", top: 21 } },
  {
    name: "back to the first scrolls up",
    actions: [
      { type: "move-to", where: "last" },
      { type: "move-to", where: "first" },
    ],
    expect: { selected: "adfs", top: 0 },
  },
  { name: "page down moves a page less one line", actions: [{ type: "page", direction: 1 }], expect: { selected: "cramfs", top: 0 } },
  { name: "past the end stays on the last", actions: down(40), expect: { selected: "zonefs", top: 21 } },
  { name: "typing filters live", actions: type("fs"), expect: { filter: "fs", mode: "filter", visible: 22 } },
  { name: "filter matches states too", actions: type("kept"), expect: { filter: "kept", visible: 1, selected: "hfsplus" } },
  { name: "Enter keeps the filter", actions: [...type("jf"), { type: "filter-keep" }], expect: { filter: "jf", mode: "browse", visible: 2, selected: "jffs2" } },
  { name: "Esc clears the filter and keeps the selection", actions: [...type("jfs"), { type: "filter-clear" }], expect: { filter: "", mode: "browse", selected: "jfs", top: 9 } },
  { name: "erasing widens the filter", actions: [...type("jfsx"), { type: "filter-erase" }], expect: { filter: "jfs", visible: 1 } },
  { name: "a filter that matches nothing", actions: type("zzz"), expect: { visible: 0 } },
  { name: "space marks a blocked filesystem for allow", actions: [...down(13), { type: "toggle" }], expect: { selected: "jfs", pending: { jfs: "allow" } } },
  { name: "space again unmarks it", actions: [...down(13), { type: "toggle" }, { type: "toggle" }], expect: { pending: {} } },
  { name: "space marks a kept filesystem for block", actions: [...type("hfsplus"), { type: "toggle" }], expect: { pending: { hfsplus: "block" } } },
  { name: "space marks an allowed filesystem for block", actions: [...type("f2fs"), { type: "toggle" }], expect: { pending: { f2fs: "block" } } },
  { name: "space marks a pinned filesystem for allow", actions: [...type("minix"), { type: "toggle" }], expect: { pending: { minix: "allow" } } },
  { name: "space on a built-in filesystem explains", actions: [...type("erofs"), { type: "toggle" }], expect: { pending: {}, message: /built into the kernel/ } },
  {
    name: "space on an unavailable filesystem names the commands",
    actions: [...type("reiserfs"), { type: "toggle" }],
    expect: { pending: {}, message: /no module for this kernel \(other kernels: fsblacklist allow\|block reiserfs\)/ },
  },
  { name: "r marks our override for reset", actions: [...type("minix"), { type: "reset" }], expect: { pending: { minix: "reset" } } },
  { name: "r on the vendor default explains", actions: [{ type: "reset" }], expect: { pending: {}, message: /already follows the vendor default/ } },
  { name: "a message goes away with the next key", actions: [{ type: "reset" }, { type: "move", by: 1 }], expect: { message: null } },
  { name: "apply with nothing pending explains", actions: [{ type: "apply-request" }], expect: { mode: "browse", message: /Nothing to apply/ } },
  { name: "apply plans the pending changes", actions: [{ type: "toggle" }, { type: "apply-request" }], expect: { mode: "planning" } },
  { name: "the plan shows as a diff", actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan() }], expect: { mode: "diff" } },
  {
    name: "a plan that changes nothing drops the marks",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan({ files: [], notes: ["adfs: nothing to do"] }) }],
    expect: { mode: "browse", pending: {}, message: /Nothing would change on disk; adfs: nothing to do/ },
  },
  {
    name: "a failed plan keeps the marks",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-failed", error: "boom" }],
    expect: { mode: "browse", pending: { adfs: "allow" }, message: /boom/ },
  },
  { name: "y applies", actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan() }, { type: "confirm" }], expect: { mode: "applying" } },
  {
    name: "n goes back with the marks",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan() }, { type: "cancel" }],
    expect: { mode: "browse", pending: { adfs: "allow" }, message: /still pending/ },
  },
  {
    name: "y without root explains and offers the commands",
    start: readOnly,
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan() }, { type: "confirm" }],
    expect: { mode: "diff", message: /needs root.*fsblacklist allow adfs/ },
  },
  {
    name: "y on a plan with refusals does not apply",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan({ refused: ["adfs: an admin file"] }) }, { type: "confirm" }],
    expect: { mode: "diff", message: /Cannot apply/ },
  },
  {
    name: "applied: fresh report, marks cleared, summary shown",
    actions: [
      { type: "toggle" },
      { type: "apply-request" },
      { type: "plan-ready", plan: plan() },
      { type: "confirm" },
      { type: "applied", outcome: { report: { kernel: "k", notes: [], filesystems: [filesystem("adfs", { state: "allowed" })] }, summary: ["allow adfs: wrote x"] } },
    ],
    expect: { mode: "browse", pending: {}, message: /Applied: allow adfs: wrote x/ },
  },
  {
    name: "a failed apply keeps the marks",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan() }, { type: "confirm" }, { type: "apply-failed", error: "disk full" }],
    expect: { mode: "browse", pending: { adfs: "allow" }, message: /Not applied: disk full/ },
  },
  { name: "a late plan after leaving is ignored", actions: [{ type: "plan-ready", plan: plan() }], expect: { mode: "browse" } },
  { name: "q quits when nothing is pending", actions: [{ type: "quit-request" }], expect: { ended: "quit" } },
  { name: "q with pending changes asks", actions: [{ type: "toggle" }, { type: "quit-request" }], expect: { ended: null, mode: "quit-confirm" } },
  { name: "y drops them and quits", actions: [{ type: "toggle" }, { type: "quit-request" }, { type: "quit-confirm" }], expect: { ended: "quit" } },
  { name: "n stays", actions: [{ type: "toggle" }, { type: "quit-request" }, { type: "close" }], expect: { ended: null, mode: "browse", pending: { adfs: "allow" } } },
  // Ctrl-C is q from any view, and ends the review as interrupted (the command's status 130).
  { name: "Ctrl-C in the list quits at once when nothing is pending", actions: [{ type: "interrupt" }], expect: { ended: "interrupted" } },
  { name: "Ctrl-C in the list with a change pending asks", actions: [{ type: "toggle" }, { type: "interrupt" }], expect: { ended: null, mode: "quit-confirm", pending: { adfs: "allow" } } },
  { name: "Ctrl-C in the filter quits at once when nothing is pending", actions: [...type("jf"), { type: "interrupt" }], expect: { ended: "interrupted" } },
  { name: "Ctrl-C in the filter with a change pending asks", actions: [{ type: "toggle" }, ...type("jf"), { type: "interrupt" }], expect: { ended: null, mode: "quit-confirm" } },
  { name: "Ctrl-C in the help quits at once when nothing is pending", actions: [{ type: "help" }, { type: "interrupt" }], expect: { ended: "interrupted" } },
  { name: "Ctrl-C in the help with a change pending asks", actions: [{ type: "toggle" }, { type: "help" }, { type: "interrupt" }], expect: { ended: null, mode: "quit-confirm" } },
  { name: "Ctrl-C in the details with a change pending asks", actions: [{ type: "toggle" }, { type: "details" }, { type: "interrupt" }], expect: { ended: null, mode: "quit-confirm" } },
  {
    name: "Ctrl-C in the diff view asks, and n goes back with the marks",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan() }, { type: "interrupt" }, { type: "close" }],
    expect: { ended: null, mode: "browse", pending: { adfs: "allow" } },
  },
  {
    name: "Ctrl-C in the diff view asks",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan() }, { type: "interrupt" }],
    expect: { ended: null, mode: "quit-confirm" },
  },
  {
    name: "Ctrl-C while the plan is worked out asks, and the plan that comes late is dropped",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "interrupt" }, { type: "plan-ready", plan: plan() }],
    expect: { ended: null, mode: "quit-confirm" },
  },
  {
    name: "a second Ctrl-C at the question quits without writing, the marks left for the command to name",
    actions: [{ type: "toggle" }, { type: "interrupt" }, { type: "interrupt" }],
    expect: { ended: "interrupted", mode: "quit-confirm", pending: { adfs: "allow" } },
  },
  { name: "Ctrl-C at q's question quits as interrupted", actions: [{ type: "toggle" }, { type: "quit-request" }, { type: "interrupt" }], expect: { ended: "interrupted" } },
  { name: "y at Ctrl-C's question quits as interrupted", actions: [{ type: "toggle" }, { type: "interrupt" }, { type: "quit-confirm" }], expect: { ended: "interrupted" } },
  { name: "n at Ctrl-C's question stays", actions: [{ type: "toggle" }, { type: "interrupt" }, { type: "close" }], expect: { ended: null, mode: "browse", pending: { adfs: "allow" } } },
  {
    name: "Ctrl-C while a confirmed write runs quits at once (the command waits for the write)",
    actions: [{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: plan() }, { type: "confirm" }, { type: "interrupt" }],
    expect: { ended: "interrupted", mode: "applying" },
  },
  {
    name: "the Ctrl-C key asks and quits the same way",
    actions: [{ type: "toggle" }, ...[1, 2].map(() => ({ type: "key", input: "c", key: { ctrl: true } }) as const)],
    expect: { ended: "interrupted", pending: { adfs: "allow" } },
  },
  { name: "Ctrl-C typed right after another key (one string, \\x03) quits", actions: [{ type: "key", input: "j\u0003", key: {} }], expect: { selected: "affs", ended: "interrupted" } },
  {
    name: "in a window too small to draw in, Ctrl-C still quits",
    actions: [{ type: "toggle" }, { type: "resize", rows: 1, pageRows: 1, drawable: false }, ...[1, 2].map(() => ({ type: "key", input: "c", key: { ctrl: true } }) as const)],
    expect: { ended: "interrupted" },
  },
  { name: "Enter opens and closes the details", actions: [{ type: "details" }], expect: { mode: "details" } },
  { name: "? toggles the help", actions: [{ type: "help" }, { type: "help" }], expect: { mode: "browse" } },
  { name: "a smaller window scrolls to keep the cursor", actions: [...down(4), { type: "resize", rows: 2, pageRows: 2, drawable: true }], expect: { selected: "cramfs", top: 3 } },
  {
    name: "in a window too small to draw in, q with changes pending asks, and y there quits without writing",
    actions: [{ type: "toggle" }, { type: "resize", rows: 1, pageRows: 1, drawable: false }, ...["q", "y"].map((input) => ({ type: "key", input, key: {} }) as const)],
    expect: { ended: "quit", pending: { adfs: "allow" } },
  },
  {
    name: "in a window too small to draw in, n at the question goes back with the changes",
    actions: [{ type: "toggle" }, { type: "resize", rows: 1, pageRows: 1, drawable: false }, ...["q", "n", "y"].map((input) => ({ type: "key", input, key: {} }) as const)],
    expect: { ended: null, mode: "browse", pending: { adfs: "allow" } },
  },
  {
    name: "in a window too small to draw in, keys do nothing but quit",
    actions: [{ type: "resize", rows: 1, pageRows: 1, drawable: false }, ...[" ", "a", "y", "j"].map((input) => ({ type: "key", input, key: {} }) as const), { type: "key", input: "q", key: {} }],
    expect: { selected: "adfs", pending: {}, ended: "quit" },
  },
];

for (const c of cases) {
  test(`review state: ${c.name}`, () => {
    const state = run(c.actions, c.start);
    const { mode, message, visible, ...plain } = c.expect;
    for (const [key, value] of Object.entries(plain)) assert.deepEqual(state[key as keyof ReviewState], value, key);
    if (mode !== undefined) assert.equal(state.mode.kind, mode);
    if (message === null) assert.equal(state.message, null);
    else if (message !== undefined) assert.match(state.message?.text ?? "", message);
    if (visible !== undefined) assert.equal(visibleFilesystems(state).length, visible);
  });
}

test("review state: the diff scrolls within its lines", () => {
  const long = plan({ files: [{ path: "p", before: null, after: Array.from({ length: 20 }, (_, i) => `line ${i}\n`).join("") }] });
  const opened = run([{ type: "toggle" }, { type: "apply-request" }, { type: "plan-ready", plan: long }]);
  const scroll = (state: ReviewState): number => (state.mode.kind === "diff" ? state.mode.scroll : -1);
  // heading, ---, +++, @@ and 20 lines = 24 lines, 4 on screen: the last page starts at 20.
  assert.equal(scroll(run([{ type: "scroll-page", direction: 1 }], opened)), 3);
  assert.equal(
    scroll(
      run(
        Array.from({ length: 50 }, () => ({ type: "scroll", by: 1 }) as const),
        opened,
      ),
    ),
    20,
  );
  assert.equal(scroll(run([{ type: "scroll", by: -1 }], opened)), 0);
  assert.equal(scroll(run([{ type: "scroll", by: Infinity }], opened)), 20);
});

test("review state: pending changes come in list order and as commands", () => {
  const state = run([...type("jfs"), { type: "toggle" }, { type: "filter-clear" }, { type: "move-to", where: "first" }, { type: "toggle" }, ...type("minix"), { type: "reset" }]);
  assert.deepEqual(pendingChanges(state), [
    { name: "adfs", action: "allow" },
    { name: "jfs", action: "allow" },
    { name: "minix", action: "reset" },
  ]);
  assert.deepEqual(equivalentCommands(pendingChanges(state)), ["fsblacklist allow adfs jfs", "fsblacklist reset minix"]);
});

test("review state: keys that arrive together are read one at a time", () => {
  const state = run([{ type: "key", input: "/jfs\r ", key: {} }]);
  assert.equal(state.filter, "jfs");
  assert.equal(state.mode.kind, "browse");
  assert.deepEqual(state.pending, { jfs: "allow" });
  assert.equal(run([{ type: "key", input: "/jfx\u007fs", key: {} }]).filter, "jfs");
});

const keyCases: [string, KeyContext, string, KeyPress, ReviewAction | null][] = [
  ["j", { mode: "browse", filterActive: false }, "j", {}, { type: "move", by: 1 }],
  ["down arrow", { mode: "browse", filterActive: false }, "", { downArrow: true }, { type: "move", by: 1 }],
  ["k", { mode: "browse", filterActive: false }, "k", {}, { type: "move", by: -1 }],
  ["up arrow", { mode: "browse", filterActive: false }, "", { upArrow: true }, { type: "move", by: -1 }],
  ["page down", { mode: "browse", filterActive: false }, "", { pageDown: true }, { type: "page", direction: 1 }],
  ["G", { mode: "browse", filterActive: false }, "G", {}, { type: "move-to", where: "last" }],
  ["/", { mode: "browse", filterActive: false }, "/", {}, { type: "filter-start" }],
  ["space", { mode: "browse", filterActive: false }, " ", {}, { type: "toggle" }],
  ["r", { mode: "browse", filterActive: false }, "r", {}, { type: "reset" }],
  ["Enter", { mode: "browse", filterActive: false }, "\r", { return: true }, { type: "details" }],
  ["a", { mode: "browse", filterActive: false }, "a", {}, { type: "apply-request" }],
  ["?", { mode: "browse", filterActive: false }, "?", {}, { type: "help" }],
  ["q", { mode: "browse", filterActive: false }, "q", {}, { type: "quit-request" }],
  ["Esc quits", { mode: "browse", filterActive: false }, "", { escape: true }, { type: "quit-request" }],
  ["Esc clears a kept filter first", { mode: "browse", filterActive: true }, "", { escape: true }, { type: "filter-clear" }],
  ["an unbound key", { mode: "browse", filterActive: false }, "x", {}, null],
  ["filter: letters are text", { mode: "filter", filterActive: true }, "q", {}, { type: "filter-type", text: "q" }],
  ["filter: Enter keeps", { mode: "filter", filterActive: true }, "\r", { return: true }, { type: "filter-keep" }],
  ["filter: Esc clears", { mode: "filter", filterActive: true }, "", { escape: true }, { type: "filter-clear" }],
  ["filter: backspace erases", { mode: "filter", filterActive: true }, "", { backspace: true }, { type: "filter-erase" }],
  ["filter: ctrl keys are not text", { mode: "filter", filterActive: true }, "u", { ctrl: true }, null],
  ["details: j still moves", { mode: "details", filterActive: false }, "j", {}, { type: "move", by: 1 }],
  ["details: Esc closes", { mode: "details", filterActive: false }, "", { escape: true }, { type: "close" }],
  ["help: any key closes", { mode: "help", filterActive: false }, "x", {}, { type: "close" }],
  ["diff: y confirms", { mode: "diff", filterActive: false }, "y", {}, { type: "confirm" }],
  ["diff: n cancels", { mode: "diff", filterActive: false }, "n", {}, { type: "cancel" }],
  ["diff: Esc cancels", { mode: "diff", filterActive: false }, "", { escape: true }, { type: "cancel" }],
  ["diff: j scrolls", { mode: "diff", filterActive: false }, "j", {}, { type: "scroll", by: 1 }],
  ["diff: page down pages", { mode: "diff", filterActive: false }, "", { pageDown: true }, { type: "scroll-page", direction: 1 }],
  ["diff: G goes to the end", { mode: "diff", filterActive: false }, "G", {}, { type: "scroll", by: Infinity }],
  ["diff: other keys do nothing", { mode: "diff", filterActive: false }, "a", {}, null],
  ["quit-confirm: y quits", { mode: "quit-confirm", filterActive: false }, "y", {}, { type: "quit-confirm" }],
  ["quit-confirm: n goes back", { mode: "quit-confirm", filterActive: false }, "n", {}, { type: "close" }],
  ["quit-confirm: q is not yes", { mode: "quit-confirm", filterActive: false }, "q", {}, null],
  ["applying: keys wait", { mode: "applying", filterActive: false }, "q", {}, null],
  ...(["browse", "filter", "details", "help", "diff", "quit-confirm", "planning", "applying"] as const).flatMap((mode): [string, KeyContext, string, KeyPress, ReviewAction | null][] => [
    [`${mode}: Ctrl-C interrupts`, { mode, filterActive: false }, "c", { ctrl: true }, { type: "interrupt" }],
    [`${mode} with a filter: Ctrl-C interrupts`, { mode, filterActive: true }, "c", { ctrl: true }, { type: "interrupt" }],
  ]),
];

for (const [name, context, input, key, expected] of keyCases) {
  test(`keys: ${name}`, () => assert.deepEqual(keyToAction(context, input, key), expected));
}
