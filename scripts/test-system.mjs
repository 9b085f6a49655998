// The system suite (`npm run test:system [-- NAME...]`): the built package in real
// Debian roots with apt and dpkg, and real Debian kernels under QEMU
// (test/real-system/*.system.ts). It needs root and a few host tools; without
// them it says what is missing and skips, except under CI (CI=true), where a
// missing prerequisite is a failure. Roots, kernels and downloads are cached in
// /var/cache/fsblacklist-test ($FSBLACKLIST_TEST_CACHE) and built first, so
// that the time printed for each scenario is its own.
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

const started = Date.now();
const seconds = (since) => `${((Date.now() - since) / 1000).toFixed(1)} s`;

const TOOLS = [
  ["mmdebstrap", "mmdebstrap"],
  ["lintian", "lintian"],
  ["dpkg-deb", "dpkg"],
  ["unshare", "util-linux"],
  ["qemu-system-x86_64", "qemu-system-x86"],
  ["cpio", "cpio"],
  ["busybox", "busybox-static"],
];
const needs = [];
if (process.getuid?.() !== 0) needs.push("root (chroot, mounts and dpkg in the roots)");
for (const [command, pkg] of TOOLS) {
  if (spawnSync("sh", ["-c", `command -v ${command}`]).status !== 0) needs.push(`${command} (apt-get install ${pkg})`);
}
if (needs.length > 0) {
  const message = `system suite: needs ${needs.join(", ")}; also the Debian archive of the host's apt sources (or FSBLACKLIST_DEBIAN_MIRROR) and about 3 GB in /var/cache/fsblacklist-test`;
  if (process.env.CI === "true") {
    console.error(`${message}. Under CI a missing prerequisite is a failure.`);
    process.exit(1);
  }
  console.log(`${message}: skipped.`);
  process.exit(0);
}

const only = process.argv.slice(2);
// Cheap scenarios first; the virtual machines last.
const ORDER = ["apt", "initramfs", "dist-upgrade", "vm"];
const files = readdirSync("test/real-system")
  .filter((f) => f.endsWith(".system.ts"))
  .filter((f) => only.length === 0 || only.some((o) => f.includes(o)))
  .sort((a, b) => ORDER.findIndex((o) => a.startsWith(o)) - ORDER.findIndex((o) => b.startsWith(o)))
  .map((f) => `test/real-system/${f}`);
if (files.length === 0) {
  console.error(`system suite: no scenario file matches ${only.join(" ")}`);
  process.exit(2);
}

const prepared = Date.now();
const prepare = spawnSync(process.execPath, ["--import", "tsx", "test/real-system/prepare.ts", ...files], { stdio: "inherit" });
if (prepare.status !== 0) {
  console.error("system suite: preparing the roots and kernels failed (above); they need the Debian archive of the host's apt sources, or FSBLACKLIST_DEBIAN_MIRROR");
  process.exit(1);
}
console.log(`# prepared roots and kernels in ${seconds(prepared)}`);

// One file at a time: QEMU without KVM takes a core or two, and the machine is shared.
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files], { stdio: "inherit" });
console.log(`# system suite: ${result.status === 0 ? "passed" : "FAILED"} in ${seconds(started)}`);
process.exit(result.status ?? 1);
