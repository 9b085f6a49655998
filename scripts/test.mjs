// Runs the test files under test/ with node's test runner, by tier:
//
//   node scripts/test.mjs [--tier everyday|e2e|evidence|all] [PATH-PART...]
//
// everyday (`npm test`): every test file but the end-to-end and evidence suites.
// e2e (`npm run test:e2e`): the end-to-end files of E2E. evidence
// (`npm run test:evidence`): the long suites that prove crash safety, the
// differential against kmod, concurrency and behaviour under faults. all: every file.
// The files of SAMPLED run in both tiers: their exhaustive tables and seeds take
// a sample under everyday (FSB_TEST_TIER, test/helpers/tier.ts), so every
// behaviour keeps a smoke in `npm test`, and run whole under evidence and all.
// Without --tier every file is a candidate; PATH-PARTs keep the files whose path
// contains one of them. Node 20's `--test` does not expand globs itself, so the
// files are listed here.
//
// Two things make a run cheaper without changing what a test sees:
//   - The selected files are first built to JavaScript, one esbuild build into
//     tmp/test-build/run-PID/ (modules shared by several files split into chunks), so no
//     test process starts a TypeScript loader: with tsx each file cost about half a
//     second more, a quarter of npm test. Each module's import.meta.url is its
//     source file's, so paths relative to a test (fixtures, bin/, schemas/) are
//     the same as under tsx. A failure's stack points into tmp/test-build/;
//     `node --import tsx --test test/FILE.test.ts` runs one file from its source.
//   - The tests' temporary directories (fake roots, images, scratch trees) are in
//     a directory of this run on /dev/shm when that is a tmpfs, removed at the end:
//     hundreds of fake roots are written and removed, and on the disk their
//     directory entries cost a quarter of the run.
//
// Under CI (CI=true) a test skipped because the machine lacks root, kmod or a
// full kernel package is a failure: CI is where those run (.ci/run provides them).
import { build } from "esbuild";
import { chmodSync, mkdtempSync, readFileSync, readdirSync, rmSync, statfsSync } from "node:fs";
import { spawnSync } from "node:child_process";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { pathToFileURL } from "node:url";

/**
 * The end-to-end tier: what needs whole processes of the built command in a real
 * setting (terminals in tmux, signals, package and kernel hooks run by sh and
 * run-parts, the .deb, kmod's install line calling the hook), beside the one
 * spawned smoke per command that `npm test` keeps (test/cli/smoke.test.ts).
 */
const E2E = [
  "test/tui/review-e2e.test.ts",
  "test/tui/review-signals.test.ts",
  "test/tui/review-environment.test.ts",
  "test/package/deb.test.ts",
  "test/apply/hooks.test.ts",
  "test/apply/kernel-hooks.test.ts",
  "test/uninstall/hooks.test.ts",
  "test/overrides/modprobe-hook.test.ts",
  "test/system/stdio.test.ts",
];
/** The evidence tier: whole folders or single files. */
const EVIDENCE = ["test/evidence/", "test/kmod/differential.test.ts", "test/apply/concurrency.test.ts", "test/apply/failures.test.ts"];
/** Files that run in both tiers, a sample of their tables under everyday. */
const SAMPLED = [
  "test/explain/verified-fixes.test.ts",
  "test/explain/fix-then-apply.test.ts",
  "test/facts/resolve.test.ts",
  "test/facts/damaged-index.test.ts",
  "test/kmod/index-bin.test.ts",
  "test/explain/explain-cli.test.ts",
  "test/explain/hostile-config.test.ts",
  "test/overrides/hostile-names.test.ts",
  "test/overrides/postconditions.test.ts",
  "test/apply/random-sequences.test.ts",
];
const TIERS = {
  everyday: (file) => !EVIDENCE.some((e) => file.startsWith(e)) && !E2E.includes(file),
  e2e: (file) => E2E.includes(file),
  evidence: (file) => EVIDENCE.some((e) => file.startsWith(e)) || SAMPLED.includes(file),
  all: () => true,
};
/** Skip reasons that mean "this machine is not set up like CI", never "this test does not apply here". */
const CI_MUST_RUN = /\broot\b|kmod|modprobe|oracle|full kernel|unshare|setpriv|chroot/i;

const args = process.argv.slice(2);
const tierAt = args.indexOf("--tier");
const tier = tierAt < 0 ? "all" : args[tierAt + 1];
if (!(tier in TIERS)) {
  console.error(`unknown tier ${JSON.stringify(tier)}: one of ${Object.keys(TIERS).join(", ")}`);
  process.exit(2);
}
const only = tierAt < 0 ? args : args.filter((_, i) => i !== tierAt && i !== tierAt + 1);

const files = readdirSync("test", { recursive: true })
  .map(String)
  .filter((f) => /\.test\.tsx?$/.test(f) && !f.includes("node_modules"))
  .map((f) => `test/${f}`)
  .filter(TIERS[tier])
  .sort();
const selected = only.length > 0 ? files.filter((f) => only.some((o) => f.includes(o))) : files;
if (selected.length === 0) {
  console.error("no test files found");
  process.exit(1);
}

/** The files as JavaScript in `out`, each module with its source's import.meta.url; returns the built paths. */
async function buildTests(sources, out) {
  const ownUrl = {
    name: "own-import-meta-url",
    setup(b) {
      b.onLoad({ filter: /\.(ts|tsx)$/ }, (args) => ({
        contents: readFileSync(args.path, "utf8").replaceAll("import.meta.url", JSON.stringify(pathToFileURL(args.path).href)),
        loader: args.path.endsWith(".tsx") ? "tsx" : "ts",
      }));
    },
  };
  await build({
    entryPoints: sources,
    outbase: ".",
    outdir: out,
    outExtension: { ".js": ".mjs" },
    chunkNames: "chunks/[name]-[hash]",
    bundle: true,
    splitting: true,
    format: "esm",
    platform: "node",
    target: "node20",
    packages: "external",
    jsx: "automatic",
    plugins: [ownUrl],
    logLevel: "warning",
  });
  return sources.map((f) => join(out, f.replace(/\.tsx?$/, ".mjs")));
}

/** A directory of this run on /dev/shm when that is a tmpfs, else under the usual temporary directory. */
function runDirectory() {
  const TMPFS_MAGIC = 0x01021994;
  try {
    if (statfsSync("/dev/shm").type === TMPFS_MAGIC) return mkdtempSync("/dev/shm/fsb-");
  } catch {
    // no /dev/shm: the disk it is
  }
  return mkdtempSync(join(tmpdir(), "fsb-"));
}

// A directory of this run (two runs in one checkout do not meet), inside the
// checkout so that the built files find node_modules/; kept when the run fails,
// for the stack traces that point into it.
const buildDir = `tmp/test-build/run-${process.pid}`;
const built = await buildTests(selected, buildDir);
// The tests' TMPDIR: like /tmp (tests run the command as nobody on roots made
// here), and short (paths in the command's messages are wrapped at a width).
const scratch = runDirectory();
chmodSync(scratch, 0o1777);
// What people read (spec at a terminal, TAP otherwise, as node picks), and TAP in a file for the skip check.
const tap = join(buildDir, "results.tap");
const reporters = ["--test-reporter", process.stdout.isTTY ? "spec" : "tap", "--test-reporter-destination", "stdout", "--test-reporter", "tap", "--test-reporter-destination", tap];
const env = { ...process.env, FSB_TEST_TIER: tier, TMPDIR: scratch };
// Ctrl-C reaches the test runner too: it stops the tests, and this process cleans up after it.
for (const signal of ["SIGINT", "SIGTERM", "SIGHUP"]) process.on(signal, () => {});
const result = spawnSync(process.execPath, ["--test", "--test-concurrency=2", ...reporters, ...built.map((f) => resolve(f))], { stdio: "inherit", env });
let status = result.status ?? 1;
if (process.env.CI === "true") {
  const skipped = readFileSync(tap, "utf8")
    .split("\n")
    .filter((line) => /^\s*ok \d+ - .*# SKIP/.test(line) && CI_MUST_RUN.test(line.slice(line.indexOf("# SKIP"))))
    .map((line) => line.trim());
  if (skipped.length > 0) {
    console.error(`CI: ${skipped.length} test(s) skipped for want of what CI must provide:\n  ${skipped.join("\n  ")}`);
    status = 1;
  }
}
rmSync(scratch, { recursive: true, force: true });
if (status === 0) {
  rmSync(buildDir, { recursive: true, force: true });
  if (readdirSync("tmp/test-build").length === 0) rmSync("tmp/test-build", { recursive: true });
} else console.error(`The failures' stack traces point into ${buildDir}/ (kept; remove tmp/test-build/ when done), or run a file from its source: node --import tsx --test test/FILE.test.ts`);
process.exit(status);
