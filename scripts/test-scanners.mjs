// The scanner suite (`npm run test:scanners`): fsblacklist's benchmark profiles
// against OpenSCAP with ComplianceAsCode's OVAL content (Debian 13's
// ssg-debderived and ssg-nondebian: ssg-ubuntu2404-oval.xml,
// ssg-rhel9-oval.xml), evaluated inside
// fake roots (OSCAP_PROBE_ROOT, what oscap-chroot sets; Debian does not ship
// that wrapper). It needs `oscap` (apt-get install openscap-scanner) and the
// content, which it downloads once with apt from Debian 13 (trixie) into
// /var/cache/fsblacklist-test/ssg ($FSBLACKLIST_TEST_CACHE). Without them it
// says what is missing and skips, except under CI=true, where that fails.
import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

const CACHE = join(process.env.FSBLACKLIST_TEST_CACHE ?? "/var/cache/fsblacklist-test", "ssg");
const CONTENT = join(CACHE, "root/usr/share/xml/scap/ssg/content");
const PACKAGES = ["ssg-debderived", "ssg-nondebian"];

function fail(message) {
  if (process.env.CI === "true") {
    console.error(`scanner suite: ${message}. Under CI a missing prerequisite is a failure.`);
    process.exit(1);
  }
  console.log(`scanner suite: ${message}: skipped.`);
  process.exit(0);
}

if (spawnSync("sh", ["-c", "command -v oscap"]).status !== 0) fail("needs oscap (apt-get install openscap-scanner)");
if (spawnSync("sh", ["-c", "command -v modprobe"]).status !== 0) fail("needs modprobe (apt-get install kmod)");

if (!existsSync(join(CONTENT, "ssg-ubuntu2404-oval.xml"))) {
  // apt with a private state directory: the host's sources and lists stay as they are.
  const apt = join(CACHE, "apt");
  rmSync(apt, { recursive: true, force: true });
  mkdirSync(join(apt, "lists/partial"), { recursive: true });
  mkdirSync(join(apt, "cache/archives/partial"), { recursive: true });
  const mirror = process.env.FSBLACKLIST_DEBIAN_MIRROR ?? "http://deb.debian.org/debian";
  writeFileSync(join(apt, "sources.list"), `deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] ${mirror} trixie main\n`);
  const options = [
    `-o`,
    `Dir::Etc::SourceList=${join(apt, "sources.list")}`,
    `-o`,
    `Dir::Etc::SourceParts=/dev/null`,
    `-o`,
    `Dir::State::Lists=${join(apt, "lists")}`,
    `-o`,
    `Dir::Cache=${join(apt, "cache")}`,
  ];
  const run = (args, cwd) => spawnSync("apt-get", [...options, ...args], { cwd, stdio: ["ignore", "inherit", "inherit"] });
  if (run(["-qq", "update"]).status !== 0) fail("cannot read Debian 13's package lists with apt (the archive, or FSBLACKLIST_DEBIAN_MIRROR)");
  if (run(["-qq", "download", ...PACKAGES], apt).status !== 0) fail(`cannot download ${PACKAGES.join(", ")} from Debian 13 with apt`);
  for (const deb of readdirSync(apt).filter((f) => f.endsWith(".deb"))) {
    if (spawnSync("dpkg-deb", ["-x", join(apt, deb), join(CACHE, "root")], { stdio: "inherit" }).status !== 0) fail(`cannot unpack ${deb}`);
  }
}

const files = readdirSync("test/scanners")
  .filter((f) => f.endsWith(".scanner.ts"))
  .map((f) => `test/scanners/${f}`);
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files], {
  stdio: "inherit",
  env: { ...process.env, FSBLACKLIST_SSG_CONTENT: CONTENT },
});
process.exit(result.status ?? 1);
