// Hand-made status data and a plan double for the component tests. The plan's
// apply records what it was asked to write; the real service is exercised by
// the end-to-end test.

import type { ApplyOutcome, PendingChange, ReviewFilesystem, ReviewPlan, ReviewReport } from "../../src/tui/review-state.ts";
import type { ReviewServices } from "../../src/tui/use-review.ts";

export function filesystem(name: string, overrides: Partial<ReviewFilesystem> = {}): ReviewFilesystem {
  return {
    name,
    module: name,
    state: "blocked",
    decidedBy: `usr/lib/modprobe.d/60-blacklist_fs-${name}.conf:5`,
    loaded: false,
    mounted: false,
    inFstab: false,
    inMountUnit: false,
    present: true,
    reason: `${name}: rarely used, poorly maintained filesystem`,
    references: [],
    kernels: null,
    inPolicy: true,
    usedBy: [],
    types: [name],
    why: "blacklisted",
    installLines: [],
    installSetAsideBy: null,
    ...overrides,
  };
}

export const NAMES = [
  "adfs",
  "affs",
  "befs",
  "bfs",
  "cramfs",
  "efs",
  "erofs",
  "f2fs",
  "freevxfs",
  "hfs",
  "hfsplus",
  "hpfs",
  "jffs2",
  "jfs",
  "minix",
  "nilfs2",
  "ntfs3",
  "omfs",
  "orangefs",
  "qnx4",
  "qnx6",
  "reiserfs",
  "romfs",
  "sysv",
  "ufs",
  "zonefs",
];

export function sampleReport(): ReviewReport {
  return {
    kernel: "6.1.0-50-amd64",
    notes: [],
    filesystems: NAMES.map((name) => {
      switch (name) {
        case "jfs":
          return filesystem(name, { references: ["CVE-2023-52600", "CVE-2024-26614"], reason: "JFS: unmaintained; many fuzzer-found bugs" });
        case "hfsplus":
          return filesystem(name, {
            state: "kept",
            decidedBy: "etc/modprobe.d/60-blacklist_fs-hfsplus.conf:7",
            loaded: true,
            mounted: true,
            inFstab: true,
            usedBy: ["mounted at /srv/mac (proc/self/mountinfo)", "etc/fstab:4"],
            why: "kept in use by `fsblacklist apply`: hfsplus mounted at /srv/mac",
          });
        case "f2fs":
          return filesystem(name, { state: "allowed", decidedBy: "etc/modprobe.d/60-blacklist_fs-f2fs.conf:1" });
        case "minix":
          return filesystem(name, { state: "pinned", decidedBy: "etc/modprobe.d/60-blacklist_fs-minix.conf:7" });
        case "reiserfs":
          return filesystem(name, { state: "unavailable", present: false, kernels: "<6.13", decidedBy: null });
        case "erofs":
          return filesystem(name, { state: "builtin", decidedBy: null });
        default:
          return filesystem(name);
      }
    }),
  };
}

export interface RecordingServices extends ReviewServices {
  planned: PendingChange[][];
  applied: number;
}

/** A plan for each pending change: an override file whose contents name the action. */
export function recordingServices(options: { fail?: string; afterApply?: (changes: readonly PendingChange[]) => ReviewReport } = {}): RecordingServices {
  const services: RecordingServices = {
    planned: [],
    applied: 0,
    async plan(changes) {
      services.planned.push([...changes]);
      if (options.fail !== undefined) throw new Error(options.fail);
      const plan: ReviewPlan = {
        files: changes.map((c) => ({
          path: `etc/modprobe.d/60-blacklist_fs-${c.name}.conf`,
          before: c.action === "allow" ? null : `# override\n${c.name}\n`,
          after: c.action === "reset" ? null : `# override\n# fsblacklist-override: ${c.action}\n`,
        })),
        notes: [],
        refused: [],
        async apply(): Promise<ApplyOutcome> {
          services.applied++;
          const report = options.afterApply?.(changes) ?? sampleReport();
          return { report, summary: changes.map((c) => `${c.action} ${c.name}`) };
        },
      };
      return plan;
    },
  };
  return services;
}
