// kmod changed how it reads modprobe.d over the years. We follow the version found
// on the target system and default to the newest behaviour we know (kmod 34).

export interface KmodBehaviour {
  version: number;
  /** `*.alias` files in modprobe.d are read like `*.conf` (dropped in kmod 33). */
  readsAliasFiles: boolean;
  /** A dangling link (or one that cannot be stat'ed) still claims its name and so masks (until kmod 33). */
  danglingLinkMasks: boolean;
  /** `weakdep` lines and modules.weakdep (kmod 33). */
  weakdep: boolean;
  /** A backslash right before end of file adds a 0xFF byte (kmod < 34) instead of being dropped. */
  backslashAtEofAddsByte: boolean;
  /** usr/lib/modprobe.d is a default directory (kmod 32; distributions patched it in earlier). */
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
    readsUsrLib: true,
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
