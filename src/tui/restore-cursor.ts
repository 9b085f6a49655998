// Stands in for the restore-cursor package in the bundled review UI (scripts/build.mjs
// points Ink's cli-cursor here). That package writes "show the cursor" to stderr
// whenever the process ends, so `fsblacklist review 2>log` left an escape
// sequence in the log. The review restores its terminal itself on every way out
// (run-review.tsx); this only covers an exit that skipped that, and only on a
// terminal.

let registered = false;

export default function restoreCursor(): void {
  if (registered) return;
  registered = true;
  process.once("exit", () => {
    if (process.stderr.isTTY) process.stderr.write("\u001B[?25h");
  });
}
