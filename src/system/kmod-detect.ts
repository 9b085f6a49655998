// Which kmod the target system has, so that we read modprobe.d as it would.

import type { RootFs } from "./root-fs.ts";
import { parseKmodVersion } from "../kmod/kmod-version.ts";

/** The kmod version installed under the root per the dpkg database, or null if unknown. */
export function detectKmodVersion(fs: RootFs): number | null {
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
