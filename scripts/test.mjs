// Runs every test file under test/ with node's test runner through tsx.
// Node 20's `--test` does not expand globs itself, so we list the files here.
import { readdirSync } from "node:fs";
import { spawnSync } from "node:child_process";

const files = readdirSync("test", { recursive: true })
  .map(String)
  .filter((f) => /\.test\.tsx?$/.test(f) && !f.includes("node_modules"))
  .map((f) => `test/${f}`)
  .sort();
const only = process.argv.slice(2);
const selected = only.length > 0 ? files.filter((f) => only.some((o) => f.includes(o))) : files;
if (selected.length === 0) {
  console.error("no test files found");
  process.exit(1);
}
const result = spawnSync(process.execPath, ["--import", "tsx", "--test", "--test-concurrency=2", ...selected], { stdio: "inherit" });
process.exit(result.status ?? 1);
