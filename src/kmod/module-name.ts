// Module names end up in `install` lines that modprobe runs through a shell as
// root, and in file names. Only what the kernel itself uses is accepted.

/** The kernel's MODULE_NAME_LEN (64) minus sizeof(unsigned long). */
export const MAX_MODULE_NAME_BYTES = 56;

const MODULE_NAME = /^[A-Za-z0-9_-]+$/;

/** Why `name` is not a valid module or filesystem name, or null if it is. */
export function moduleNameProblem(name: string): string | null {
  if (name === "") return "is empty";
  if (Buffer.byteLength(name, "utf8") > MAX_MODULE_NAME_BYTES) return `is longer than ${MAX_MODULE_NAME_BYTES} bytes`;
  if (!MODULE_NAME.test(name)) return "may contain only letters, digits, '_' and '-'";
  // It would read as an option to modprobe and to our own command line.
  if (name.startsWith("-")) return "must not start with '-'";
  return null;
}

/** kmod's normal form of a module name: `-` becomes `_`. */
export function normaliseModuleName(name: string): string {
  return name.replaceAll("-", "_");
}
