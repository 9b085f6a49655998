// `audit`: reads what decide/audit.ts judges: kmod's effective configuration
// under each installed kernel (its own modules.softdep and modules.weakdep; the
// command line included, as `modprobe --showconfig` has it), the loaded
// modules, every installed kernel's module index and our overrides.

import type { Context } from "../context.ts";
import { UsageError } from "../errors.ts";
import { judgeAudit, type AuditKernel, type AuditReport, type KernelOffer } from "../decide/audit.ts";
import { BENCHMARKS, benchmarkOfProfile, filesystemRules, isBenchmark, type Benchmark } from "../policy/benchmarks.ts";
import { fragmentName } from "../policy/fragment.ts";
import type { ModuleIndex } from "../kmod/module-index.ts";
import { readKernelState } from "../system/kernel-state.ts";
import { listInstalledReleases, readModuleIndex } from "../system/module-index-files.ts";
import { readEffectiveConfig } from "../system/modprobe-config.ts";
import { overrideFilesIn } from "../system/override-file.ts";
import { behaviourFor } from "./modprobe-config.ts";

/** The benchmark to judge: the option, else the configured profile's; a usage error when neither names one. */
export function chooseBenchmark(ctx: Context, option: string | undefined): Benchmark {
  if (option !== undefined) {
    if (isBenchmark(option)) return option;
    throw new UsageError(`unknown benchmark '${option}' (--benchmark)`, `use one of: ${BENCHMARKS.join(", ")}`);
  }
  const fromProfile = benchmarkOfProfile(ctx.config.profile);
  if (fromProfile !== null) return fromProfile;
  throw new UsageError(
    `the configured profile '${ctx.config.profile}' serves no benchmark`,
    `name one with --benchmark ${BENCHMARKS.join(" or ")}, or set profile: cis-l1 or cis-l2 in the configuration`,
  );
}

export function runAudit(ctx: Context, benchmark: Benchmark): AuditReport {
  const { fs } = ctx;
  const kernel = readKernelState(fs);
  const behaviour = behaviourFor(ctx);
  // The command line is the running kernel's; the bootloader gives the others theirs, which cannot be read here.
  const configFor = (release: string | null) => readEffectiveConfig(fs, { behaviour, release, cmdline: kernel.running });
  const config = configFor(kernel.release);
  const kernels = listInstalledReleases(fs).map((release): AuditKernel => {
    const index: ModuleIndex | null = readModuleIndex(fs, release);
    let entries: AuditKernel["entries"] | undefined;
    return {
      release,
      offer: (module): KernelOffer => (index === null ? "none" : index.modules.has(module) ? "module" : index.builtin.has(module) ? "builtin" : "none"),
      // Read once, and only for a kernel that has one of the benchmark's modules.
      get entries() {
        if (entries === undefined) entries = release === kernel.release ? config.entries : configFor(release).entries;
        return entries;
      },
    };
  });
  const overrides = overrideFilesIn(fs, ctx.config.adminDir);
  return judgeAudit({
    benchmark,
    rules: filesystemRules(benchmark),
    entries: config.entries,
    loaded: kernel.loaded,
    kernels,
    override: (module) => {
      const file = overrides.read(fragmentName(module));
      return file.marker === null ? null : { path: file.path, marker: file.marker };
    },
  });
}
