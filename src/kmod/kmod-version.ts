// kmod changed how it reads modprobe.d over the years. We follow the version found
// on the target system and default to the newest behaviour we know (kmod 34).
// The rules are modelled back to kmod 20; older versions are read like kmod 20.

export interface KmodBehaviour {
  version: number;
  /** `*.alias` files in modprobe.d are read like `*.conf` (dropped in kmod 33). */
  readsAliasFiles: boolean;
  /**
   * An entry that cannot be stat'ed (dangling link, link loop) is judged by the
   * stat of the entry examined before it (kmod ignores the error until 33): it
   * claims its name, and so masks, unless that entry was a directory.
   */
  danglingLinkMasks: boolean;
  /** `weakdep` lines and modules.weakdep (kmod 33). */
  weakdep: boolean;
  /** A backslash right before end of file adds a 0xFF byte (kmod < 34) instead of being dropped. */
  backslashAtEofAddsByte: boolean;
  /** The kernel command line is scanned by kmod 29's state machine (all blanks separate words, quotes, re-quoting). */
  cmdlineStateMachine: boolean;
  /** Before kmod 29: the simple scanner honours double quotes (kmod 24). */
  cmdlineQuotes: boolean;
  /** A command-line option whose module name has an unmatched bracket is dropped (kmod 28), not stored anyway. */
  cmdlineSkipsBadModuleName: boolean;
  /**
   * usr/lib/modprobe.d is a default directory (kmod 32). Debian's kmod 30 reads
   * only etc, run, usr/local/lib and lib (checked with strace); on a merged-/usr
   * system lib/ is usr/lib/, so only unmerged roots see the difference.
   */
  readsUsrLib: boolean;
}

export const NEWEST_KNOWN_KMOD = 34;

export function kmodBehaviour(version: number = NEWEST_KNOWN_KMOD): KmodBehaviour {
  return {
    version,
    readsAliasFiles: version < 33,
    danglingLinkMasks: version < 34,
    weakdep: version >= 33,
    backslashAtEofAddsByte: version < 34,
    cmdlineStateMachine: version >= 29,
    cmdlineQuotes: version >= 24,
    cmdlineSkipsBadModuleName: version >= 28,
    readsUsrLib: version >= 32,
  };
}

/**
 * The kmod version from a `kmod --version` line ("kmod version 30") or a package
 * version string ("30+20221128-1", "34.2-1.1", "kmod-31-5.fc40").
 */
export function parseKmodVersion(text: string): number | null {
  const match = /(?:kmod version |kmod-|^)(\d+)(?=[.+\-~\s]|$)/m.exec(text.trim());
  if (!match?.[1]) return null;
  const version = Number(match[1]);
  return version >= 1 && version < 1000 ? version : null;
}
