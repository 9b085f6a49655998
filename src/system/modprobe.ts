// Runs the real modprobe to load a module now, past install lines (ours would
// only call fsblacklist again).

/**
 * `modprobe --ignore-install -- MODULE`, under `root` (with `-d`, and `-S` for
 * that root's kernel release) unless it is the host's. Null on success, else
 * what went wrong: modprobe's own message, or why it could not run.
 */
export async function modprobeLoad(module: string, under: { root: string; release: string | null } | null): Promise<string | null> {
  const { execa } = await import("execa");
  const underRoot = under === null ? [] : ["-d", under.root, ...(under.release === null ? [] : ["-S", under.release])];
  const args = ["--ignore-install", ...underRoot, "--", module];
  const result = await execa("modprobe", args, { reject: false, stdin: "ignore", env: { LC_ALL: "C" } });
  if (result.exitCode === 0) return null;
  return result.failed && result.exitCode === undefined ? `cannot run modprobe: ${result.shortMessage}` : result.stderr.trim() || `modprobe exited with ${result.exitCode}`;
}
