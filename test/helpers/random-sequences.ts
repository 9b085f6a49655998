// Random sequences of apply/allow/block/reset/uninstall on fake roots with real
// Debian module metadata, random in-use evidence (loaded modules, mounts, fstab)
// and random administrator files, judged after every step by the real kmod
// (`modprobe --show-depends` for every fs-TYPE the policy and status name):
//
//   - every filesystem `apply` says it kept loadable loads (fs-TYPE resolves to
//     an insmod of the module, or to an install line that goes on to load it),
//     and every one it says will not load does not;
//   - after apply, every policy filesystem in use loads, or is pinned by
//     `block`, or apply warned that a foreign line stops it;
//   - a successful allow makes kmod load the module for every type it serves, a
//     successful block for none; a refusal (exit 1 or 2) writes nothing;
//   - `status --json` agrees with kmod for every filesystem it lists;
//   - the administrator's files are byte-identical to before the sequence;
//   - a second apply in a row changes nothing.
//
// One `modprobe -a` per step: the requests are separated by marker requests
// that only a test-only configuration file names (`install zzfsbmark-N ...`),
// so each request's output is the lines between two markers.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import * as fs from "node:fs";
import { tmpdir } from "node:os";
import * as path from "node:path";
import { MODPROBE_DIRS } from "../../src/kmod/config-files.ts";
import { fragmentName, loadPolicy, shippedPolicyDir } from "../../src/policy/policy.ts";
import { runInProcess } from "../explain/helpers.ts";
import { kmodLoads } from "../facts/modprobe-oracle.ts";
import { createFakeRoot, FIXTURE_KERNELS_DIR, FIXTURE_RELEASES, type FakeRoot, type FixtureRelease } from "./fake-root.ts";

const policy = loadPolicy(shippedPolicyDir());
const PROFILES = ["default", "default", "cis-l1", "cis-l2", "cis"] as const;
const ADMIN_DIRS = ["etc/modprobe.d", "run/modprobe.d", "usr/lib/modprobe.d"] as const;
const ADMIN_NAMES = ["CIS.conf", "hfs.conf", "dev-sec.conf", "disable-fs.conf", "00-local.conf", "blacklist.conf", "zz-site.conf", "61-after.conf", "59-before.conf"];
/** Names allow/block/reset are given: policy filesystems, their modules, and a few outside the policy. */
const EXTRA_NAMES = ["vfat", "msdos", "fat", "iso9660", "isofs", "ext4", "btrfs"];

/** xorshift32: deterministic choices, so a seed rebuilds its sequence. */
export function prng(seed: number): () => number {
  let s = seed >>> 0 || 1;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 2 ** 32;
  };
}

/** The kernel's own fs-TYPE aliases (modules.alias of the fixture): type -> modules, module -> types. */
interface KernelAliases {
  modulesOf: Map<string, string[]>;
  typesOf: Map<string, string[]>;
}
const aliasCache = new Map<string, KernelAliases>();
function kernelAliases(release: string): KernelAliases {
  let found = aliasCache.get(release);
  if (found !== undefined) return found;
  found = { modulesOf: new Map(), typesOf: new Map() };
  for (const line of fs.readFileSync(path.join(FIXTURE_KERNELS_DIR, release, "modules.alias"), "utf8").split("\n")) {
    const m = /^alias fs-(\S+) (\S+)$/.exec(line);
    if (m === null) continue;
    const [type, module] = [m[1]!, m[2]!.replaceAll("-", "_")];
    found.modulesOf.set(type, [...(found.modulesOf.get(type) ?? []), module]);
    found.typesOf.set(module, [...(found.typesOf.get(module) ?? []), type]);
  }
  aliasCache.set(release, found);
  return found;
}

type Step = { kind: "apply" } | { kind: "allow" | "block" | "reset"; names: string[] } | { kind: "uninstall"; purge: boolean } | { kind: "mount" | "umount"; type: string };

export interface Sequence {
  seed: number;
  release: FixtureRelease;
  profile: string;
  files: Record<string, string>;
  cmdline: string;
  inUse: string[];
  fstab: string[];
  loaded: string[];
  steps: Step[];
}

/** A sequence from its seed alone. */
export function generateSequence(seed: number): Sequence {
  const random = prng(seed * 2654435761 + 7);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)]!;
  const release = pick(FIXTURE_RELEASES);
  const aliases = kernelAliases(release);
  const profile = pick(PROFILES);
  const policyModules = policy.entries.map((e) => e.module.replaceAll("-", "_"));
  const policyTypes = policy.entries.flatMap((e) => e.filesystems).filter((t) => aliases.modulesOf.has(t));
  const usable = [...policyTypes, "vfat", "msdos", "iso9660"].filter((t) => aliases.modulesOf.has(t));
  const prefix = (m: string): string => `${m.slice(0, 2 + Math.floor(random() * 2))}*`;

  const files: Record<string, string> = {};
  const adminFiles = Math.floor(random() * 4);
  for (let i = 0; i < adminFiles; i++) {
    const file = `${pick(ADMIN_DIRS)}/${pick(ADMIN_NAMES)}`;
    let text = files[file] ?? (random() < 0.5 ? "# site hardening\n" : "");
    const lines = 1 + Math.floor(random() * 3);
    for (let l = 0; l < lines; l++) {
      const m = pick(policyModules);
      const r = random();
      if (r < 0.3) text += `blacklist ${m}\n`;
      else if (r < 0.45) text += `install ${m} /bin/false\n`;
      else if (r < 0.55) text += `install ${m} /bin/true\n`;
      else if (r < 0.65) text += `install ${prefix(m)} /bin/false\n`;
      else if (r < 0.72) text += `alias fs-${pick(policyTypes)} off\n`;
      else if (r < 0.78) text += `install ${pick(["cdrom", "fat"])} ${pick(["/bin/true", "/bin/false"])}\n`;
      else if (r < 0.84) text += `options ${m} debug=0\n`;
      else if (r < 0.9) text += `install ${m} /sbin/modprobe --ignore-install ${m}\n`;
      else text += `blacklist ${pick(["vfat", "msdos", "isofs", "usb_storage"])}\n`;
    }
    files[file] = text;
  }
  if (profile !== "default" || random() < 0.2) files["etc/fsblacklist/config.yaml"] = `profile: ${profile}\n`;

  let cmdline = `BOOT_IMAGE=/boot/vmlinuz-${release} root=/dev/vda1 ro quiet`;
  if (random() < 0.08) cmdline += ` modprobe.blacklist=${pick(policyModules)}`;

  const inUse: string[] = [];
  const fstab: string[] = [];
  const loaded: string[] = [];
  const evidence = Math.floor(random() * 4);
  for (let i = 0; i < evidence; i++) {
    const type = pick(usable);
    const r = random();
    if (r < 0.45) inUse.push(type);
    else if (r < 0.8) fstab.push(type);
    else loaded.push(aliases.modulesOf.get(type)![0]!);
  }

  const names = [...policy.entries.flatMap((e) => [e.module, ...e.filesystems]), ...EXTRA_NAMES];
  const steps: Step[] = [];
  const length = 3 + Math.floor(random() * 6);
  if (random() < 0.8) steps.push({ kind: "apply" });
  while (steps.length < length) {
    const r = random();
    if (r < 0.28) steps.push({ kind: "apply" });
    else if (r < 0.46) steps.push({ kind: "allow", names: random() < 0.8 ? [pick(names)] : [pick(names), pick(names)] });
    else if (r < 0.64) steps.push({ kind: "block", names: random() < 0.8 ? [pick(names)] : [pick(names), pick(names)] });
    else if (r < 0.76) steps.push({ kind: "reset", names: [pick(names)] });
    else if (r < 0.84) steps.push({ kind: "uninstall", purge: random() < 0.4 });
    else if (r < 0.92) steps.push({ kind: "mount", type: pick(usable) });
    else steps.push({ kind: "umount", type: pick(usable) });
  }
  return { seed, release, profile, files, cmdline, inUse, fstab, loaded, steps };
}

/** The in-use evidence of the fake root, written into its proc/ and etc/fstab. */
interface Evidence {
  mounted: string[];
  fstab: string[];
  loaded: string[];
}

function writeEvidence(root: FakeRoot, release: string, baseFilesystems: string, evidence: Evidence): void {
  const aliases = kernelAliases(release);
  const loaded = new Set(evidence.loaded);
  for (const type of evidence.mounted) for (const m of aliases.modulesOf.get(type) ?? []) loaded.add(m);
  const proc = path.join(root.dir, "proc");
  fs.writeFileSync(path.join(proc, "modules"), [...loaded].map((m) => `${m} 45056 0 - Live 0x0000000000000000\n`).join(""));
  fs.rmSync(path.join(root.dir, "sys/module"), { recursive: true, force: true });
  for (const m of loaded) {
    fs.mkdirSync(path.join(root.dir, "sys/module", m), { recursive: true });
    fs.writeFileSync(path.join(root.dir, "sys/module", m, "initstate"), "live\n");
  }
  fs.mkdirSync(path.join(root.dir, "sys/module"), { recursive: true });
  fs.writeFileSync(path.join(proc, "filesystems"), baseFilesystems + [...new Set(evidence.mounted)].map((t) => `\t${t}\n`).join(""));
  const info = fs
    .readFileSync(path.join(proc, "self/mountinfo"), "utf8")
    .split("\n")
    .filter((l) => l !== "" && !l.includes(" /media/"));
  for (const [i, type] of evidence.mounted.entries())
    info.push(`${60 + i} 24 0:${60 + i} / /media/${type}${i} rw,relatime shared:${60 + i} - ${type} /dev/sd${String.fromCharCode(98 + i)} rw,relatime`);
  fs.writeFileSync(path.join(proc, "self/mountinfo"), info.join("\n") + "\n");
  const fstab = [
    "# <file system> <mount point> <type> <options> <dump> <pass>",
    "/dev/vda1 / ext4 errors=remount-ro 0 1",
    ...evidence.fstab.map((t, i) => `UUID=0000-${i} /srv/${t}${i} ${t} defaults,nofail 0 2`),
  ];
  fs.mkdirSync(path.join(root.dir, "etc"), { recursive: true });
  fs.writeFileSync(path.join(root.dir, "etc/fstab"), fstab.join("\n") + "\n");
}

/** sha256 of every file under the directories, by root-relative path (symbolic links by their target). */
function hashTree(root: string, dirs: readonly string[]): Map<string, string> {
  const out = new Map<string, string>();
  for (const dir of dirs) {
    const abs = path.join(root, dir);
    if (!fs.existsSync(abs)) continue;
    for (const name of fs.readdirSync(abs, { recursive: true }).map(String).sort()) {
      const file = path.join(abs, name);
      const stat = fs.lstatSync(file);
      if (stat.isDirectory()) continue;
      const content = stat.isSymbolicLink() ? `link:${fs.readlinkSync(file)}` : fs.readFileSync(file);
      out.set(`${dir}/${name}`, createHash("sha256").update(content).digest("hex"));
    }
  }
  return out;
}

/** Every fs-TYPE request's --show-depends output, from one `modprobe -a` run. */
function kmodRequests(root: FakeRoot, release: string, markerDir: string, types: readonly string[]): Map<string, string[]> {
  const requests: string[] = [];
  let markers = "";
  types.forEach((type, i) => {
    requests.push(`fs-${type}`, `zzfsbmark-${i}`);
    markers += `install zzfsbmark-${i} /zzfsbmark ${i}\n`;
  });
  fs.writeFileSync(path.join(markerDir, "zzfsbmark.conf"), markers);
  const config = [...MODPROBE_DIRS.map((dir) => path.join(root.dir, dir)), path.join(markerDir, "zzfsbmark.conf")].flatMap((c) => ["-C", c]);
  const script = 'mount --bind "$1/proc/cmdline" /proc/cmdline && mount --bind "$1/sys/module" /sys/module && shift && exec "$@"';
  const run = spawnSync("unshare", ["-m", "--propagation", "private", "sh", "-c", script, "sh", root.dir, "modprobe", "--show-depends", ...config, "-d", root.dir, "-S", release, "-a", ...requests], {
    encoding: "utf8",
  });
  if (run.error) throw run.error;
  const byType = new Map<string, string[]>();
  let current: string[] = [];
  let i = 0;
  for (const line of run.stdout.split("\n")) {
    if (line === "") continue;
    const mark = /^install \/zzfsbmark (\d+) $/.exec(line);
    if (mark === null) {
      current.push(line);
      continue;
    }
    assert.equal(Number(mark[1]), i, `kmod's marker ${mark[1]} out of order: ${run.stderr}`);
    byType.set(types[i]!, current);
    current = [];
    i++;
  }
  assert.equal(i, types.length, `kmod answered ${i} of ${types.length} requests: ${run.stderr}`);
  return byType;
}

/** Whether kmod's lines for fs-TYPE load MODULE: nothing that fails, and an insmod of it or an install line that goes on to load it. */
function loadsModule(lines: readonly string[] | undefined, module: string, cmdline: string): boolean {
  if (lines === undefined || !kmodLoads({ request: module, status: 0, stdout: lines.join("\n"), stderr: "" }, cmdline)) return false;
  return lines.some((line) => {
    const insmod = /^insmod \S*\/([^/\s]+?)\.ko(?:\.\w+)? /.exec(line);
    if (insmod !== null) return insmod[1]!.replaceAll("-", "_") === module;
    const install = /--ignore-install (\S+)/.exec(line);
    return install !== null && install[1]!.replaceAll("-", "_") === module;
  });
}

interface StatusFs {
  name: string;
  module: string | null;
  state: string;
  types: string[];
  decidedBy: string | null;
}

interface Cli {
  status: number;
  json: Record<string, unknown> | null;
  text: string;
}

async function cli(root: FakeRoot, args: readonly string[]): Promise<Cli> {
  const result = await runInProcess(["--root", root.dir, ...args, "--json"]);
  let json: Record<string, unknown> | null = null;
  try {
    json = JSON.parse(result.stdout) as Record<string, unknown>;
  } catch {
    json = null;
  }
  return { status: result.status, json, text: result.stdout + result.stderr };
}

function describe(step: Step): string {
  switch (step.kind) {
    case "apply":
      return "apply";
    case "uninstall":
      return step.purge ? "uninstall --purge" : "uninstall";
    case "mount":
    case "umount":
      return `(${step.kind} ${step.type})`;
    default:
      return `${step.kind} ${step.names.join(" ")}`;
  }
}

/** Runs one sequence, asserting after every step; every message names the seed and the steps so far. */
export async function runSequence(seed: number): Promise<{ steps: number; judged: number }> {
  const seq = generateSequence(seed);
  const aliases = kernelAliases(seq.release);
  const root = createFakeRoot({ kernel: seq.release, cmdline: seq.cmdline, files: seq.files });
  const markerDir = fs.mkdtempSync(path.join(tmpdir(), "fsb-seq-markers-"));
  const done: string[] = [];
  const where = (): string =>
    `seed ${seed} (replay: FSB_SEQ_SEED=${seed}), kernel ${seq.release}, profile ${seq.profile}, files ${JSON.stringify(seq.files)}, cmdline ${seq.cmdline}, ` +
    `evidence ${JSON.stringify(evidence)}, steps: ${done.join(" ; ")}`;
  const evidence: Evidence = { mounted: [...seq.inUse], fstab: [...seq.fstab], loaded: [...seq.loaded] };
  let judged = 0;
  try {
    const baseFilesystems = fs.readFileSync(path.join(root.dir, "proc/filesystems"), "utf8");
    writeEvidence(root, seq.release, baseFilesystems, evidence);
    const adminPaths = Object.keys(seq.files);
    const adminBefore = new Map(adminPaths.map((p) => [p, fs.readFileSync(path.join(root.dir, p))]));
    const profileModules = new Set(policy.entries.filter((e) => e.profiles.includes(seq.profile)).map((e) => e.module.replaceAll("-", "_")));
    let previous: string | null = null;

    for (const step of seq.steps) {
      done.push(describe(step));
      if (step.kind === "mount" || step.kind === "umount") {
        if (step.kind === "mount") evidence.mounted.push(step.type);
        else evidence.mounted = evidence.mounted.filter((t) => t !== step.type);
        writeEvidence(root, seq.release, baseFilesystems, evidence);
        previous = null;
        continue;
      }
      const moduleOf = (name: string): string | null => {
        const entry = policy.entries.find((e) => e.module === name || e.filesystems.includes(name));
        if (entry !== undefined) return entry.module.replaceAll("-", "_");
        return aliases.modulesOf.get(name)?.[0] ?? (aliases.typesOf.has(name.replaceAll("-", "_")) ? name.replaceAll("-", "_") : null);
      };
      const configBefore = hashTree(root.dir, MODPROBE_DIRS);
      const args = step.kind === "apply" ? ["apply"] : step.kind === "uninstall" ? ["uninstall", ...(step.purge ? ["--purge"] : [])] : [step.kind, ...(step as { names: string[] }).names];
      const result = await cli(root, args);
      const status = await cli(root, ["status"]);
      assert.equal(status.status, 0, `${where()}\nstatus: ${status.text}`);
      const filesystems = (status.json as { filesystems: StatusFs[] }).filesystems;

      // Every type kmod knows for every module status lists, and every type in use.
      const inUseTypes = [...new Set([...evidence.mounted, ...evidence.fstab])];
      const types = new Set<string>(inUseTypes);
      for (const f of filesystems) for (const t of aliases.typesOf.get((f.module ?? f.name).replaceAll("-", "_")) ?? []) types.add(t);
      if (step.kind === "allow" || step.kind === "block" || step.kind === "reset") {
        for (const name of step.names) for (const t of aliases.typesOf.get(moduleOf(name) ?? "") ?? []) types.add(t);
      }
      const typeList = [...types].sort();
      const kmod = kmodRequests(root, seq.release, markerDir, typeList);
      const loads = (module: string, type: string): boolean => loadsModule(kmod.get(type), module.replaceAll("-", "_"), seq.cmdline);
      const kmodSays = (type: string): string => `kmod for fs-${type}: ${JSON.stringify(kmod.get(type))}`;
      judged += typeList.length;

      // The administrator's files, byte for byte.
      for (const [p, bytes] of adminBefore) {
        const now = fs.existsSync(path.join(root.dir, p)) ? fs.readFileSync(path.join(root.dir, p)) : null;
        assert.ok(now?.equals(bytes) === true, `${where()}\n${p} changed:\n${now?.toString() ?? "(removed)"}`);
      }

      // status agrees with kmod for every filesystem it lists.
      for (const f of filesystems) {
        const module = (f.module ?? f.name).replaceAll("-", "_");
        const own = aliases.typesOf.get(module) ?? [];
        if (own.length === 0) continue;
        if (f.state === "blocked" || f.state === "pinned") {
          const loading = own.filter((t) => loads(module, t));
          assert.deepEqual(
            loading,
            [],
            `${where()}\nstatus says ${f.name} (${module}) is ${f.state} (${f.decidedBy}), but kmod loads it for ${loading.join(", ")}\n${loading.map(kmodSays).join("\n")}`,
          );
        } else if (f.state === "allowed" || f.state === "kept") {
          assert.ok(
            own.some((t) => loads(module, t)),
            `${where()}\nstatus says ${f.name} (${module}) is ${f.state} (${f.decidedBy}), but kmod loads it for none of ${own.join(", ")}\n${own.map(kmodSays).join("\n")}`,
          );
        }
      }

      const stateOf = (module: string): string | undefined => filesystems.find((f) => (f.module ?? f.name).replaceAll("-", "_") === module)?.state;

      if (step.kind === "apply") {
        assert.equal(result.status, 0, `${where()}\napply: ${result.text}`);
        const applied = result.json as { changed: boolean; kept: { module: string; loadable: boolean; blockedBy: string[] }[] };
        if (previous === "apply") assert.equal(applied.changed, false, `${where()}\na second apply in a row changed something: ${result.text}`);
        const kept = new Map(applied.kept.map((k) => [k.module.replaceAll("-", "_"), k]));
        for (const [module, k] of kept) {
          const own = (aliases.typesOf.get(module) ?? []).filter((t) => inUseTypes.includes(t));
          const judgedTypes = own.length > 0 ? own : (aliases.typesOf.get(module) ?? []);
          if (k.loadable) {
            const failing = judgedTypes.filter((t) => !loads(module, t));
            assert.deepEqual(failing, [], `${where()}\napply says it kept ${module} loadable, but kmod does not load it for ${failing.join(", ")}\n${failing.map(kmodSays).join("\n")}`);
          } else {
            assert.ok(
              !judgedTypes.every((t) => loads(module, t)),
              `${where()}\napply warns that ${module} will not load (${k.blockedBy.join("; ")}), but kmod loads it\n${judgedTypes.map(kmodSays).join("\n")}`,
            );
          }
        }
        // Every policy filesystem in use loads, is pinned by block, or apply warned about it.
        for (const type of inUseTypes) {
          for (const module of aliases.modulesOf.get(type) ?? []) {
            if (!profileModules.has(module) || loads(module, type)) continue;
            const state = stateOf(module);
            const warned = kept.get(module)?.loadable === false;
            assert.ok(
              state === "pinned" || warned,
              `${where()}\n${type} is in use, but after apply kmod does not load ${module} for it (status: ${state}), and apply did not say so\n${kmodSays(type)}\n${result.text}`,
            );
          }
        }
      } else if (step.kind === "allow" || step.kind === "block") {
        if (result.status === 0) {
          for (const name of step.names) {
            const module = moduleOf(name);
            if (module === null) continue;
            const own = aliases.typesOf.get(module) ?? [];
            if (step.kind === "allow") {
              const failing = own.filter((t) => !loads(module, t));
              assert.deepEqual(
                failing,
                [],
                `${where()}\n${step.kind} ${name} succeeded, but kmod does not load ${module} for ${failing.join(", ")}\n${failing.map(kmodSays).join("\n")}\n${result.text}`,
              );
            } else {
              const loading = own.filter((t) => loads(module, t));
              assert.deepEqual(loading, [], `${where()}\nblock ${name} succeeded, but kmod loads ${module} for ${loading.join(", ")}\n${loading.map(kmodSays).join("\n")}\n${result.text}`);
            }
          }
        } else {
          assert.ok(result.status === 1 || result.status === 2, `${where()}\n${step.kind}: exit ${result.status}: ${result.text}`);
          assert.deepEqual(hashTree(root.dir, MODPROBE_DIRS), configBefore, `${where()}\n${step.kind} was refused (exit ${result.status}) but changed the configuration: ${result.text}`);
        }
      } else if (step.kind === "reset") {
        if (result.status !== 0) {
          assert.ok(result.status === 1 || result.status === 2, `${where()}\nreset: exit ${result.status}: ${result.text}`);
          assert.deepEqual(hashTree(root.dir, MODPROBE_DIRS), configBefore, `${where()}\nreset was refused (exit ${result.status}) but changed the configuration: ${result.text}`);
        } else {
          const module = moduleOf(step.names[0]!);
          if (module !== null)
            assert.ok(
              !fs.existsSync(path.join(root.dir, "etc/modprobe.d", fragmentName(module))) || adminPaths.includes(`etc/modprobe.d/${fragmentName(module)}`),
              `${where()}\nreset left its override`,
            );
        }
      } else if (step.kind === "uninstall") {
        assert.equal(result.status, 0, `${where()}\nuninstall: ${result.text}`);
        for (const [p] of hashTree(root.dir, MODPROBE_DIRS)) {
          if (adminPaths.includes(p) || !/\/\d+-blacklist_fs-[^/]+\.conf$/.test(p) || fs.lstatSync(path.join(root.dir, p)).isSymbolicLink()) continue;
          const text = fs.readFileSync(path.join(root.dir, p), "utf8");
          assert.ok(!text.startsWith("# fsblacklist-policy: fragment") || p.startsWith("etc/"), `${where()}\nuninstall left the fragment ${p}`);
          const kind = /^# fsblacklist-override: (\w+)$/m.exec(text)?.[1];
          assert.notEqual(kind, "keep", `${where()}\nuninstall left the keep ${p}`);
          if (step.purge) assert.equal(kind, undefined, `${where()}\nuninstall --purge left ${p}:\n${text}`);
        }
      }
      previous = step.kind === "apply" && result.status === 0 ? "apply" : null;
    }
    return { steps: seq.steps.length, judged };
  } finally {
    root.cleanup();
    fs.rmSync(markerDir, { recursive: true, force: true });
  }
}
