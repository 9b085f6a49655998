// Which kmod the target system has, so that we read modprobe.d as it would.

import type { RootFs } from "./root-fs.ts";
import { parseKmodVersion } from "../kmod/kmod-version.ts";

const detected = new WeakMap<RootFs, number | null>();

/** The kmod version installed under the root per the dpkg database, or null if unknown. */
export function detectKmodVersion(fs: RootFs): number | null {
  // The dpkg database is megabytes on a real system: read it once per run.
  if (!detected.has(fs)) detected.set(fs, readDpkgKmodVersion(fs));
  return detected.get(fs) ?? null;
}

function readDpkgKmodVersion(fs: RootFs): number | null {
  const status = fs.readText("var/lib/dpkg/status");
  if (status === null) return null;
  const start = status.search(/^Package: kmod$/m);
  if (start < 0) return null;
  const end = status.indexOf("\n\n", start);
  const stanza = status.slice(start, end < 0 ? undefined : end);
  if (!/^Status: .* installed$/m.test(stanza)) return null;
  const version = /^Version: (?:\d+:)?(\S+)$/m.exec(stanza)?.[1];
  return version ? parseKmodVersion(version) : null;
}
