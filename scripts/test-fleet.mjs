// The fleet suite (`npm run test:fleet`): the Ansible collection in ansible/ driven
// by the real ansible-playbook against fake roots (test/fleet/*.fleet.ts). It needs
// Debian's ansible-core and ansible (the latter for ansible.posix's json callback):
// apt-get install ansible-core ansible. Without them it says what is missing and
// skips, except under CI=true, where that fails. It also needs root (read-only
// bind mounts).
import { spawnSync } from "node:child_process";
import { readdirSync } from "node:fs";

function fail(message) {
  if (process.env.CI === "true") {
    console.error(`fleet suite: ${message}. Under CI a missing prerequisite is a failure.`);
    process.exit(1);
  }
  console.log(`fleet suite: ${message}: skipped.`);
  process.exit(0);
}

if (spawnSync("sh", ["-c", "command -v ansible-playbook"]).status !== 0) fail("needs ansible-playbook (apt-get install ansible-core)");
if (spawnSync("ansible-doc", ["-t", "callback", "ansible.posix.json"], { stdio: "ignore" }).status !== 0) {
  fail("needs ansible.posix's json callback (apt-get install ansible)");
}
if (process.getuid?.() !== 0) fail("needs root (read-only bind mounts)");

const files = readdirSync("test/fleet")
  .filter((f) => f.endsWith(".fleet.ts"))
  .map((f) => `test/fleet/${f}`);
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=1", "--test-reporter=spec", ...files], { stdio: "inherit" });
process.exit(result.status ?? 1);
