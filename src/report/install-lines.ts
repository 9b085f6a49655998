// The install lines that match a module, as `status FS` and `explain` print
// them: kmod runs only the first in its order, so each line says whether it is
// the one that runs and, if not, why not.

import type { InstallLineReport } from "../services/foreign-install.ts";

/** "etc/modprobe.d/hfs.conf:1 `install hfs /bin/false`: kmod runs this one"; the arguments already escaped for a terminal. */
export function installLinePhrase(line: InstallLineReport, setAsideBy: string | null): string {
  const role = line.runs ? "kmod runs this one" : setAsideBy !== null ? `set aside: the softdep at ${setAsideBy} makes kmod load the module itself` : "not run: an earlier line matches";
  return `${line.where} \`${line.line}\`${line.ours ? " (fsblacklist's)" : ""}: ${role}`;
}
