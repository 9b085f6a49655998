// The pure plan of `uninstall`: which files are ours to remove, in which order,
// and what stays. Table-tested without any file system.

import { test } from "node:test";
import assert from "node:assert/strict";
import { planUninstall, removals, uninstalledState, type UninstallInput } from "../../src/decide/uninstall-plan.ts";
import type { VendorFile } from "../../src/decide/apply-plan.ts";
import { renderMarker } from "../../src/policy/marker.ts";
import type { ApplyState } from "../../src/model.ts";

const VENDOR = "usr/lib/modprobe.d";
const ADMIN = "etc/modprobe.d";
const name = (module: string): string => `60-blacklist_fs-${module}.conf`;
const OURS = (module: string): string => `# fsblacklist-policy: fragment\n# filesystem: ${module}\nblacklist ${module}\n`;

function vendor(module: string, content: string | null = OURS(module), dir = VENDOR, headerModule: string | null = content === OURS(module) ? module : null): VendorFile {
  return { path: `${dir}/${name(module)}`, content, headerModule };
}

function marked(kind: "keep" | "allow" | "block", module: string): { path: string; content: string } {
  const body = kind === "block" ? `blacklist ${module}\n` : "";
  return { path: `${ADMIN}/${name(module)}`, content: renderMarker({ kind, module, reason: `${kind} reason`, date: "2024-01-01T00:00:00.000Z", kernel: "6.1.0-50-amd64" }) + body };
}

function input(overrides: Partial<UninstallInput> = {}): UninstallInput {
  return { vendorFiles: [], adminFiles: [], installed: [], purge: false, ...overrides };
}

const summary = (plan: ReturnType<typeof planUninstall>): string[] => plan.actions.map((a) => `${a.action} ${a.path}`);

const CASES: { name: string; input: UninstallInput; plain: string[]; purge: string[] }[] = [
  {
    name: "nothing of ours: nothing to do",
    input: input({ vendorFiles: [{ path: `${VENDOR}/50-other.conf`, content: "options foo bar=1\n", headerModule: null }], adminFiles: [{ path: `${ADMIN}/local.conf`, content: "blacklist jfs\n" }] }),
    plain: [],
    purge: [],
  },
  {
    name: "our fragments go first, then apply's keeps that masked them",
    input: input({ vendorFiles: [vendor("minix"), vendor("jfs")], adminFiles: [marked("keep", "jfs")] }),
    plain: [`remove ${VENDOR}/${name("jfs")}`, `remove ${VENDOR}/${name("minix")}`, `remove ${ADMIN}/${name("jfs")}`],
    purge: [`remove ${VENDOR}/${name("jfs")}`, `remove ${VENDOR}/${name("minix")}`, `remove ${ADMIN}/${name("jfs")}`],
  },
  {
    name: "allow and block overrides are the administrator's decisions: they stay unless purging",
    input: input({ vendorFiles: [vendor("ufs")], adminFiles: [marked("allow", "ufs"), marked("block", "hfs")] }),
    plain: [`remove ${VENDOR}/${name("ufs")}`, `leave ${ADMIN}/${name("hfs")}`, `leave ${ADMIN}/${name("ufs")}`],
    purge: [`remove ${VENDOR}/${name("ufs")}`, `remove ${ADMIN}/${name("hfs")}`, `remove ${ADMIN}/${name("ufs")}`],
  },
  {
    name: "a file without our marker in the admin directory is never removed, purge or not",
    input: input({
      adminFiles: [
        { path: `${ADMIN}/${name("jfs")}`, content: "install jfs /bin/true\n" },
        { path: `${ADMIN}/${name("hfs")}`, content: null },
        { path: `${ADMIN}/other.conf`, content: "" },
      ],
    }),
    plain: [`leave ${ADMIN}/${name("hfs")}`, `leave ${ADMIN}/${name("jfs")}`],
    purge: [`leave ${ADMIN}/${name("hfs")}`, `leave ${ADMIN}/${name("jfs")}`],
  },
  {
    name: "a vendor file of our name without our header (another package's) stays, whatever the state says",
    input: input({
      vendorFiles: [vendor("jfs", "blacklist jfs\n"), vendor("hfs", "blacklist hfs\n"), vendor("minix", ""), vendor("ufs", null)],
      installed: [`${VENDOR}/${name("hfs")}`],
    }),
    plain: [`leave ${VENDOR}/${name("hfs")}`, `leave ${VENDOR}/${name("jfs")}`, `leave ${VENDOR}/${name("minix")}`, `leave ${VENDOR}/${name("ufs")}`],
    purge: [`leave ${VENDOR}/${name("hfs")}`, `leave ${VENDOR}/${name("jfs")}`, `leave ${VENDOR}/${name("minix")}`, `leave ${VENDOR}/${name("ufs")}`],
  },
  {
    name: "our header under another file name is not ours to remove; a listed file of another name is reported",
    input: input({
      vendorFiles: [
        { path: `${VENDOR}/99-local.conf`, content: OURS("jfs"), headerModule: "jfs" },
        { path: "usr/local/lib/modprobe.d/mine.conf", content: OURS("hfs"), headerModule: "hfs" },
      ],
      installed: ["usr/local/lib/modprobe.d/mine.conf"],
    }),
    plain: ["leave usr/local/lib/modprobe.d/mine.conf"],
    purge: ["leave usr/local/lib/modprobe.d/mine.conf"],
  },
  {
    name: "fragments in every vendor directory (kmod before 32 read lib/modprobe.d) are removed",
    input: input({ vendorFiles: [vendor("jfs", OURS("jfs"), "lib/modprobe.d"), vendor("jfs")], installed: [`lib/modprobe.d/${name("jfs")}`] }),
    plain: [`remove lib/modprobe.d/${name("jfs")}`, `remove ${VENDOR}/${name("jfs")}`],
    purge: [`remove lib/modprobe.d/${name("jfs")}`, `remove ${VENDOR}/${name("jfs")}`],
  },
  {
    name: "a keep that masks a vendor file we did not write stays (it keeps an in-use filesystem loadable) unless purging",
    input: input({ vendorFiles: [vendor("jfs", "blacklist jfs\n"), vendor("minix")], adminFiles: [marked("keep", "jfs"), marked("keep", "minix")] }),
    plain: [`remove ${VENDOR}/${name("minix")}`, `remove ${ADMIN}/${name("minix")}`, `leave ${ADMIN}/${name("jfs")}`, `leave ${VENDOR}/${name("jfs")}`],
    purge: [`remove ${VENDOR}/${name("minix")}`, `remove ${ADMIN}/${name("jfs")}`, `remove ${ADMIN}/${name("minix")}`, `leave ${VENDOR}/${name("jfs")}`],
  },
  {
    name: "a keep whose fragment is gone already (an interrupted run) is still removed",
    input: input({ adminFiles: [marked("keep", "jfs")] }),
    plain: [`remove ${ADMIN}/${name("jfs")}`],
    purge: [`remove ${ADMIN}/${name("jfs")}`],
  },
];

for (const c of CASES) {
  test(`plan: ${c.name}`, () => {
    assert.deepEqual(summary(planUninstall({ ...c.input, purge: false })), c.plain, "plain");
    assert.deepEqual(summary(planUninstall({ ...c.input, purge: true })), c.purge, "--purge");
  });
}

test("every action names its module and why; the reasons say what stays and how to remove it", () => {
  const plan = planUninstall(
    input({
      vendorFiles: [vendor("jfs", "blacklist jfs\n"), vendor("hfs", "blacklist hfs\n"), vendor("minix")],
      adminFiles: [marked("keep", "jfs"), marked("allow", "ufs"), { path: `${ADMIN}/${name("qnx4")}`, content: "blacklist qnx4\n" }],
      installed: [`${VENDOR}/${name("hfs")}`],
    }),
  );
  const why = Object.fromEntries(plan.actions.map((a) => [`${a.action} ${a.file} ${a.module}`, a.reason]));
  assert.deepEqual(Object.keys(why).sort(), ["leave fragment hfs", "leave fragment jfs", "leave override jfs", "leave override qnx4", "leave override ufs", "remove fragment minix"]);
  assert.equal(why["remove fragment minix"], "fragment installed by `fsblacklist apply` (recognised by its policy header)");
  assert.match(why["leave fragment jfs"]!, /^usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf does not start with fsblacklist's policy header: not fsblacklist's, left alone$/);
  assert.match(why["leave fragment hfs"]!, /the state file lists it, so someone replaced the fragment apply installed/);
  assert.match(
    why["leave override jfs"]!,
    /^apply's keep \(keep reason\) masks usr\/lib\/modprobe\.d\/60-blacklist_fs-jfs\.conf, which fsblacklist did not write .*`fsblacklist uninstall --purge` removes it$/,
  );
  assert.match(why["leave override ufs"]!, /^the administrator's decision `fsblacklist allow` \(2024-01-01T00:00:00\.000Z\) stays/);
  assert.equal(why["leave override qnx4"], "the administrator's own file (no fsblacklist marker): never touched");
  assert.deepEqual(plan.kept, [{ module: "jfs", reason: "keep reason", since: "2024-01-01T00:00:00.000Z", kernel: "6.1.0-50-amd64" }]);
  assert.deepEqual(
    removals(plan).map((a) => a.module),
    ["minix"],
  );
});

test("the state after a plain uninstall: nothing installed, only the keeps that stay; never created", () => {
  const previous: ApplyState = {
    policyVersion: "1.0.0",
    appliedAt: "2024-01-01T00:00:00.000Z",
    kept: [{ module: "minix", reason: "fstab", since: "2024-01-01T00:00:00.000Z", kernel: null }],
    installed: [`${VENDOR}/${name("minix")}`],
    initramfsPending: false,
    initramfsOwedSince: null,
  };
  const owed = { initramfsPending: true, initramfsOwedSince: "2025-01-01T00:00:00.000Z" };
  const plan = planUninstall(input({ vendorFiles: [vendor("jfs", "blacklist jfs\n"), vendor("minix")], adminFiles: [marked("keep", "jfs"), marked("keep", "minix")] }));
  assert.deepEqual(uninstalledState(previous, plan, owed), { ...previous, kept: plan.kept, installed: [], ...owed });
  assert.deepEqual(
    plan.kept.map((k) => k.module),
    ["jfs"],
  );
  assert.equal(uninstalledState(null, plan, owed), null);
});
