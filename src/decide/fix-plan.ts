// explain's fixes as plans simulated to the end: every line in the way is
// collected (decide/postconditions.ts via kmod/blockers.ts), each gets a step
// that an administrator may take (their own file: comment the lines out;
// another package's file: mask it from the admin directory with a copy that
// has the lines commented out; the kernel command line: the boot loader;
// fsblacklist's own fragments and overrides: `fsblacklist allow`, last), and
// the steps are simulated together until kmod loads the module for the type.
// Only a plan that gets there is printed; the one-time command is checked the
// same way. Pure.

import * as path from "node:path";
import { fragmentName, moduleFromFragmentName } from "../policy/fragment.ts";
import { parseMarker } from "../policy/marker.ts";
import { firstLineOf, type Source } from "../kmod/parse-config.ts";
import { modprobeDirs } from "../kmod/config-files.ts";
import { filesystemProviders } from "../kmod/module-index.ts";
import type { Blocker } from "../kmod/blockers.ts";
import { cmdlineWithout, physicalLines, simulate, type ProposedChange, type SystemNow } from "./simulate.ts";
import { describeBlocker, loadObstacles } from "./postconditions.ts";

export interface FixStep {
  /** "command": run it now; "boot": changes the kernel command line, in force after the next boot. */
  kind: "command" | "boot";
  /** A shell command under the root, every name and path quoted; for "boot", what to change in the boot loader. */
  command: string;
  /** For "boot": the kernel command line the next boot gets. */
  cmdline?: string;
}

export interface FixPlan {
  /** In the order to take them: the administrator's own lines, other packages' files, the boot loader, `fsblacklist allow`. */
  steps: FixStep[];
  /** The simulation of every step ends with kmod loading the module for the type. */
  verified: boolean;
  /** Every line that was in the way, described (first physical line), in the order found. */
  blockers: string[];
  /** What no step may change (a missing module), when the plan is not verified. */
  stuck: string[];
  /** For this boot only, without changing any file; null when nothing can (module_blacklist=, a missing file). */
  once: string | null;
}

export interface FixFacts {
  now: SystemNow;
  /** The type the kernel is asked for (fs-TYPE). */
  type: string;
  adminDir: string;
  /** The root as the user gave it; "/" for the running system: commands then name host paths. */
  root: string;
  /** The policy's fragment module names (what `fsblacklist allow` manages). */
  policyModules: ReadonlySet<string>;
  /** The text `fsblacklist allow MODULE` would write (the marked, empty override). */
  allowText: (module: string) => string;
}

const MAX_ROUNDS = 8;

export function planFix(facts: FixFacts): FixPlan {
  const { now, type, adminDir } = facts;
  const files = new Map<string, string | null>();
  const change: { files: Map<string, string | null>; commentOut: Source[]; masks: NonNullable<ProposedChange["masks"]>; cmdline?: string | null } = { files, commentOut: [], masks: [] };
  const allows: string[] = [];
  const adminEdits = new Map<string, Source[]>();
  const masks = new Map<string, { into: string; sources: Source[] }>();
  const bootWords: string[] = [];
  const blockers: string[] = [];
  const stuck: string[] = [];
  const seen = new Set<string>();
  let cmdline = now.inputs.cmdline;

  const readText = (file: string): string | null => now.inputs.readFile(file);
  const isOurs = (file: string): string | null => {
    const name = path.posix.basename(file);
    const module = moduleFromFragmentName(name);
    if (module === null) return null;
    const text = readText(file);
    if (text === null) return null;
    if (path.posix.dirname(file) === adminDir) return parseMarker(Buffer.from(text, "latin1").toString("utf8")) !== null ? module : null;
    return text.includes("# fsblacklist-policy: fragment") && facts.policyModules.has(module) ? module : null;
  };

  const handle = (blocker: Blocker, source: Source | null): void => {
    const key = source === null ? `${blocker.kind}:${"module" in blocker ? blocker.module : ""}` : `${source.file}:${source.line}`;
    if (seen.has(key)) return;
    seen.add(key);
    const copied = source === null ? undefined : [...masks].find(([, m]) => m.into === source.file)?.[0];
    const described = describeBlocker(blocker, type);
    blockers.push(copied === undefined ? described : described.replace(`${source!.file}:`, `${copied}:`));
    if (blocker.kind === "missing") {
      stuck.push(describeBlocker(blocker, type));
      return;
    }
    if (source === null || source.file === "proc/cmdline") {
      const module = "module" in blocker ? blocker.module : "";
      bootWords.push(blocker.kind === "module_blacklist" ? `module_blacklist=${module}` : `modprobe.blacklist=${module}`);
      cmdline = cmdline === null ? null : cmdlineWithout(cmdline, module);
      change.cmdline = cmdline;
      return;
    }
    const ours = isOurs(source.file);
    if (ours !== null) {
      if (!allows.includes(ours)) allows.push(ours);
      change.files.set(path.posix.join(adminDir, fragmentName(ours)), facts.allowText(ours));
      return;
    }
    // A line of a copy that masks another package's file is that file's line (the copy keeps the numbers).
    const maskOf = [...masks].find(([, m]) => m.into === source.file);
    if (maskOf !== undefined) {
      maskOf[1].sources.push(source);
      change.masks = [...masks].map(([file, m]) => ({ file, into: m.into, commentOut: m.sources }));
      return;
    }
    if (path.posix.dirname(source.file) === adminDir) {
      adminEdits.set(source.file, [...(adminEdits.get(source.file) ?? []), source]);
      change.commentOut = [...change.commentOut, source];
      return;
    }
    const into = path.posix.join(adminDir, path.posix.basename(source.file));
    const mask = masks.get(source.file) ?? { into, sources: [] };
    mask.sources.push(source);
    masks.set(source.file, mask);
    change.masks = [...masks].map(([file, m]) => ({ file, into: m.into, commentOut: m.sources }));
  };

  let verified = false;
  for (let round = 0; round < MAX_ROUNDS; round++) {
    const sim = simulate(now, { ...change, nextBoot: true });
    const request = sim.filesystem(type);
    if (request.loads) {
      verified = true;
      break;
    }
    const before = seen.size;
    for (const line of request.requestLines) if (line.kind === "request-line") handle(line, line.source);
    // One candidate that loads is enough: work on the first the kernel's index names, once nothing takes the request away.
    const candidate = request.requestLines.length > 0 ? undefined : request.candidates[0];
    for (const blocker of candidate?.blockers ?? []) handle(blocker, blocker.kind === "blacklist" ? blocker.source : blocker.kind === "install" ? blocker.line.source : null);
    if (request.candidates.length === 0 && request.requestLines.length === 0) stuck.push(`nothing provides fs-${type}`);
    if (seen.size === before) break;
  }
  if (stuck.length > 0) verified = false;
  // `fsblacklist allow` must itself succeed: it checks every type the module serves.
  if (verified && allows.length > 0) {
    const sim = simulate(now, { ...change, nextBoot: true });
    for (const module of allows) {
      const left = loadObstacles(sim, module);
      if (left.length > 0) {
        verified = false;
        stuck.push(...left.map((o) => `fsblacklist allow ${module} would be refused: ${o.text}`));
      }
    }
  }

  const q = (file: string): string => quotePath(underRoot(facts.root, file));
  const rootArg = facts.root === "/" ? "" : ` --root ${shellQuote(facts.root)}`;
  const steps: FixStep[] = [];
  for (const [file, sources] of adminEdits) steps.push({ kind: "command", command: `sed -i ${shellQuote(sedScript(sources))} ${q(file)}` });
  for (const [file, mask] of masks) {
    steps.push({ kind: "command", command: `mkdir -p ${q(adminDir)} && sed ${shellQuote(sedScript(mask.sources))} ${q(file)} > ${q(mask.into)}` });
  }
  if (bootWords.length > 0) {
    steps.push({
      kind: "boot",
      command: `remove ${bootWords.join(" and ")} from the kernel command line in the boot loader's configuration (e.g. GRUB_CMDLINE_LINUX in ${underRoot(facts.root, "etc/default/grub")}, then update-grub), and reboot`,
      ...(cmdline !== null ? { cmdline } : {}),
    });
  }
  for (const module of allows) steps.push({ kind: "command", command: `fsblacklist${rootArg} allow ${shellQuote(module)}` });

  return { steps: verified ? steps : [], verified, blockers, stuck, once: oneTime(facts) };
}

/**
 * For this boot only: load what the mount needs by name with
 * `modprobe --ignore-install`, each module whose install line is in the way
 * first (a load by name ignores blacklist lines; --ignore-install sets aside
 * only the named module's install line, so a blocked dependency goes first).
 * Simulated: each command's probe list must reach insmod for every module it
 * needs, given what the commands before it loaded.
 */
function oneTime(facts: FixFacts): string | null {
  const { now, type } = facts;
  const sim = simulate(now);
  const request = sim.filesystem(type);
  if (request.loads) return null;
  // A config line that takes fs-TYPE away (`alias fs-jfs off`) leaves the kernel's own module, loaded by name.
  const own = request.requestLines.length > 0 && now.index !== null ? filesystemProviders(now.index, type)[0] : undefined;
  const candidate = own === undefined ? request.resolution.modules[0] : sim.request(own).resolution.modules[0];
  if (candidate === undefined || (own !== undefined && candidate.module !== own)) return null;
  const loaded = new Set<string>(now.loaded.keys());
  const order: string[] = [];
  for (const step of candidate.probeList) {
    if (!step.required || step.action === "in-kernel") continue;
    if (step.action === "missing" || sim.facts.kernelBlacklist.includes(step.module)) return null;
    const isTop = step.module === candidate.module;
    if (isTop || step.action === "install") order.push(step.module);
  }
  // Check the chain: a command loads its module when every module it needs is loaded before it or inserted by it.
  for (const module of order) {
    const byName = simulate({ ...now, loaded }).request(module).resolution.modules[0];
    // A config alias on the name (`alias jfs other`) would load something else: no one-time command then.
    if (byName === undefined || byName.module !== module) return null;
    for (const step of byName.probeList) {
      if (!step.required || step.action === "in-kernel") continue;
      if (step.action === "install" && step.module !== module) return null;
      if (step.action === "missing") return null;
      loaded.add(step.module);
    }
  }
  const rootArgs =
    facts.root === "/"
      ? ""
      : ` -d ${shellQuote(facts.root)}${modprobeDirs(now.inputs.behaviour)
          .map((dir) => ` -C ${quotePath(underRoot(facts.root, dir))}`)
          .join("")}`;
  return order.map((m) => `modprobe${rootArgs} --ignore-install ${shellQuote(m)}`).join(" && ");
}

/** sed's script that puts a `#` in front of each physical line of these directives. */
function sedScript(sources: readonly Source[]): string {
  return [...new Set(sources.flatMap(physicalLines))]
    .sort((a, b) => a - b)
    .map((n) => `${n}s/^/#/`)
    .join(";");
}

function underRoot(root: string, file: string): string {
  return root === "/" ? `/${file}` : `${root.replace(/\/+$/, "")}/${file}`;
}

export function shellQuote(value: string): string {
  return /^[A-Za-z0-9_./:=,+@%-]+$/.test(value) && !value.startsWith("-") ? value : `'${value.replaceAll("'", `'\\''`)}'`;
}

/**
 * A path as fsblacklist shows it, quoted for bash: a name that is not UTF-8 is
 * shown with `\xNN` and `\\` (system/root-fs.ts nameAsText), bash's escapes in `$'...'`.
 */
export function quotePath(shown: string): string {
  return shown.includes("\\") ? `$'${shown.replaceAll("'", "\\'")}'` : shellQuote(shown);
}

/** Where a directive is found: file and first physical line. */
export function directiveAt(source: Source): string {
  return `${source.file}:${firstLineOf(source)}`;
}
