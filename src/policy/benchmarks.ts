// The CIS benchmarks' kernel-module items, as the scanners administrators run
// check them. Ids verified against ansible-lockdown's DEBIAN12-CIS, UBUNTU24-CIS
// and RHEL9-CIS roles (tasks/section_1/cis_1.1.1.x.yml, with their level tags)
// and ComplianceAsCode's rule ids in the OVAL content of Debian 13's ssg-*
// packages (0.1.76: ssg-ubuntu2404-oval.xml, ssg-rhel9-oval.xml).
//
// A scanner matches the name as the benchmark spells it, literally: OpenSCAP
// looks for `install usb-storage /bin/false`, not usb_storage, and both
// OpenSCAP and ansible-lockdown spell the overlay module "overlayfs", a name
// kmod never loads (the module is `overlay`). Our fragments write the
// benchmark's spelling so the scanners find it, and the module's name where
// the two differ, so kmod enforces it too.

import { normaliseModuleName } from "../kmod/module-name.ts";

export type Benchmark = "cis-l1" | "cis-l2";
export const BENCHMARKS: readonly Benchmark[] = ["cis-l1", "cis-l2"];

export interface BenchmarkRule {
  /** ComplianceAsCode's rule id, the same for every distribution. */
  id: string;
  /** The kernel's module name (what kmod loads). */
  module: string;
  /** How the benchmark and the scanners spell it. */
  spelling: string;
  /** 1: Level 1 (and Level 2); 2: Level 2 only. */
  level: 1 | 2;
  /** The benchmark items per distribution ("CIS Debian 12 1.1.1.3"). */
  items: string[];
  /** A filesystem item (audit judges these); usb-storage is a device item, served only by `block`. */
  filesystem: boolean;
}

const rule = (module: string, spelling: string, level: 1 | 2, debian12: string | null, ubuntu2404: string | null, rhel9: string | null, filesystem = true): BenchmarkRule => ({
  id: `kernel_module_${spelling}_disabled`,
  module,
  spelling,
  level,
  items: [...(debian12 === null ? [] : [`CIS Debian 12 ${debian12}`]), ...(ubuntu2404 === null ? [] : [`CIS Ubuntu 24.04 ${ubuntu2404}`]), ...(rhel9 === null ? [] : [`CIS RHEL 9 ${rhel9}`])],
  filesystem,
});

/** In benchmark order. RHEL 9's benchmark has no overlayfs item. */
export const BENCHMARK_RULES: readonly BenchmarkRule[] = [
  rule("cramfs", "cramfs", 1, "1.1.1.1", "1.1.1.1", "1.1.1.1"),
  rule("freevxfs", "freevxfs", 1, "1.1.1.2", "1.1.1.2", "1.1.1.2"),
  rule("hfs", "hfs", 1, "1.1.1.3", "1.1.1.3", "1.1.1.3"),
  rule("hfsplus", "hfsplus", 1, "1.1.1.4", "1.1.1.4", "1.1.1.4"),
  rule("jffs2", "jffs2", 1, "1.1.1.5", "1.1.1.5", "1.1.1.5"),
  rule("overlay", "overlayfs", 2, "1.1.1.6", "1.1.1.6", null),
  rule("squashfs", "squashfs", 2, "1.1.1.7", "1.1.1.7", "1.1.1.6"),
  rule("udf", "udf", 2, "1.1.1.8", "1.1.1.8", "1.1.1.7"),
  rule("usb_storage", "usb-storage", 1, "1.1.1.9", "1.1.1.9", "1.1.1.8", false),
];

export function isBenchmark(name: string): name is Benchmark {
  return (BENCHMARKS as readonly string[]).includes(name);
}

/** The benchmark a profile serves; null for `default` and the older `cis`, which serve none exactly. */
export function benchmarkOfProfile(profile: string): Benchmark | null {
  return isBenchmark(profile) ? profile : null;
}

/** The filesystem rules a benchmark level asks for, in benchmark order. */
export function filesystemRules(benchmark: Benchmark): BenchmarkRule[] {
  const level = benchmark === "cis-l1" ? 1 : 2;
  return BENCHMARK_RULES.filter((r) => r.filesystem && r.level <= level);
}

/** The rule for a module (`usb-storage` and `usb_storage` alike), or null. */
export function ruleForModule(module: string): BenchmarkRule | null {
  const wanted = normaliseModuleName(module);
  return BENCHMARK_RULES.find((r) => r.module === wanted) ?? null;
}
