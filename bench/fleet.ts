// `npm run bench:fleet`: what the fsblacklist Ansible module costs per host, as the
// ratio of its task time to a bare `ansible.builtin.command: true` task on the same
// host in the same playbook run (bench/fleet.yml, the fleet suite's fake roots,
// local connection). A measurement, not a test: it always exits 0.
//
// Round 1 applies the policy to fresh roots (every host changes); later rounds
// find nothing to do (what a fleet's periodic run costs). Timing is the json
// callback's task start and end; the play runs one host at a time (`serial: 1`),
// so that hosts do not compete for the CPU and each task's time is one host's.
//
// Environment: FSB_BENCH_FLEET_HOSTS (default 20), FSB_BENCH_FLEET_ROUNDS (default 3).

import { fileURLToPath } from "node:url";
import { createFleet, FLEET_CASES, runPlaybook, type PlaybookRun } from "../test/fleet/fleet.ts";
import { summarise } from "./measure.ts";

const PLAYBOOK = fileURLToPath(new URL("fleet.yml", import.meta.url));
const HOSTS = positive(process.env["FSB_BENCH_FLEET_HOSTS"], 20);
const ROUNDS = positive(process.env["FSB_BENCH_FLEET_ROUNDS"], 3);

function positive(value: string | undefined, fallback: number): number {
  const n = Number(value);
  return Number.isInteger(n) && n > 0 ? n : fallback;
}

/** The callback's "2026-12-05T07:54:02.139123Z" in milliseconds, microseconds kept. */
function instant(stamp: string): number {
  const [whole, fraction = "0"] = stamp.replace(/Z$/, "").split(".");
  return Date.parse(`${whole}Z`) + Number(`0.${fraction}`) * 1000;
}

/** Each host's time in ms for the task named `name`. */
function perHost(run: PlaybookRun, name: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const play of run.json.plays) {
    for (const task of play.tasks) {
      if (task.task.name !== name || task.task.duration.end === undefined) continue;
      for (const host of Object.keys(task.hosts)) out.set(host, instant(task.task.duration.end) - instant(task.task.duration.start));
    }
  }
  return out;
}

const ms = (v: number): string => `${v.toFixed(0)} ms`;
const cases = Array.from({ length: HOSTS }, (_, i) => FLEET_CASES[i % FLEET_CASES.length]!.spec);
const fleet = createFleet(cases);
try {
  console.log(`bench:fleet: ${HOSTS} hosts, ${ROUNDS} rounds, one host at a time, ansible-playbook with the local connection`);
  console.log("round  changed  bare command (median)  module (median, IQR)          module / bare command per host (median, IQR)");
  for (let round = 1; round <= ROUNDS; round++) {
    const run = runPlaybook(fleet, PLAYBOOK);
    if (run.status !== 0) throw new Error(`ansible-playbook exited ${run.status}: ${run.stderr.slice(-2000)}`);
    const bare = perHost(run, "Bare command");
    const module = perHost(run, "Module");
    const ratios = [...module].map(([host, t]) => t / bare.get(host)!);
    const changed = Object.values(run.json.stats).filter((s) => s.changed > 0).length;
    const m = summarise([...module.values()]);
    const r = summarise(ratios);
    console.log(
      `${String(round).padEnd(7)}${`${changed}/${HOSTS}`.padEnd(9)}${ms(summarise([...bare.values()]).median).padEnd(23)}${`${ms(m.median)} (${ms(m.q1)}–${ms(m.q3)})`.padEnd(30)}${r.median.toFixed(2)}x (${r.q1.toFixed(2)}–${r.q3.toFixed(2)}x)`,
    );
  }
} catch (error) {
  console.log(`bench:fleet: ${String(error)}`);
} finally {
  fleet.cleanup();
}
