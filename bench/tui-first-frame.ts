// Time to the first frame of `fsblacklist review` (the bundled build), read
// from a pseudo-terminal: util-linux `script` gives the command an 80x24 pty and
// we time from spawning it to the moment the frame's last line arrives, then
// press q. No polling: the bytes are timed as they come. Wall time depends on
// the machine's load, so the CPU time the program had used by then is reported
// too. The same measurement of a bare `node` printing one line is the floor any
// Node program pays here.
//
//   npm run build && node --import tsx bench/tui-first-frame.ts [RUNS]

import { spawn, spawnSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { availableParallelism, loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { createFakeRoot } from "../test/helpers/fake-root.ts";

const BIN = fileURLToPath(new URL("../bin/fsblacklist.js", import.meta.url));
/** The last line of the review's first frame (its key line). */
const FRAME_END = "q quit";

const quote = (word: string): string => `'${word.replaceAll("'", `'\\''`)}'`;

export interface Timing {
  /** Wall-clock milliseconds from spawning until the output contained `ready`. */
  wall: number;
  /** CPU milliseconds (user + system) the program had used by then: the same on a busy machine. */
  cpu: number;
}

const TICK_MS = 10; // USER_HZ is 100 on Linux

/** CPU time of a live process from /proc/PID/stat (utime + stime). */
function cpuMs(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
  const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
  return (Number(fields[11]) + Number(fields[12])) * TICK_MS;
}

/** Runs `argv` in an 80x24 pty until its output contains `ready`, then presses q. */
export function timeToOutput(argv: readonly string[], ready: string, timeoutMs = 20_000): Promise<Timing> {
  // The shell prints its pid, which exec hands on to the program.
  const command = `stty cols 80 rows 24; echo "pid=$$"; exec ${argv.map(quote).join(" ")}`;
  const start = performance.now();
  const child = spawn("script", ["-qfec", command, "/dev/null"], { stdio: ["pipe", "pipe", "inherit"], env: { ...process.env, NO_COLOR: "1", DPKG_ROOT: "" } });
  return new Promise((resolve, reject) => {
    let output = "";
    let timing: Timing | null = null;
    const timer = setTimeout(() => {
      child.kill();
      reject(new Error(`${timing === null ? "no first frame" : "q did not end it"} after ${timeoutMs} ms; the output was:\n${output}`));
    }, timeoutMs);
    child.stdout.setEncoding("utf8").on("data", (chunk: string) => {
      output += chunk;
      if (timing === null && output.includes(ready)) {
        const wall = performance.now() - start;
        timing = { wall, cpu: cpuMs(Number(/pid=(\d+)/.exec(output)![1])) };
        child.stdin.write("q");
      }
    });
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      if (timing === null) reject(new Error(`exited before its first frame; the output was:\n${output}`));
      else resolve(timing);
    });
  });
}

export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[mid]! : (sorted[mid - 1]! + sorted[mid]!) / 2;
}

export interface FirstFrame {
  review: Timing[];
  /** `node` printing one line and waiting for a key, timed the same way. */
  node: Timing[];
}

/** `runs` measured rounds after `warmup` unmeasured ones; review and the baseline alternate. */
export async function measureFirstFrame(rootDir: string, runs: number, warmup = 2): Promise<FirstFrame> {
  const review = [process.execPath, BIN, "review", "--root", rootDir];
  const node = [process.execPath, "-e", `process.stdout.write(${JSON.stringify(FRAME_END)}); process.stdin.setRawMode(true).once("data", () => process.exit(0))`];
  const result: FirstFrame = { review: [], node: [] };
  for (let round = 0; round < warmup + runs; round++) {
    const first = await timeToOutput(review, FRAME_END);
    const floor = await timeToOutput(node, FRAME_END);
    if (round < warmup) continue;
    result.review.push(first);
    result.node.push(floor);
  }
  return result;
}

async function main(): Promise<void> {
  if (!existsSync(fileURLToPath(new URL("../dist/main.cjs", import.meta.url)))) throw new Error("dist/ is missing: run npm run build first");
  const runs = Number(process.argv[2] ?? 9);
  const root = createFakeRoot();
  try {
    // The policy installed as a package would install it.
    const applied = spawnSync(process.execPath, [BIN, "apply", "--root", root.dir], { encoding: "utf8", env: { ...process.env, DPKG_ROOT: "" } });
    if (applied.status !== 0) throw new Error(`apply failed: ${applied.stderr}`);
    const { review, node } = await measureFirstFrame(root.dir, runs);
    const show = (timings: Timing[]): string => {
      const wall = timings.map((t) => t.wall);
      return `median ${median(wall).toFixed(0)} ms wall (min ${Math.min(...wall).toFixed(0)}, max ${Math.max(...wall).toFixed(0)}), ${median(timings.map((t) => t.cpu)).toFixed(0)} ms CPU`;
    };
    console.log(`${runs} runs, load average ${loadavg()[0]!.toFixed(1)} on ${availableParallelism()} CPUs`);
    console.log(`review, spawn to first frame (80x24 pty, bundled build): ${show(review)}`);
    console.log(`node printing one line, the same way:                    ${show(node)}`);
  } finally {
    root.cleanup();
  }
}

if (process.argv[1] === fileURLToPath(import.meta.url)) await main();
