// The pure override decisions, one row per rule: the facts (modprobe.d files
// in memory, the kernel command line, the policy's fragment) go in, the change
// to one override file comes out. No file system: the configuration before and
// after is built with the kmod model from the same in-memory files.

import { test } from "node:test";
import assert from "node:assert/strict";
import * as path from "node:path";
import { modprobeDirs, type ListedEntry } from "../../src/kmod/config-files.ts";
import type { ConfigInputs } from "../../src/kmod/effective-config.ts";
import type { SystemNow } from "../../src/decide/simulate.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { decideOverride, plannedText, type CurrentOverride, type OverrideAction, type OverrideFacts, type OverrideRequest } from "../../src/decide/override-plan.ts";
import { blockDirectives, fragmentName, hookInstallLine } from "../../src/policy/fragment.ts";
import { parseMarker, renderMarker } from "../../src/policy/marker.ts";

const VENDOR = "usr/lib/modprobe.d";
const ADMIN = "etc/modprobe.d";
const DATE = "2026-01-02T03:04:05.000Z";
const EARLIER = "2025-06-07T08:09:10.000Z";
/** A link to /dev/null in place of a file. */
const DEVNULL = Symbol("devnull");

type Files = Record<string, string | typeof DEVNULL>;

const behaviour = kmodBehaviour();
const vendorFragment = (module: string): string => `# fsblacklist-policy: fragment\nblacklist ${module}\n${hookInstallLine(module)}\n`;
const vendorPath = (module: string): string => `${VENDOR}/${fragmentName(module)}`;
const overridePath = (module: string): string => `${ADMIN}/${fragmentName(module)}`;
const ours = (kind: "allow" | "block" | "keep", module: string, body = "", date = EARLIER): string => renderMarker({ kind, module, reason: "set earlier", date, kernel: "6.1.0-50-amd64" }) + body;

function nowOf(files: Files, cmdline: string | null): SystemNow {
  const dirs = modprobeDirs(behaviour).map((dir) => {
    const entries: ListedEntry[] = Object.entries(files)
      .filter(([file]) => path.posix.dirname(file) === dir)
      .map(([file, content]) => ({ name: path.posix.basename(file), kind: content === DEVNULL ? "devnull" : "file" }));
    return { dir, entries: entries.length > 0 ? entries : null };
  });
  const inputs: ConfigInputs = {
    dirs,
    readFile: (file) => {
      const content = files[file];
      return content === undefined ? null : content === DEVNULL ? "" : content;
    },
    moduleDirFiles: [],
    cmdline,
    behaviour,
  };
  return { inputs, index: null, loaded: new Set() };
}

function currentOf(content: string | typeof DEVNULL | undefined): CurrentOverride {
  if (content === undefined) return { owner: "none", text: null, marker: null, what: "" };
  if (content === DEVNULL) return { owner: "admin", text: null, marker: null, what: "a link to /dev/null" };
  const marker = parseMarker(content);
  return { owner: marker === null ? "admin" : "ours", text: content, marker, what: "a file" };
}

interface Row {
  title: string;
  request: OverrideRequest;
  module: string;
  /** Name as given (default: the module). */
  name?: string;
  files: Files;
  cmdline?: string;
  /** The module is in the policy (its fragment is the vendor one). */
  inPolicy?: boolean;
  blockNotes?: string[];
  inUse?: string[];
  expect: {
    action: OverrideAction;
    reason: RegExp;
    notes?: RegExp[];
    affectsBlacklist: boolean;
    /** The file afterwards: "before" (unchanged), null (none), or a check of the new text. */
    after: "before" | null | ((text: string) => void);
  };
}

const ROWS: Row[] = [
  {
    title: "allow over a vendor fragment: an override masks it",
    request: "allow",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs") },
    inPolicy: true,
    expect: {
      action: "allow",
      reason: /^kmod no longer blacklists jfs \(masks usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf\)$/,
      affectsBlacklist: true,
      after: (text) => {
        assert.deepEqual(parseMarker(text), { kind: "allow", module: "jfs", reason: "allowed by the administrator (fsblacklist allow)", date: DATE, kernel: "6.1.0-50-amd64" });
        assert.equal(text, renderMarker(parseMarker(text)!), "an allow override has no body");
      },
    },
  },
  {
    title: "allow refused by another file's blacklist line",
    request: "allow",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [`${ADMIN}/local.conf`]: "# mine\nblacklist jfs\n" },
    inPolicy: true,
    expect: {
      action: "refused",
      reason: /^jfs would stay unloadable: etc\/modprobe\.d\/local\.conf:2 blacklists jfs; fsblacklist does not manage those lines$/,
      notes: [/^comment out those lines or mask their files from etc\/modprobe\.d yourself .*then run fsblacklist allow jfs again$/],
      affectsBlacklist: false,
      after: null,
    },
  },
  {
    title: "allow refused by the kernel command line",
    request: "allow",
    module: "minix",
    files: {},
    cmdline: "root=/dev/vda1 modprobe.blacklist=minix",
    expect: {
      action: "refused",
      reason: /^minix would stay unloadable: modprobe\.blacklist=minix on the kernel command line;/,
      notes: [/^remove those words from the kernel command line in the boot loader's configuration and reboot, then run fsblacklist allow minix again$/],
      affectsBlacklist: false,
      after: null,
    },
  },
  {
    title: "allow refused by another file's install line that keeps the module out",
    request: "allow",
    module: "hfs",
    files: { [vendorPath("hfs")]: vendorFragment("hfs"), [`${ADMIN}/local.conf`]: "install hfs /bin/false\n" },
    inPolicy: true,
    expect: {
      action: "refused",
      reason: /^hfs would stay unloadable: etc\/modprobe\.d\/local\.conf:1 runs `\/bin\/false` instead of loading hfs;/,
      notes: [/^comment out those lines/],
      affectsBlacklist: false,
      after: null,
    },
  },
  {
    title: "allow of a module nothing blacklists and the policy does not list: no override needed",
    request: "allow",
    module: "btrfs",
    files: {},
    expect: { action: "unchanged", reason: /^nothing blacklists btrfs; no override needed$/, affectsBlacklist: false, after: null },
  },
  {
    title: "allow of a policy module not installed yet: guards against a later apply",
    request: "allow",
    module: "jfs",
    files: {},
    inPolicy: true,
    expect: {
      action: "allow",
      reason: /^jfs stays allowed, even when a later fsblacklist apply installs the policy$/,
      affectsBlacklist: false,
      after: (text) => assert.equal(parseMarker(text)?.kind, "allow"),
    },
  },
  {
    title: "allow again: our allow override stays as it is, with its original date",
    request: "allow",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [overridePath("jfs")]: ours("allow", "jfs") },
    inPolicy: true,
    expect: { action: "unchanged", reason: /^already allowed by etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf$/, affectsBlacklist: false, after: "before" },
  },
  {
    title: "allow over an administrator's link to /dev/null that already allows it: nothing to do, never touched",
    request: "allow",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [overridePath("jfs")]: DEVNULL },
    inPolicy: true,
    expect: {
      action: "unchanged",
      reason: /^already allowed: nothing blacklists jfs \(etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf is the administrator's link to \/dev\/null\)$/,
      affectsBlacklist: false,
      after: null,
    },
  },
  {
    title: "allow over an administrator's file that still blacklists: refused, never touched",
    request: "allow",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [overridePath("jfs")]: "blacklist jfs\n" },
    inPolicy: true,
    expect: {
      action: "refused",
      reason: /^etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf is a file without fsblacklist's marker: it belongs to the administrator/,
      notes: [/^to allow jfs, remove its blacklist line from .* yourself, or delete the file/],
      affectsBlacklist: false,
      after: "before",
    },
  },
  {
    title: "allow refused while a second install line would take over from ours: every line named",
    request: "allow",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [`${ADMIN}/a.conf`]: "install jfs /bin/false;\n", "run/modprobe.d/b.conf": "install j?s \\\n  true && false\n" },
    inPolicy: true,
    expect: {
      action: "refused",
      reason: /^jfs would stay unloadable: etc\/modprobe\.d\/a\.conf:1 runs `\/bin\/false;` instead of loading jfs; run\/modprobe\.d\/b\.conf:1 runs `  true && false` instead of loading jfs;/,
      notes: [/^comment out those lines/],
      affectsBlacklist: false,
      after: null,
    },
  },
  {
    title: "block of a module outside the policy: the blacklist line and our install line",
    request: "block",
    module: "btrfs",
    files: {},
    blockNotes: ["btrfs is in use: mounted on / (proc/self/mountinfo)"],
    expect: {
      action: "block",
      reason: /^kmod blacklists btrfs, and fsblacklist apply will not lift it even when btrfs is in use$/,
      notes: [/^btrfs is in use: mounted on \/ /],
      affectsBlacklist: true,
      after: (text) => {
        assert.equal(parseMarker(text)?.kind, "block");
        assert.ok(text.endsWith(`\nblacklist btrfs\n${hookInstallLine("btrfs")}\n`), text);
      },
    },
  },
  {
    title: "block of a policy module: the policy's own fragment after the marker",
    request: "block",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs") },
    inPolicy: true,
    expect: {
      action: "block",
      reason: /^kmod blacklists jfs, and fsblacklist apply/,
      affectsBlacklist: false,
      after: (text) =>
        assert.equal(text, renderMarker({ kind: "block", module: "jfs", reason: "blocked by the administrator (fsblacklist block)", date: DATE, kernel: "6.1.0-50-amd64" }) + vendorFragment("jfs")),
    },
  },
  {
    title: "block over our allow override: blacklisted again",
    request: "block",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [overridePath("jfs")]: ours("allow", "jfs") },
    inPolicy: true,
    expect: { action: "block", reason: /^kmod blacklists jfs/, affectsBlacklist: true, after: (text) => assert.equal(parseMarker(text)?.date, DATE) },
  },
  {
    title: "block again: unchanged, the notes still said",
    request: "block",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [overridePath("jfs")]: ours("block", "jfs", vendorFragment("jfs")) },
    inPolicy: true,
    blockNotes: ["jfs is built into kernel 6.1.0-50-amd64: a blacklist has no effect on it"],
    expect: { action: "unchanged", reason: /^already blocked by etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf$/, notes: [/built into kernel/], affectsBlacklist: false, after: "before" },
  },
  {
    title: "reset of our keep of a module in use: removed, blacklisted again, and the admin is told to run apply",
    request: "reset",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [overridePath("jfs")]: ours("keep", "jfs") },
    inPolicy: true,
    inUse: ["jfs loaded (proc/modules)"],
    expect: {
      action: "remove",
      reason: /^the default applies again: blacklisted by /,
      notes: [/^jfs is in use \(jfs loaded \(proc\/modules\)\) and blacklisted again: run fsblacklist apply to keep it loadable$/],
      affectsBlacklist: true,
      after: null,
    },
  },
  {
    title: "reset of our allow override: removed, the vendor blacklist applies again",
    request: "reset",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [overridePath("jfs")]: ours("allow", "jfs") },
    inPolicy: true,
    expect: { action: "remove", reason: /^the default applies again: blacklisted by usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf:2$/, affectsBlacklist: true, after: null },
  },
  {
    title: "reset of apply's keep override of a module nothing else blacklists",
    request: "reset",
    module: "minix",
    files: { [overridePath("minix")]: ours("keep", "minix") },
    expect: { action: "remove", reason: /^the default applies again: nothing blacklists minix$/, affectsBlacklist: false, after: null },
  },
  {
    title: "reset of an administrator's file: refused, never removed",
    request: "reset",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs"), [overridePath("jfs")]: "# my own choice\n" },
    inPolicy: true,
    expect: {
      action: "refused",
      reason: /^etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf is a file without fsblacklist's marker/,
      notes: [/^if the vendor default should apply, delete etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf yourself$/],
      affectsBlacklist: false,
      after: "before",
    },
  },
  {
    title: "reset without an override: nothing to do",
    request: "reset",
    module: "jfs",
    files: { [vendorPath("jfs")]: vendorFragment("jfs") },
    inPolicy: true,
    expect: { action: "unchanged", reason: /^no override in etc\/modprobe\.d\/60-blacklist_fs-jfs\.conf; the default applies$/, affectsBlacklist: false, after: null },
  },
];

for (const row of ROWS) {
  test(`override plan: ${row.title}`, () => {
    const file = overridePath(row.module);
    const cmdline = row.cmdline ?? null;
    const facts: OverrideFacts = {
      request: row.request,
      name: row.name ?? row.module,
      module: row.module,
      file,
      current: currentOf(row.files[file]),
      policyFragment: row.inPolicy === true ? vendorFragment(row.module) : null,
      blockDirectives: blockDirectives(row.module, "default", true).join("\n") + "\n",
      stamp: { reason: null, date: DATE, kernel: "6.1.0-50-amd64" },
      now: nowOf(row.files, cmdline),
      blockNotes: row.blockNotes ?? [],
      inUse: row.inUse ?? [],
    };
    const change = decideOverride(facts);

    assert.equal(change.action, row.expect.action, change.reason);
    assert.match(change.reason, row.expect.reason);
    assert.equal(change.notes.length, row.expect.notes?.length ?? 0, change.notes.join("\n"));
    row.expect.notes?.forEach((note, i) => {
      assert.match(change.notes[i]!, note);
    });
    assert.equal(change.affectsBlacklist, row.expect.affectsBlacklist);
    assert.deepEqual([change.name, change.module, change.path, change.before], [facts.name, row.module, file, facts.current.text]);
    const { after } = row.expect;
    if (after === "before") assert.equal(change.after, change.before);
    else if (after === null) assert.equal(change.after, null);
    else {
      assert.notEqual(change.after, null);
      after(change.after!);
    }
  });
}

test("override plan: a reason given by the caller is recorded in the marker", () => {
  const facts: OverrideFacts = {
    request: "allow",
    name: "jfs",
    module: "jfs",
    file: overridePath("jfs"),
    current: currentOf(undefined),
    policyFragment: vendorFragment("jfs"),
    blockDirectives: blockDirectives("jfs", "default", true).join("\n") + "\n",
    stamp: { reason: "allowed at the prompt of `modprobe jfs`", date: DATE, kernel: null },
    now: nowOf({}, null),
    blockNotes: [],
    inUse: [],
  };
  assert.deepEqual(parseMarker(plannedText(facts)!), { kind: "allow", module: "jfs", reason: "allowed at the prompt of `modprobe jfs`", date: DATE, kernel: null });
});
