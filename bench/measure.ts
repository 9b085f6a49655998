// Interleaved timing: every round runs each contender once, in an order that
// rotates from round to round, so that a load spike on the machine hits all of
// them alike. Ratios are taken per round (contender / baseline of the same
// round) and summarised by their median and quartiles.

import { spawnSync } from "node:child_process";

export interface Contender {
  name: string;
  command: string;
  args: readonly string[];
  env?: NodeJS.ProcessEnv;
  /** Exit codes that count as success (default: 0). */
  okStatus?: readonly number[];
}

export interface Timed {
  name: string;
  /** Wall-clock milliseconds of each measured run, in round order. */
  samples: number[];
}

export interface Summary {
  median: number;
  q1: number;
  q3: number;
}

export function summarise(values: readonly number[]): Summary {
  const sorted = [...values].sort((a, b) => a - b);
  const at = (q: number): number => {
    const pos = (sorted.length - 1) * q;
    const lo = Math.floor(pos);
    const hi = Math.ceil(pos);
    return sorted[lo]! + (sorted[hi]! - sorted[lo]!) * (pos - lo);
  };
  return { median: at(0.5), q1: at(0.25), q3: at(0.75) };
}

/** Runs one command to completion and returns its wall time in milliseconds. */
export function timeOnce(contender: Contender): number {
  const start = process.hrtime.bigint();
  const result = spawnSync(contender.command, contender.args, { stdio: ["ignore", "ignore", "pipe"], env: contender.env ?? process.env });
  const elapsed = Number(process.hrtime.bigint() - start) / 1e6;
  if (result.error) throw result.error;
  const ok = contender.okStatus ?? [0];
  if (result.status === null || !ok.includes(result.status)) {
    throw new Error(`${contender.name}: exit ${result.status ?? result.signal}: ${result.stderr.toString().trim()}`);
  }
  return elapsed;
}

export function interleave<T extends { name: string }>(contenders: readonly T[], rounds: number, warmup: number, time: (contender: T) => number): Timed[] {
  const timed = contenders.map((c) => ({ name: c.name, samples: [] as number[] }));
  for (let round = 0; round < warmup + rounds; round++) {
    for (let k = 0; k < contenders.length; k++) {
      const index = (round + k) % contenders.length;
      const ms = time(contenders[index]!);
      if (round >= warmup) timed[index]!.samples.push(ms);
    }
  }
  return timed;
}

/** Per-round ratios of a contender to its baseline. */
export function ratios(contender: Timed, baseline: Timed): number[] {
  return contender.samples.map((ms, i) => ms / baseline.samples[i]!);
}
