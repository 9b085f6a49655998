// Resolution and blocking decisions against the real modprobe (kmod) on fake
// roots built from real Debian kernels' module metadata. Under `npm test` the
// generated tables are a sample (test/helpers/tier.ts); test:evidence runs them whole.

import { test } from "node:test";
import assert from "node:assert/strict";
import { createFakeRoot, FIXTURE_RELEASES, type FakeRootSpec } from "../helpers/fake-root.ts";
import { canRunOracle, runModprobe, type OracleJob } from "./modprobe-oracle.ts";
import { SAMPLING } from "../helpers/tier.ts";
import { RootFs } from "../../src/system/root-fs.ts";
import { readModuleIndex } from "../../src/system/module-index-files.ts";
import { resolveFilesystemName } from "../../src/decide/filesystem-name.ts";
import { readKernelState } from "../../src/system/kernel-state.ts";
import { readEffectiveConfig } from "../../src/system/modprobe-config.ts";
import { kmodBehaviour } from "../../src/kmod/kmod-version.ts";
import { filesystemSurelyLoads, requestBlock, resolveFilesystemType, resolveModprobe, type ResolveFacts, type Resolution } from "../../src/kmod/resolve.ts";

const oracle = canRunOracle();
const skipOracle = oracle ? false : "needs root, unshare and kmod's modprobe (the oracle)";

function factsOf(dir: string): ResolveFacts & { release: string } {
  const fs = new RootFs(dir);
  const kernel = readKernelState(fs);
  const release = kernel.release!;
  // The real kmod here is 30; the oracle hands it usr/lib/modprobe.d with -C, as kmod 32 and later read it.
  const config = readEffectiveConfig(fs, { behaviour: { ...kmodBehaviour(30), readsUsrLib: true }, release, cmdline: true });
  return { entries: config.entries, index: readModuleIndex(fs, release), loaded: kernel.loaded, kernelBlacklist: kernel.kernelBlacklist, release };
}

/** What `modprobe -n -v` prints for our resolution. */
function expectedDryRun(resolution: Resolution, root: string, release: string): string {
  let out = "";
  for (const m of resolution.modules) {
    for (const step of m.steps) {
      if (step.action === "insmod") out += `insmod ${root}/lib/modules/${release}/${step.path} \n`;
      else if (step.action === "install") out += `install ${step.command} \n`;
    }
  }
  return out;
}

function fsRequests(dir: string, release: string): string[] {
  const index = readModuleIndex(new RootFs(dir), release)!;
  const requests = new Set<string>();
  for (const alias of [...index.aliases, ...index.builtinAliases]) if (alias.raw.startsWith("fs-")) requests.add(alias.raw);
  for (const extra of ["fs-ntfs", "fs-vxfs", "fs-ext3", "fs-iso9660", "fs-reiserfs", "fs-no-such-fs", "isofs", "ext4", "fat", "fs_vfat"]) requests.add(extra);
  return [...requests];
}

test("every fs-* request resolves to the modules the real modprobe -R names", { skip: skipOracle }, () => {
  const roots = FIXTURE_RELEASES.map((release) => createFakeRoot({ kernel: release }));
  try {
    const jobs: OracleJob[] = roots.map((root) => ({ root: root.dir, release: root.release!, mode: "lookup", requests: fsRequests(root.dir, root.release!) }));
    const results = runModprobe(jobs);
    let compared = 0;
    jobs.forEach((job, j) => {
      const facts = factsOf(job.root);
      for (const run of results[j]!) {
        const ours = resolveModprobe(run.request, facts).modules.map((m) => m.module);
        const theirs = run.status === 0 ? run.stdout.split("\n").filter(Boolean) : [];
        assert.deepEqual(ours, theirs, `${job.release}: ${run.request} (modprobe exit ${run.status}: ${run.stderr})`);
        compared++;
      }
    });
    assert.ok(compared > 150, `compared ${compared} requests`);
  } finally {
    for (const root of roots) root.cleanup();
  }
});

test("the well-known type names resolve as the kernel's index says", () => {
  const expect: Record<string, Record<string, string[]>> = {
    "6.1.0-50-amd64": { iso9660: ["isofs"], ext3: ["ext4"], vxfs: ["freevxfs"], ntfs: [], ntfs3: [], fuseblk: ["fuse"] },
    "6.1.0-50-cloud-amd64": { iso9660: ["isofs"], ext3: ["ext4"], vxfs: [], ntfs: [], minix: [] },
    "6.12.100+deb12-amd64": { iso9660: ["isofs"], ext3: ["ext4"], vxfs: ["freevxfs"], ntfs: [], ntfs3: ["ntfs3"], fuseblk: ["fuse"] },
  };
  for (const [release, types] of Object.entries(expect)) {
    const root = createFakeRoot({ kernel: release as (typeof FIXTURE_RELEASES)[number] });
    try {
      const facts = factsOf(root.dir);
      for (const [type, modules] of Object.entries(types)) {
        assert.deepEqual(
          resolveFilesystemType(type, facts).modules.map((m) => m.module),
          modules,
          `${release}: ${type}`,
        );
      }
      const ext3 = resolveFilesystemType("ext3", facts);
      assert.equal(ext3.lookup, release === "6.1.0-50-cloud-amd64" ? "builtin-alias" : "modules.alias");
      assert.equal(ext3.modules[0]!.result, release === "6.1.0-50-cloud-amd64" ? "in-kernel" : "loads");
    } finally {
      root.cleanup();
    }
  }
});

test("names on the command line resolve through the index, then the policy", () => {
  const root = createFakeRoot({ kernel: "6.1.0-50-cloud-amd64" });
  try {
    const index = readModuleIndex(new RootFs(root.dir), root.release!);
    const known = [
      { module: "freevxfs", types: ["vxfs"] },
      { module: "jfs", types: ["jfs"] },
    ];
    assert.deepEqual(resolveFilesystemName("iso9660", index, known), { input: "iso9660", module: "isofs", types: ["iso9660"], via: "alias" });
    assert.deepEqual(resolveFilesystemName("ext3", index, known)?.module, "ext4");
    assert.equal(resolveFilesystemName("ext3", index, known)?.via, "builtin-alias");
    assert.equal(resolveFilesystemName("ext4", index, known)?.via, "builtin");
    assert.deepEqual(resolveFilesystemName("vxfs", index, known), { input: "vxfs", module: "freevxfs", types: ["vxfs"], via: "policy" });
    assert.equal(resolveFilesystemName("nls-cp437", index, known)?.module, "nls_cp437");
    assert.equal(resolveFilesystemName("nosuchfs", index, known), null);
    assert.equal(resolveFilesystemName("jfs", null, known)?.module, "jfs");
  } finally {
    root.cleanup();
  }
});

/** A small seeded generator, so that a failing case can be reproduced. */
function prng(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state * 1664525 + 1013904223) >>> 0;
    return state / 2 ** 32;
  };
}

const HAND_WRITTEN: { name: string; spec: FakeRootSpec; type: string; block: string | null; result: string }[] = [
  { name: "blacklist stops the alias request", spec: { files: { "etc/modprobe.d/a.conf": "blacklist vfat\n" } }, type: "vfat", block: "blacklisted:vfat:etc/modprobe.d/a.conf:1", result: "blocked" },
  { name: "blacklisting a dependency does not stop it", spec: { files: { "etc/modprobe.d/a.conf": "blacklist fat\n" } }, type: "vfat", block: null, result: "loads" },
  {
    name: "install on a dependency blocks",
    spec: { files: { "etc/modprobe.d/a.conf": "install fat /bin/false\n" } },
    type: "vfat",
    block: "dependency-blocked:fat:etc/modprobe.d/a.conf:1",
    result: "blocked",
  },
  {
    name: "install on the module blocks",
    spec: { files: { "etc/modprobe.d/a.conf": "# x\ninstall vfat /bin/true\n" } },
    type: "vfat",
    block: "install-blocked:vfat:etc/modprobe.d/a.conf:2",
    result: "blocked",
  },
  {
    name: "an install line for the request itself intercepts it",
    spec: { files: { "usr/lib/modprobe.d/b.conf": "install fs-vfat /bin/false\n" } },
    type: "vfat",
    block: "install-blocked:fs_vfat:usr/lib/modprobe.d/b.conf:1",
    result: "blocked",
  },
  {
    name: "a resolvable softdep makes kmod ignore install",
    spec: { files: { "etc/modprobe.d/a.conf": "softdep fat pre: nls_cp437\ninstall fat /bin/false\n" } },
    type: "vfat",
    block: null,
    result: "loads",
  },
  {
    name: "an unresolvable softdep does not",
    spec: { files: { "etc/modprobe.d/a.conf": "softdep fat pre: no_such_module\ninstall fat /bin/false\n" } },
    type: "vfat",
    block: "dependency-blocked:fat:etc/modprobe.d/a.conf:2",
    result: "blocked",
  },
  { name: "modules.softdep counts too (ext4 pre: crypto-crc32c)", spec: { files: { "etc/modprobe.d/a.conf": "install ext4 /bin/false\n" } }, type: "ext4", block: null, result: "loads" },
  {
    name: "a failing softdep does not fail the load",
    spec: { files: { "etc/modprobe.d/a.conf": "softdep vfat post: isofs\ninstall isofs /bin/false\n" } },
    type: "vfat",
    block: null,
    result: "loads",
  },
  {
    name: "modprobe.blacklist= on the command line",
    spec: { cmdline: "root=/dev/vda1 modprobe.blacklist=jfs,vfat" },
    type: "vfat",
    block: "cmdline-blacklisted:vfat:proc/cmdline:0",
    result: "blocked",
  },
  { name: "module_blacklist= refuses a dependency", spec: { cmdline: "root=/dev/vda1 module_blacklist=fat" }, type: "vfat", block: "cmdline-blacklisted:fat:null", result: "blocked" },
  { name: "a loaded dependency is skipped", spec: { loaded: ["fat"], files: { "etc/modprobe.d/a.conf": "install fat /bin/false\n" } }, type: "vfat", block: null, result: "loads" },
  { name: "a loaded module cannot be blocked", spec: { loaded: ["vfat"], files: { "etc/modprobe.d/a.conf": "blacklist vfat\n" } }, type: "vfat", block: null, result: "in-kernel" },
  {
    name: "a built-in module cannot be blocked",
    spec: { kernel: "6.1.0-50-cloud-amd64", files: { "etc/modprobe.d/a.conf": "blacklist ext4\ninstall ext4 /bin/false\n" } },
    type: "ext3",
    block: null,
    result: "in-kernel",
  },
  {
    name: "install globs match the first line only",
    spec: { files: { "etc/modprobe.d/a.conf": "install f* /bin/false\ninstall fat /sbin/modprobe --ignore-install fat\n" } },
    type: "vfat",
    block: "dependency-blocked:fat:etc/modprobe.d/a.conf:1",
    result: "blocked",
  },
  {
    name: "an admin file masks the vendor file of the same name",
    spec: { files: { "usr/lib/modprobe.d/60-x.conf": "blacklist vfat\n", "etc/modprobe.d/60-x.conf": "# allowed\n" } },
    type: "vfat",
    block: null,
    result: "loads",
  },
  {
    name: "a config alias wins over modules.alias",
    spec: { files: { "etc/modprobe.d/a.conf": "alias fs-vfat msdos\nblacklist msdos\n" } },
    type: "vfat",
    block: "blacklisted:msdos:etc/modprobe.d/a.conf:2",
    result: "blocked",
  },
];

function describeBlock(resolution: Resolution): string | null {
  const block = resolution.modules[0]?.block;
  if (!block) return null;
  return `${block.cause}:${block.module}:${block.source === null ? "null" : `${block.source.file}:${block.source.line}`}`;
}

test("hand-written blocking cases: the decision, and the plan the real modprobe prints", () => {
  const roots = HAND_WRITTEN.map((c) => createFakeRoot(c.spec));
  try {
    HAND_WRITTEN.forEach((c, i) => {
      const facts = factsOf(roots[i]!.dir);
      const resolution = resolveFilesystemType(c.type, facts);
      assert.equal(describeBlock(resolution), c.block, c.name);
      assert.equal(resolution.modules[0]?.result, c.result, c.name);
      assert.equal(requestBlock(resolution) !== null, c.result === "blocked", c.name);
    });
    if (!oracle) return;
    const jobs: OracleJob[] = HAND_WRITTEN.map((c, i) => ({ root: roots[i]!.dir, release: roots[i]!.release!, mode: "dry-run", requests: [`fs-${c.type}`] }));
    const results = runModprobe(jobs);
    jobs.forEach((job, i) => {
      const run = results[i]![0]!;
      const facts = factsOf(job.root);
      const ours = resolveModprobe(run.request, facts);
      assert.equal(run.stdout, expectedDryRun(ours, job.root, job.release), `${HAND_WRITTEN[i]!.name}: ${run.stderr}`);
      assert.equal(run.status, ours.modules.length > 0 ? 0 : 1, HAND_WRITTEN[i]!.name);
    });
  } finally {
    for (const root of roots) root.cleanup();
  }
});

const MODULES = [
  "vfat",
  "fat",
  "msdos",
  "isofs",
  "jfs",
  "minix",
  "ext4",
  "jbd2",
  "mbcache",
  "nls_cp437",
  "nls_utf8",
  "udf",
  "crc_itu_t",
  "crc32c_intel",
  "btrfs",
  "xor",
  "f*",
  "*fs",
  "no_such_module",
];
const TYPES = ["vfat", "msdos", "iso9660", "jfs", "minix", "ext4", "ext3", "udf", "btrfs"];

function generatedCase(random: () => number): FakeRootSpec {
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const lines: string[] = [];
  const count = 1 + Math.floor(random() * 6);
  for (let i = 0; i < count; i++) {
    const module = pick(MODULES);
    const concrete = pick(MODULES.filter((m) => !m.includes("*")));
    switch (pick(["blacklist", "install-false", "install-true", "softdep-pre", "softdep-post", "alias"] as const)) {
      case "blacklist":
        lines.push(`blacklist ${concrete}`);
        break;
      case "install-false":
        lines.push(`install ${module} /bin/false`);
        break;
      case "install-true":
        lines.push(`install ${module} /bin/true`);
        break;
      case "softdep-pre":
        lines.push(`softdep ${module} pre: ${concrete}`);
        break;
      case "softdep-post":
        lines.push(`softdep ${module} post: ${concrete}`);
        break;
      case "alias":
        lines.push(`alias fs-${pick(TYPES)} ${concrete}`);
        break;
    }
  }
  const loaded = MODULES.filter((m) => !m.includes("*") && random() < 0.08);
  const cmdline = random() < 0.25 ? `root=/dev/vda1 modprobe.blacklist=${pick(MODULES.filter((m) => !m.includes("*")))}` : "root=/dev/vda1";
  const half = Math.floor(lines.length / 2);
  return {
    kernel: pick(FIXTURE_RELEASES),
    loaded,
    cmdline,
    files: {
      "etc/modprobe.d/50-generated.conf": lines.slice(0, half).join("\n") + "\n",
      "usr/lib/modprobe.d/70-generated.conf": lines.slice(half).join("\n") + "\n",
    },
  };
}

test("generated configurations: our plan equals the real modprobe's dry run", { skip: skipOracle }, () => {
  const random = prng(20240611);
  const specs = Array.from({ length: 40 }, () => generatedCase(random)).slice(0, SAMPLING ? 4 : 40);
  const roots = specs.map((spec) => createFakeRoot(spec));
  try {
    const jobs: OracleJob[] = roots.map((root) => ({ root: root.dir, release: root.release!, mode: "dry-run", requests: TYPES.map((t) => `fs-${t}`) }));
    const results = runModprobe(jobs);
    let blocked = 0;
    let loads = 0;
    jobs.forEach((job, j) => {
      const facts = factsOf(job.root);
      for (const run of results[j]!) {
        const ours = resolveModprobe(run.request, facts);
        const context = `${job.release} ${run.request}\n${JSON.stringify(specs[j], null, 1)}\nstderr: ${run.stderr}`;
        assert.equal(run.stdout, expectedDryRun(ours, job.root, job.release), context);
        assert.equal(run.status, ours.modules.length > 0 ? 0 : 1, context);
        if (requestBlock(ours) !== null) blocked++;
        else loads++;
      }
    });
    // The generator must exercise both outcomes, or the comparison proves little.
    const least = SAMPLING ? 1 : 31;
    assert.ok(blocked >= least && loads >= least, `blocked ${blocked}, loads ${loads}`);
  } finally {
    for (const root of roots) root.cleanup();
  }
});

test("filesystemSurelyLoads (status's shortcut) is never true for a type the full resolution finds blocked", () => {
  const random = prng(7331);
  const generated = Array.from({ length: 150 }, () => generatedCase(random)).slice(0, SAMPLING ? 6 : 150);
  const specs = [...HAND_WRITTEN.map((c) => c.spec), ...generated];
  let sure = 0;
  let unsure = 0;
  let blocked = 0;
  for (const spec of specs) {
    const root = createFakeRoot(spec);
    try {
      const facts = factsOf(root.dir);
      const types = new Set([...TYPES, ...facts.index!.filesystemAliases.map((a) => a.type)]);
      for (const type of types) {
        const block = requestBlock(resolveFilesystemType(type, facts));
        if (block !== null) blocked++;
        if (!filesystemSurelyLoads(type, facts)) {
          unsure++;
          continue;
        }
        sure++;
        assert.equal(block, null, `${type} is blocked though the shortcut says it surely loads\n${JSON.stringify(spec, null, 1)}`);
      }
    } finally {
      root.cleanup();
    }
  }
  // Most types load and the shortcut must see that, or status gains nothing; blocked ones must be there to catch a wrong "sure".
  assert.ok(sure > unsure && blocked > (100 * specs.length) / (HAND_WRITTEN.length + 150), `sure ${sure}, unsure ${unsure}, blocked ${blocked}`);
});

test("install commands: what they do to the module at mount time", async () => {
  const { installEffect, installBlocks } = await import("../../src/kmod/resolve.ts");
  const { hookInstallLine, falseInstallLine } = await import("../../src/policy/fragment.ts");
  const effectOf = (line: string): string => installEffect(line.replace(/^install \S+ /, ""), "jfs");
  assert.equal(effectOf(hookInstallLine("jfs")), "loads");
  assert.equal(effectOf(falseInstallLine("jfs")), "fails");
  assert.equal(installEffect("/usr/bin/fsblacklist modprobe-hook jfs", "jfs"), "hook");
  assert.equal(installEffect("/bin/true", "jfs"), "no-load");
  assert.equal(installEffect("exit 1", "jfs"), "fails");
  assert.equal(installEffect("/sbin/modprobe --ignore-install nls-cp437 && echo done", "nls_cp437"), "loads");
  assert.equal(installEffect("/sbin/modprobe --ignore-install other", "jfs"), "unknown");
  // A command not known to load the module blocks it: nothing shows that it loads it.
  assert.deepEqual(
    ["fails", "no-load", "hook", "loads", "unknown"].map((e) => installBlocks(e as never)),
    [true, true, true, false, true],
  );
  for (const command of ["/bin/false;", "true && false", "/bin/echo disabled", "/bin/logger -t x jfs; /bin/false"]) {
    assert.equal(installBlocks(installEffect(command, "jfs")), true, command);
  }
});

test("install commands that load the module with --ignore-install: the same answers as one pattern per module, and any name", async () => {
  const { installEffect } = await import("../../src/kmod/resolve.ts");
  // The rule as it was written first, a regular expression built from the name: the reference for names of letters, digits, - and _.
  const reference = (command: string, module: string): boolean =>
    new RegExp(`\\bmodprobe\\b[^;|&]*(?:--ignore-install|\\s-i\\b)[^;|&]*\\s${module.replace(/_/g, "[-_]")}(?:\\s|$)`).test(command.trim());
  const modules = ["jfs", "nls_cp437", "hfs", "hfsplus", "x"];
  const pieces = [
    "modprobe",
    "/sbin/modprobe",
    "modprobe-hook",
    "--ignore-install",
    "-i",
    "-iq",
    "-v",
    "jfs",
    "hfs",
    "hfsplus",
    "nls-cp437",
    "nls_cp437",
    "x",
    ";",
    "|",
    "&&",
    "$CMDLINE_OPTS",
    "2>/dev/null",
    "--ignore-installx",
  ];
  const random = prng(4242);
  let loads = 0;
  for (let n = 0; n < 3000; n++) {
    const words = Array.from({ length: 2 + Math.floor(random() * 7) }, () => pieces[Math.floor(random() * pieces.length)]!);
    const command = words.join(random() < 0.2 ? "  " : " ") + (random() < 0.2 ? " " : "");
    for (const module of modules) {
      const expected = reference(command, module);
      if (expected) loads++;
      assert.equal(installEffect(command, module) === "loads", expected, `${JSON.stringify(command)} ${module}`);
    }
  }
  assert.ok(loads > 100, `${loads} commands load their module`);
  // A name with pattern characters (an alias target in modprobe.d can be anything) is compared as it is, and never throws.
  assert.equal(installEffect("/sbin/modprobe --ignore-install x(y", "x(y"), "loads");
  assert.equal(installEffect("/sbin/modprobe --ignore-install xay", "x.y"), "unknown");
  assert.equal(installEffect("/sbin/modprobe --ignore-install [a", "[a"), "loads");
});
