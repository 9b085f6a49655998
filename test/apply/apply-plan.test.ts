// The pure plan of `apply`: table-tested without any file system.

import { test } from "node:test";
import assert from "node:assert/strict";
import { planApply, nextState, enforcementChanged, plannedFiles, renderKeepOverride, type PlanInput, type PolicyFragment, type VendorFile } from "../../src/decide/apply-plan.ts";
import { buildEffectiveConfig } from "../../src/kmod/effective-config.ts";
import { renderMarker, parseMarker } from "../../src/policy/marker.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import type { ApplyState } from "../../src/model.ts";
import { renderFragment, type PolicyEntry } from "../../src/policy/fragment.ts";

const NOW = "2025-06-01T12:00:00.000Z";

function fragment(module: string, since = "1.0.0", body = `blacklist ${module}\n`): PolicyFragment {
  const entry: PolicyEntry = { module, filesystems: [module], description: null, reason: `${module} is risky`, references: [], since, kernels: null, profiles: ["default"], file: "" };
  return { module, fileName: `60-blacklist_fs-${module}.conf`, content: `# fsblacklist-policy ${module}\n${body}`, since, reason: entry.reason, entry, foreign: [] };
}

function vendor(module: string, content: string, headerModule: string | null = module, dir = "usr/lib/modprobe.d"): VendorFile {
  return { path: `${dir}/60-blacklist_fs-${module}.conf`, content, headerModule };
}

function admin(module: string, content: string | null): { path: string; content: string | null } {
  return { path: `etc/modprobe.d/60-blacklist_fs-${module}.conf`, content };
}

function marker(kind: "keep" | "allow" | "block", module: string, body = ""): string {
  return renderMarker({ kind, module, reason: `${kind} reason`, date: "2024-01-01T00:00:00.000Z", kernel: "6.1.0-50-amd64" }) + body;
}

function state(overrides: Partial<ApplyState> = {}): ApplyState {
  return { policyVersion: "1.0.0", appliedAt: "2024-01-01T00:00:00.000Z", kept: [], installed: [], initramfsPending: false, initramfsOwedSince: null, ...overrides };
}

function input(overrides: Partial<PlanInput> = {}): PlanInput {
  return {
    vendorDir: "usr/lib/modprobe.d",
    adminDir: "etc/modprobe.d",
    policyVersion: "1.1.0",
    profile: "default",
    profiles: ["default"],
    profilesOf: new Map(),
    fragments: [fragment("jfs"), fragment("minix")],
    vendorFiles: [],
    adminFiles: [],
    evidence: [],
    keepSignals: ["loaded", "registered", "mounted", "fstab", "mount-units"],
    sawRunningKernel: true,
    kernel: "6.1.0-50-amd64",
    previous: null,
    now: NOW,
    ...overrides,
  };
}

const summary = (plan: ReturnType<typeof planApply>): string[] => plan.actions.map((a) => `${a.action} ${a.path}`);

test("a fresh system gets every fragment installed and nothing kept", () => {
  const plan = planApply(input());
  assert.deepEqual(summary(plan), ["install usr/lib/modprobe.d/60-blacklist_fs-jfs.conf", "install usr/lib/modprobe.d/60-blacklist_fs-minix.conf"]);
  assert.equal(plan.actions[0]!.content, fragment("jfs").content);
  assert.equal(plan.actions[0]!.reason, "jfs is risky");
  assert.deepEqual(plan.kept, []);
  assert.deepEqual(plan.installed, ["usr/lib/modprobe.d/60-blacklist_fs-jfs.conf", "usr/lib/modprobe.d/60-blacklist_fs-minix.conf"]);
  assert.deepEqual(plan.newEntries, [], "no earlier version: nothing is 'new in this update'");
});

test("an in-use filesystem is kept by a marked override written before its fragment", () => {
  const plan = planApply(
    input({
      evidence: [
        { module: "jfs", signal: "loaded", detail: "loaded in the running kernel (proc/modules)" },
        { module: "jfs", signal: "mounted", detail: "mounted at /srv (proc/self/mountinfo)" },
        { module: "vfat", signal: "mounted", detail: "mounted at /boot/efi" },
      ],
    }),
  );
  assert.deepEqual(summary(plan), ["keep etc/modprobe.d/60-blacklist_fs-jfs.conf", "install usr/lib/modprobe.d/60-blacklist_fs-jfs.conf", "install usr/lib/modprobe.d/60-blacklist_fs-minix.conf"]);
  const keep = plan.actions[0]!;
  assert.equal(keep.reason, "loaded in the running kernel (proc/modules); mounted at /srv (proc/self/mountinfo)");
  const written = parseMarker(keep.content!);
  assert.deepEqual(written, { kind: "keep", module: "jfs", reason: keep.reason, date: NOW, kernel: "6.1.0-50-amd64" });
  assert.match(keep.content!, /masks \/usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf/);
  assert.deepEqual(plan.kept, [{ module: "jfs", reason: keep.reason, since: NOW, kernel: "6.1.0-50-amd64" }]);
});

test("module names compare in kmod's normal form, and signals switched off in the configuration do not keep", () => {
  const plan = planApply(
    input({
      fragments: [fragment("foo_fs")],
      evidence: [
        { module: "foo-fs", signal: "loaded", detail: "loaded" },
        { module: "foo_fs", signal: "registered", detail: "registered" },
      ],
      keepSignals: ["registered"],
    }),
  );
  assert.deepEqual(
    plan.kept.map((k) => [k.module, k.reason]),
    [["foo_fs", "registered"]],
  );
  const always = planApply(input({ keepSignals: [], evidence: [{ module: "minix", signal: "always", detail: "keep.always in the configuration" }] }));
  assert.deepEqual(
    always.kept.map((k) => k.module),
    ["minix"],
    "keep.always needs no signal",
  );
});

test("an administrator's own file and our allow/block overrides always win and are never touched", () => {
  const uses = [
    { module: "jfs", signal: "loaded" as const, detail: "loaded" },
    { module: "minix", signal: "fstab" as const, detail: "etc/fstab:3" },
    { module: "hfs", signal: "mounted" as const, detail: "mounted" },
  ];
  const plan = planApply(
    input({
      fragments: [fragment("jfs"), fragment("minix"), fragment("hfs"), fragment("ufs")],
      adminFiles: [admin("jfs", "install jfs /bin/true\n"), admin("minix", marker("allow", "minix")), admin("hfs", marker("block", "hfs", "blacklist hfs\n")), admin("ufs", "")],
      evidence: uses,
    }),
  );
  const skips = plan.actions.filter((a) => a.action === "skip").map((a) => `${a.module}: ${a.reason}`);
  assert.deepEqual(skips, [
    "hfs: blocked by `fsblacklist block` (2024-01-01T00:00:00.000Z)",
    "jfs: the administrator's own file of this name decides",
    "minix: allowed by `fsblacklist allow` (2024-01-01T00:00:00.000Z)",
    "ufs: the administrator's own file of this name decides",
  ]);
  assert.ok(
    plan.actions.every((a) => a.action === "skip" || a.path.startsWith("usr/lib/")),
    "nothing is written in the admin directory",
  );
  assert.deepEqual(plan.kept, []);
  assert.equal(plan.notes.length, 1);
  assert.match(plan.notes[0]!, /^hfs is in use \(mounted\) but stays blocked by `fsblacklist block`/);
});

test("an existing keep stays while in use, and is lifted once nothing uses the filesystem", () => {
  const keepFile = admin("jfs", marker("keep", "jfs"));
  const still = planApply(input({ adminFiles: [keepFile], evidence: [{ module: "jfs", signal: "fstab", detail: "etc/fstab:2: /mnt (noauto)" }] }));
  assert.deepEqual(
    still.actions.filter((a) => a.path.startsWith("etc/")),
    [],
    "a keep for an fstab noauto entry survives and is not rewritten",
  );
  assert.deepEqual(still.kept, [{ module: "jfs", reason: "keep reason", since: "2024-01-01T00:00:00.000Z", kernel: "6.1.0-50-amd64" }]);

  const gone = planApply(input({ adminFiles: [keepFile] }));
  const unkeep = gone.actions.find((a) => a.action === "unkeep");
  assert.equal(unkeep?.path, "etc/modprobe.d/60-blacklist_fs-jfs.conf");
  assert.match(unkeep!.reason, /^no longer in use \(kept since 2024-01-01T00:00:00\.000Z: keep reason\)/);
  assert.deepEqual(gone.kept, []);
});

test("without a running kernel, keeps are never lifted (loaded or mounted cannot be seen)", () => {
  const plan = planApply(input({ adminFiles: [admin("jfs", marker("keep", "jfs"))], sawRunningKernel: false, kernel: null }));
  assert.ok(!plan.actions.some((a) => a.action === "unkeep"));
  assert.deepEqual(
    plan.kept.map((k) => k.module),
    ["jfs"],
  );
  assert.match(plan.notes.join("\n"), /jfs stays kept .*without a running kernel/);
  const fresh = planApply(input({ sawRunningKernel: false, kernel: null, evidence: [{ module: "minix", signal: "fstab", detail: "etc/fstab:1" }] }));
  assert.equal(parseMarker(fresh.actions[0]!.content!)?.kernel, null);
});

test("second run: identical files mean no actions", () => {
  const first = planApply(input({ evidence: [{ module: "jfs", signal: "loaded", detail: "loaded" }] }));
  const keep = first.actions.find((a) => a.action === "keep")!;
  const second = planApply(
    input({
      vendorFiles: first.actions.filter((a) => a.action === "install").map((a) => ({ path: a.path, content: a.content!, headerModule: a.module })),
      adminFiles: [{ path: keep.path, content: keep.content! }],
      evidence: [{ module: "jfs", signal: "loaded", detail: "loaded" }],
      previous: nextState(input(), first, { initramfsPending: false, initramfsOwedSince: null }),
      now: "2025-07-01T00:00:00.000Z",
    }),
  );
  assert.deepEqual(second.actions, []);
  assert.deepEqual(second.kept, first.kept);
  assert.deepEqual(second.installed, first.installed);
});

test("fragments: update ours, leave foreign files alone, remove what the policy dropped", () => {
  const plan = planApply(
    input({
      fragments: [fragment("jfs", "1.0.0", "blacklist jfs\ninstall jfs /bin/false\n"), fragment("minix"), fragment("ufs", "1.1.0"), fragment("hfs", "0.9.0")],
      vendorFiles: [
        vendor("jfs", "# fsblacklist-policy jfs\nblacklist jfs\n"),
        vendor("minix", "blacklist minix\n# the distribution's own file\n", null),
        vendor("hfs", "old text\n", null),
        vendor("cramfs", "# fsblacklist-policy cramfs\nblacklist cramfs\n"),
        vendor("qnx4", "blacklist qnx4\n", null),
        vendor("efs", "blacklist efs\n", null),
      ],
      previous: state({ installed: ["usr/lib/modprobe.d/60-blacklist_fs-hfs.conf", "usr/lib/modprobe.d/60-blacklist_fs-efs.conf"] }),
    }),
  );
  assert.deepEqual(summary(plan), [
    "update usr/lib/modprobe.d/60-blacklist_fs-hfs.conf",
    "update usr/lib/modprobe.d/60-blacklist_fs-jfs.conf",
    "install usr/lib/modprobe.d/60-blacklist_fs-ufs.conf",
    "remove usr/lib/modprobe.d/60-blacklist_fs-cramfs.conf",
    "remove usr/lib/modprobe.d/60-blacklist_fs-efs.conf",
    "skip usr/lib/modprobe.d/60-blacklist_fs-minix.conf",
  ]);
  assert.equal(plan.actions.find((a) => a.module === "cramfs")?.reason, "no longer in policy 1.1.0");
  assert.deepEqual(plan.newEntries, [{ module: "ufs", since: "1.1.0", reason: "ufs is risky" }]);
  assert.ok(!plan.installed.includes("usr/lib/modprobe.d/60-blacklist_fs-minix.conf"), "a foreign file is never claimed");
  assert.ok(!plan.actions.some((a) => a.path.endsWith("qnx4.conf")), "qnx4 was never ours");
});

test("without a recorded profile: profiles that write a fragment alike are named together, and another profile's fragment is said to be one", () => {
  const entry = (module: string, profiles: string[]): PolicyEntry => ({
    module,
    filesystems: [module],
    description: null,
    reason: `${module} is risky`,
    references: [],
    since: "1.0.0",
    kernels: null,
    profiles,
    file: "",
  });
  const minix = entry("minix", ["default", "cis", "cis-l1"]);
  const squashfs = entry("squashfs", ["cis"]);
  const plan = planApply(
    input({
      profiles: ["default", "cis", "cis-l1"],
      profilesOf: new Map([
        ["minix", minix.profiles],
        ["squashfs", squashfs.profiles],
      ]),
      fragments: [{ ...fragment("minix"), entry: minix, content: renderFragment(minix, "default") }],
      vendorFiles: [vendor("minix", renderFragment(minix, "cis")), vendor("squashfs", renderFragment(squashfs, "cis"))],
      // Two profiles hold exactly the installed modules: the state does not tell which one ran.
      previous: state({ policyVersion: "1.1.0", installed: ["usr/lib/modprobe.d/60-blacklist_fs-minix.conf"] }),
    }),
  );
  assert.deepEqual(
    plan.actions.map((a) => [a.action, a.module, a.reason]),
    [
      ["update", "minix", "profile changed from cis or cis-l1 to default: loading minix by name goes through fsblacklist's hook again"],
      ["remove", "squashfs", "not in profile default (only in cis)"],
    ],
  );
});

test("a new policy version that moves a module out of the profile says so", () => {
  const plan = planApply(
    input({
      profiles: ["default", "cis"],
      profilesOf: new Map([
        ["jfs", ["default", "cis"]],
        ["udf", ["cis"]],
      ]),
      fragments: [fragment("jfs")],
      vendorFiles: [vendor("jfs", fragment("jfs").content), vendor("udf", "# fsblacklist-policy udf\nblacklist udf\n")],
      previous: state({ profile: "default", installed: ["usr/lib/modprobe.d/60-blacklist_fs-jfs.conf", "usr/lib/modprobe.d/60-blacklist_fs-udf.conf"] }),
    }),
  );
  assert.deepEqual(
    plan.actions.map((a) => [a.action, a.module, a.reason]),
    [["remove", "udf", "policy 1.0.0 -> 1.1.0 took udf out of profile default (now only in cis)"]],
  );
});

test("a keep for a filesystem that left the policy goes after its fragment", () => {
  const plan = planApply(
    input({
      fragments: [fragment("minix")],
      vendorFiles: [vendor("minix", fragment("minix").content), vendor("jfs", "# fsblacklist-policy jfs\nblacklist jfs\n")],
      adminFiles: [admin("jfs", marker("keep", "jfs")), { path: "etc/modprobe.d/local.conf", content: marker("keep", "xfs") }, admin("ufs", marker("allow", "ufs"))],
      evidence: [{ module: "jfs", signal: "loaded", detail: "loaded" }],
    }),
  );
  assert.deepEqual(summary(plan), ["remove usr/lib/modprobe.d/60-blacklist_fs-jfs.conf", "unkeep etc/modprobe.d/60-blacklist_fs-jfs.conf", "unkeep etc/modprobe.d/local.conf"]);
});

test("a keep that masks a file we did not write stays when its filesystem leaves the policy", () => {
  const plan = planApply(
    input({
      fragments: [fragment("minix")],
      vendorFiles: [vendor("minix", fragment("minix").content), vendor("jfs", "blacklist jfs\n", null)],
      adminFiles: [admin("jfs", marker("keep", "jfs"))],
    }),
  );
  assert.deepEqual(summary(plan), []);
  assert.deepEqual(
    plan.kept.map((k) => k.module),
    ["jfs"],
  );
});

test("moving the vendor directory installs in the new place and removes the old files", () => {
  const plan = planApply(
    input({
      vendorDir: "lib/modprobe.d",
      fragments: [fragment("jfs")],
      vendorFiles: [vendor("jfs", fragment("jfs").content)],
      previous: state({ installed: ["usr/lib/modprobe.d/60-blacklist_fs-jfs.conf"] }),
    }),
  );
  assert.deepEqual(summary(plan), ["install lib/modprobe.d/60-blacklist_fs-jfs.conf", "remove usr/lib/modprobe.d/60-blacklist_fs-jfs.conf"]);
  assert.equal(plan.actions[1]!.reason, "the policy's fragments now go to lib/modprobe.d");
});

test("plannedFiles: what the actions write or remove, skips left out; enforcementChanged: comments do not count, lines do", () => {
  const jfs = "usr/lib/modprobe.d/60-blacklist_fs-jfs.conf";
  const keep = renderKeepOverride({ module: "jfs", reason: "loaded", since: NOW, kernel: null }, jfs);
  const files = plannedFiles([
    { action: "keep", path: "etc/modprobe.d/60-blacklist_fs-jfs.conf", module: "jfs", reason: "", content: keep },
    { action: "remove", path: "usr/lib/modprobe.d/60-blacklist_fs-old.conf", module: "old", reason: "" },
    { action: "skip", path: jfs, module: "jfs", reason: "" },
  ]);
  assert.deepEqual(
    [...files],
    [
      ["etc/modprobe.d/60-blacklist_fs-jfs.conf", keep],
      ["usr/lib/modprobe.d/60-blacklist_fs-old.conf", null],
    ],
  );

  const config = (text: string) =>
    buildEffectiveConfig({
      dirs: [{ dir: "usr/lib/modprobe.d", entries: [{ name: "60-blacklist_fs-jfs.conf", kind: "file" }] }],
      readFile: () => text,
      moduleDirFiles: [],
      cmdline: null,
      behaviour: kmodBehaviour(),
    });
  assert.equal(enforcementChanged(config("# old comment\nblacklist jfs\n"), config("# new comment\nblacklist jfs\n")), false);
  assert.equal(enforcementChanged(config("blacklist jfs\n"), config("blacklist jfs\ninstall jfs /bin/false\n")), true);
});
