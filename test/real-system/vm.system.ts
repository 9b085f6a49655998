// Real kernels: Debian 12's (6.1) and Debian 13's (6.12) under QEMU, the kernel
// itself asking modprobe for `fs-<type>` when mount needs a filesystem. Per
// kernel two boots: the modprobe.d behaviour in plain shell, then fsblacklist
// with Node inside the VM. The VMs run one at a time.

import { after, before, describe, test } from "node:test";
import assert from "node:assert/strict";
import * as fs from "node:fs";
import * as path from "node:path";
import { CACHE, DebianRoot, buildPackage, cachedRoot } from "./debian.ts";
import { BOOKWORM, TRIXIE } from "./recipes.ts";
import { baseInitramfs, boot, debianKernel, images, type Kernel, type Steps } from "./vm.ts";

const work = fs.mkdtempSync(path.join(CACHE, "work", "vm-"));
const userland = new DebianRoot(cachedRoot(TRIXIE));
after(() => {
  userland.cleanup();
  fs.rmSync(work, { recursive: true, force: true });
});

/** A mount's status and message, and whether the module is loaded afterwards. */
const MOUNT = `try_mount() { out=$(mount -t "$1" "$2" "$3" 2>&1); rc=$?; echo "mount $1 rc=$rc $(echo "$out" | head -n 1)"; grep -q "^$4 " /proc/modules && echo "$4 loaded" || echo "$4 not loaded"; }`;

/** The spike's shell scenarios: what kmod and the kernel do with modprobe.d, no fsblacklist involved. */
const SHELL_SCENARIOS = `${MOUNT}
step automount
try_mount minix /dev/vda /mnt minix
umount /mnt; rmmod minix

step blacklisted
echo 'blacklist minix' > /etc/modprobe.d/test.conf
try_mount minix /dev/vda /mnt minix
modprobe minix; echo "modprobe rc=$?"
grep -q '^minix ' /proc/modules && echo "minix loaded by name"
try_mount minix /dev/vda /mnt minix
umount /mnt; rmmod minix; rm /etc/modprobe.d/test.conf

step fragment-without-fsblacklist
mv /usr/bin/fsblacklist /root/fsblacklist
cp /usr/share/fsblacklist/blacklist.d/60-blacklist_fs-minix.conf /usr/lib/modprobe.d/
try_mount minix /dev/vda /mnt minix
modprobe minix </dev/null; echo "modprobe rc=$?"
grep -q '^minix ' /proc/modules && echo "minix loaded by name"
try_mount minix /dev/vda /mnt minix
umount /mnt; rmmod minix; rm /usr/lib/modprobe.d/60-blacklist_fs-minix.conf; mv /root/fsblacklist /usr/bin/fsblacklist

step install-false
echo 'install fat /bin/false' > /etc/modprobe.d/fat.conf
try_mount vfat /dev/vdc /mnt vfat
rm /etc/modprobe.d/fat.conf
try_mount vfat /dev/vdc /mnt vfat
umount /mnt

step diagnostics
dmesg | tail -n 20
`;

/** What a configuration directory holds, to show that a step wrote nothing. */
/** A JSON document into the log, for the test to parse (fewer Node starts in the VM, where each costs seconds). */
const JSON_OUT = `json() { echo "@@JSON $1"; cat "$2"; echo; echo "@@END"; }`;

const SNAPSHOT = `snapshot() { find /etc /usr/lib/modprobe.d /var/lib /run -xdev -type f 2>/dev/null | LC_ALL=C sort | xargs md5sum; }`;

/** fsblacklist with Debian's Node inside the VM. */
const FSBLACKLIST_SCENARIOS = `${MOUNT}
${SNAPSHOT}
${JSON_OUT}
step status-before
fsblacklist status minix jfs; echo "rc=$?"

step apply-keeps-mounted-jfs
try_mount jfs /dev/vdb /data jfs
fsblacklist apply --json > /tmp/apply.json; echo "apply rc=$?"
umount /data; rmmod jfs; grep -q '^jfs ' /proc/modules || echo "jfs unloaded"
try_mount jfs /dev/vdb /data jfs
umount /data
fsblacklist status --json jfs minix > /tmp/status.json; echo "status rc=$?"
json apply /tmp/apply.json
json status /tmp/status.json

step modprobe-by-name
snapshot > /tmp/before
modprobe minix </dev/null >/tmp/modprobe.out 2>&1; echo "modprobe rc=$?"; cat /tmp/modprobe.out
grep -q '^minix ' /proc/modules && echo "minix loaded by name"
snapshot > /tmp/after
cmp -s /tmp/before /tmp/after && echo "nothing written" || diff /tmp/before /tmp/after
rmmod minix

step explain-fix
out=$(mount -t minix /dev/vda /mnt 2>&1); echo "mount rc=$? $(echo "$out" | head -n 1)"
fsblacklist explain --message "$out" > /tmp/explain.txt; echo "explain rc=$?"; cat /tmp/explain.txt
# The commands under "Fix:", as printed.
sed -n '/^Fix:$/,/^[^ ]/s/^  //p' /tmp/explain.txt > /tmp/fix.sh
echo "fix:"; cat /tmp/fix.sh
sh -e /tmp/fix.sh; echo "fix rc=$?"
try_mount minix /dev/vda /mnt minix
umount /mnt; rmmod minix

step allow-now
fsblacklist reset minix; echo "reset rc=$?"
try_mount minix /dev/vda /mnt minix
fsblacklist allow minix --now; echo "allow rc=$?"
grep -q '^minix ' /proc/modules && echo "minix loaded by allow --now"
try_mount minix /dev/vda /mnt minix
umount /mnt

step uninstall
fsblacklist uninstall; echo "uninstall rc=$?"
ls /usr/lib/modprobe.d
modprobe -c | grep -c '^blacklist '

step diagnostics
dmesg | tail -n 20
`;

/** Which releases' kernels boot: both, or those FSBLACKLIST_VM_KERNELS names (bookworm, trixie). */
const SUITES = (["bookworm", "trixie"] as const).filter((s) => (process.env["FSBLACKLIST_VM_KERNELS"] ?? "bookworm trixie").split(/[\s,]+/).includes(s));

/** The document a step printed with json(). */
function jsonIn(out: string, name: string): unknown {
  const from = out.indexOf(`@@JSON ${name}\n`);
  assert.ok(from >= 0, `no JSON ${name} in:\n${out}`);
  const start = from + `@@JSON ${name}\n`.length;
  return JSON.parse(out.slice(start, out.indexOf("\n@@END", start)));
}

for (const suite of SUITES) {
  describe(`Debian ${suite === "bookworm" ? "12" : "13"}'s kernel`, () => {
    let kernel: Kernel;
    let base = "";
    let shell: Steps;
    let withNode: Steps;

    before(async () => {
      const started = Date.now();
      const release = new DebianRoot(cachedRoot(suite === "bookworm" ? BOOKWORM : TRIXIE));
      try {
        kernel = debianKernel(release);
      } finally {
        release.cleanup();
      }
      base = baseInitramfs(kernel, userland, buildPackage());
      console.log(`# ${kernel.package}: initramfs ${(fs.statSync(base).size / 1e6).toFixed(0)} MB in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const booted = Date.now();
      shell = await boot(kernel, base, SHELL_SCENARIOS, images(), work);
      console.log(`# ${kernel.package}: shell scenarios: boot to init ${shell.bootSeconds.toFixed(1)} s, whole VM ${((Date.now() - booted) / 1000).toFixed(1)} s`);
      const booted2 = Date.now();
      withNode = await boot(kernel, base, FSBLACKLIST_SCENARIOS, images(), work);
      // The whole output, dmesg's tail included, for when an assertion below fails.
      fs.mkdirSync(path.join(CACHE, "logs"), { recursive: true });
      fs.writeFileSync(path.join(CACHE, "logs", `vm-${kernel.release}-shell.log`), shell.log);
      fs.writeFileSync(path.join(CACHE, "logs", `vm-${kernel.release}-fsblacklist.log`), withNode.log);
      console.log(`# VM output: ${path.join(CACHE, "logs", `vm-${kernel.release}-*.log`)}`);
      console.log(`# ${kernel.package}: fsblacklist scenarios: whole VM ${((Date.now() - booted2) / 1000).toFixed(1)} s`);
    });

    const timed = (steps: () => Steps, name: string) => console.log(`# ${kernel.release} ${name}: ${steps().seconds(name).toFixed(1)} s in the VM`);

    test("mount auto-loads minix through the kernel's fs-minix request", () => {
      timed(() => shell, "automount");
      assert.match(shell.step("automount"), /^mount minix rc=0 \nminix loaded$/m);
    });

    test("a blacklist makes the mount fail with 'unknown filesystem type'; modprobe minix by name still loads it", () => {
      timed(() => shell, "blacklisted");
      const out = shell.step("blacklisted");
      assert.match(out, /^mount minix rc=32 mount: \/mnt: unknown filesystem type 'minix'.*\nminix not loaded$/m);
      assert.match(out, /^modprobe rc=0\nminix loaded by name\nmount minix rc=0 \nminix loaded$/m);
    });

    test("the shipped fragment without /usr/bin/fsblacklist: auto-load blocked, loading by name still works", () => {
      timed(() => shell, "fragment-without-fsblacklist");
      const out = shell.step("fragment-without-fsblacklist");
      assert.match(out, /^mount minix rc=32 .*unknown filesystem type 'minix'.*\nminix not loaded$/m);
      assert.match(out, /^modprobe rc=0\nminix loaded by name\nmount minix rc=0 \nminix loaded$/m);
    });

    test("install fat /bin/false stops vfat", () => {
      timed(() => shell, "install-false");
      const out = shell.step("install-false");
      assert.match(out, /^mount vfat rc=32 .*unknown filesystem type 'vfat'.*\nvfat not loaded\nmount vfat rc=0 \nvfat loaded$/m);
    });

    test("apply with jfs mounted keeps it loadable after unmount and rmmod; the rest is blocked", () => {
      timed(() => withNode, "status-before");
      timed(() => withNode, "apply-keeps-mounted-jfs");
      assert.match(withNode.step("status-before"), /rc=0$/m);
      const out = withNode.step("apply-keeps-mounted-jfs");
      assert.match(out, /^mount jfs rc=0 \njfs loaded\napply rc=0\n/m);
      assert.match(out, /^jfs unloaded\nmount jfs rc=0 \njfs loaded$/m);
      assert.match(out, /^status rc=0$/m);
      const apply = jsonIn(out, "apply") as { actions: { action: string; module: string }[] };
      const actions = (module: string) =>
        apply.actions
          .filter((a) => a.module === module)
          .map((a) => a.action)
          .sort();
      assert.deepEqual(actions("jfs"), ["install", "keep"]);
      assert.deepEqual(actions("minix"), ["install"]);
      const status = jsonIn(out, "status") as { kernel: string; filesystems: { name: string; state: string; mounted: boolean }[] };
      assert.equal(status.kernel, kernel.release);
      assert.deepEqual(status.filesystems.map((f) => [f.name, f.state]).sort(), [
        ["jfs", "kept"],
        ["minix", "blocked"],
      ]);
    });

    test("modprobe minix by name without a terminal loads it and writes nothing", () => {
      timed(() => withNode, "modprobe-by-name");
      assert.match(withNode.step("modprobe-by-name"), /^modprobe rc=0\nminix loaded by name\nnothing written$/m);
    });

    test("explain on the real mount failure, its printed fix run, then the mount succeeds", () => {
      timed(() => withNode, "explain-fix");
      const out = withNode.step("explain-fix");
      assert.match(out, /^mount rc=32 mount: \/mnt: unknown filesystem type 'minix'/m);
      assert.match(out, /^explain rc=0$/m);
      assert.match(out, /blacklist/i);
      assert.match(out, /^fix:\nfsblacklist allow minix\n/m);
      assert.match(out, /^fix rc=0\nmount minix rc=0 \nminix loaded$/m);
    });

    test("allow --now loads the module at once", () => {
      timed(() => withNode, "allow-now");
      const out = withNode.step("allow-now");
      assert.match(out, /^reset rc=0\nmount minix rc=32 .*\nminix not loaded\n/m);
      assert.match(out, /^allow rc=0\nminix loaded by allow --now\nmount minix rc=0 \nminix loaded$/m);
    });

    test("uninstall removes every fragment: kmod blacklists nothing", () => {
      timed(() => withNode, "uninstall");
      assert.match(withNode.step("uninstall"), /^uninstall rc=0\n0\n$/m);
    });
  });
}
