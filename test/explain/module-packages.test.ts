import { test } from "node:test";
import assert from "node:assert/strict";
import { familyOf, packageHint, parseOsRelease } from "../../src/decide/module-packages.ts";

test("os-release: quoted and unquoted values, ID_LIKE as a list", () => {
  const os = parseOsRelease('NAME="Ubuntu"\nID=ubuntu\nID_LIKE=debian\nPRETTY_NAME="Ubuntu 24.04.1 LTS"\n# comment\n');
  assert.deepEqual(os, { id: "ubuntu", idLike: ["debian"], prettyName: "Ubuntu 24.04.1 LTS" });
  assert.deepEqual(parseOsRelease("ID='opensuse-tumbleweed'\nID_LIKE=\"opensuse suse\"\n").idLike, ["opensuse", "suse"]);
});

test("the family comes from os-release first, from the release's shape otherwise", () => {
  const ubuntu = parseOsRelease("ID=ubuntu\nID_LIKE=debian\n");
  assert.equal(familyOf(ubuntu, "6.1.0-50-amd64"), "ubuntu");
  assert.equal(familyOf(parseOsRelease('ID=rocky\nID_LIKE="rhel centos fedora"\n'), null), "rhel");
  const byRelease: [string, string | null][] = [
    ["6.1.0-50-cloud-amd64", "debian"],
    ["6.12.100+deb12-amd64", "debian"],
    ["6.8.0-45-generic", "ubuntu"],
    ["6.9.7-200.fc40.x86_64", "fedora"],
    ["5.14.0-427.13.1.el9_4.x86_64", "rhel"],
    ["6.4.0-150600.23.17-default", "suse"],
    ["6.10.6-arch1-1", "arch"],
    ["6.18.44-fc-v595", null],
  ];
  for (const [release, family] of byRelease) assert.equal(familyOf(null, release), family, release);
});

test("package hints name an installable package and the command", () => {
  const debian = parseOsRelease("ID=debian\n");
  assert.deepEqual(packageHint("minix", "6.1.0-50-cloud-amd64", debian), {
    family: "debian",
    packageName: "linux-image-amd64",
    command: "apt install linux-image-amd64",
    note: "Debian's cloud kernel (6.1.0-50-cloud-amd64) is built without minix; the generic kernel linux-image-amd64 has it (reboot into it afterwards)",
  });
  const cramfs = packageHint("cramfs", "6.1.0-50-amd64", debian);
  assert.equal(cramfs.command, null);
  assert.match(cramfs.note, /no Debian kernel package ships it/);
  assert.equal(packageHint("jfs", "6.8.0-45-generic", null).command, "apt install linux-modules-extra-6.8.0-45-generic");
  assert.equal(packageHint("ufs", "6.9.7-200.fc40.x86_64", null).command, "dnf install kernel-modules-extra-6.9.7-200.fc40.x86_64");
  assert.equal(packageHint("jfs", "6.4.0-150600.23.17-default", null).command, "zypper install kernel-default-optional kernel-default-extra");
  const unknown = packageHint("jfs", "6.18.44-fc-v595", null);
  assert.equal(unknown.command, null);
  assert.match(unknown.note, /extra kernel modules/);
});
