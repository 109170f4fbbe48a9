// What the bench reads of the machine (/proc, docker) to time each side of a comparison to its real
// end and to start the other only once the machine is idle again; the decisions are fair.ts's.
import { spawn, spawnSync } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";

import {
  busyFraction, compareRound, CpuTimes, groupMembers, IdleLimits, Kind, MachineState, newSince, notIdle, parseCpuTimes, parseProcStat, Proc, pytestResult,
  runningExecs, Sample, sampleOrder, Side,
} from "./fair.js";

const sleep = (ms: number) => new Promise((done) => setTimeout(done, ms));

/** Every process on the machine (those that end while being read are left out). */
export function processes(): Proc[] {
  const procs: Proc[] = [];
  for (const name of readdirSync("/proc")) {
    if (!/^\d+$/.test(name)) continue;
    try {
      procs.push(parseProcStat(readFileSync(`/proc/${name}/stat`, "utf8")));
    } catch {
      // gone meanwhile
    }
  }
  return procs;
}

const cpuTimes = (): CpuTimes => parseCpuTimes(readFileSync("/proc/stat", "utf8"));

/** The Dagger engine of a "new machine": its own container and cache volume, on the engine image up.sh made. */
export const FRESH_ENGINE = { container: "pycroft-bench-engine", volume: "pycroft-bench-engine-state" };

/** The engines' containers: the one sessions go to, and the new-machine engine while it runs. */
const ENGINE_CONTAINERS = () =>
  [process.env._EXPERIMENTAL_DAGGER_RUNNER_HOST?.match(/^docker-container:\/\/(.+)$/)?.[1], FRESH_ENGINE.container].filter((n): n is string => !!n);

/** The processes whose execs count as builds: the engines' containers' first process, and dockerd (its builder's steps). */
function execRoots(): number[] {
  const inspect = spawnSync("docker", ["inspect", "-f", "{{.State.Pid}}", ...ENGINE_CONTAINERS()], { encoding: "utf8" });
  const engines = (inspect.stdout ?? "").split("\n").map(Number).filter((pid) => pid > 0);
  const dockerd = processes().filter((p) => p.comm === "dockerd").map((p) => p.pid);
  return [...engines, ...dockerd];
}

/** The execs (build steps, services, test containers) running in the engines and in dockerd's builder. */
export function execs(): number[] {
  return runningExecs(processes(), execRoots());
}

/** The bench's compose projects: the example's peer (compose.yaml's `name`) and the Pycroft copy's (pycroft-steps.ts). */
export const COMPOSE_PROJECTS = ["pycroft-test", "pycroft-bench"];

/** A compose project's containers (all the bench's without one), running or not yet removed. */
export function composeContainers(project?: string): string[] {
  return (project ? [project] : COMPOSE_PROJECTS).flatMap((p) => {
    const ps = spawnSync("docker", ["ps", "-aq", "--filter", `label=com.docker.compose.project=${p}`], { encoding: "utf8" });
    return (ps.stdout ?? "").split("\n").filter(Boolean);
  });
}

/** CPU use over `ms`, with the execs and containers running at its end. */
export async function machineState(ms = 1000): Promise<MachineState> {
  const before = cpuTimes();
  await sleep(ms);
  const busy = busyFraction(before, cpuTimes());
  return { busy, execs: execs().length, containers: composeContainers().length };
}

/** The idle wait's settings: PYCROFT_BENCH_IDLE_CPU (a fraction of all CPUs, 0.2) and PYCROFT_BENCH_IDLE_MAX_S (120). */
export const IDLE = {
  maxBusy: Number(process.env.PYCROFT_BENCH_IDLE_CPU ?? 0.2),
  maxSeconds: Number(process.env.PYCROFT_BENCH_IDLE_MAX_S ?? 120),
};

/**
 * Waits until the machine is idle: CPU use over a second below the limit and no more execs or compose
 * containers running than the limits allow, for two readings in a row. Gives up after `maxSeconds`
 * (IDLE.maxSeconds); returns why it was not idle then (undefined when it was). `read` takes one look.
 */
export async function waitIdle(
  limits: Partial<IdleLimits> = {},
  { read = machineState, maxSeconds = IDLE.maxSeconds }: { read?: () => Promise<MachineState>; maxSeconds?: number } = {},
): Promise<string | undefined> {
  const full: IdleLimits = { maxBusy: IDLE.maxBusy, execs: 0, containers: 0, ...limits };
  const deadline = Date.now() + maxSeconds * 1000;
  let calm = 0;
  for (;;) {
    const why = notIdle(await read(), full);
    calm = why ? 0 : calm + 1;
    if (calm === 2) return undefined;
    if (Date.now() >= deadline) {
      const said = why ?? "idle only once";
      console.error(`bench: the machine was not idle after ${maxSeconds} s (${said}); going on`);
      return said;
    }
  }
}

/** The engines' execs and the compose containers: what a command may leave behind after it exits. */
export const leftovers = (): string[] => [...execs().map((pid) => `exec ${pid}`), ...composeContainers().map((id) => `container ${id}`)];

export interface Timed {
  code: number | null;
  stdout: string;
  stderr: string;
  seconds: number;
  /** What the command started and was still there LEFTOVER_MAX_S after it exited, if anything. */
  lingering?: string[];
}

const LEFTOVER_MAX_S = 60;

/**
 * Runs a command in a process group of its own, timed from its start until it and every process of
 * its group have exited and the execs and compose containers that appeared while it ran are gone
 * (its teardown: a Dagger session's services, compose's `down`); `leftovers` lists those (tests give their own).
 */
export async function runTimed(
  cmd: string,
  args: string[],
  opts: { env?: NodeJS.ProcessEnv; cwd?: string; leftovers?: () => string[] } = {},
): Promise<Timed> {
  const listLeftovers = opts.leftovers ?? leftovers;
  const before = listLeftovers();
  const start = performance.now();
  const child = spawn(cmd, args, { env: opts.env ?? process.env, cwd: opts.cwd, detached: true, stdio: ["ignore", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (d: Buffer) => (stdout += d.toString()));
  child.stderr.on("data", (d: Buffer) => (stderr += d.toString()));
  const code = await new Promise<number | null>((done, fail) => {
    child.once("error", fail);
    child.once("close", done);
  });
  const deadline = Date.now() + LEFTOVER_MAX_S * 1000;
  let left: string[] = [];
  for (;;) {
    const group = groupMembers(processes(), child.pid!).map((pid) => `process ${pid}`);
    left = [...group, ...newSince(before, listLeftovers())];
    if (left.length === 0 || Date.now() > deadline) break;
    await sleep(50);
  }
  const seconds = (performance.now() - start) / 1000;
  if (left.length > 0) console.error(`bench: ${cmd} left ${left.join(", ")} for more than ${LEFTOVER_MAX_S} s`);
  return { code, stdout, stderr, seconds, lingering: left.length > 0 ? left : undefined };
}

/** One side's timed run: its wall time to its end, pytest's output, and what it left running. */
export interface SideRun {
  seconds: number;
  output: string;
  lingering?: string[];
}

/**
 * The step runner of a side-by-side bench: a step's samples with the sides in turns (each step begins
 * with the other side than the one before), each sample after `before(i)` (its edits), each side after
 * an idle wait (`limits()` as they are then), pytest's counts compared per sample. A step's samples go
 * to `result.samples` only when all of it ran; a failed step goes to `result.failed`, and `who` says
 * whose on stderr. `startWith` takes the next turn for a step timed elsewhere (keptEdits).
 */
export function sideBySide(o: { who: string; samples: number; limits: () => Partial<IdleLimits>; result: { samples: Sample[]; failed: string[] } }) {
  let begun = 0;
  const startWith = (): Side => (begun++ % 2 === 0 ? "module" : "compose");
  const step = async (name: string, kind: Kind, before: (i: number) => void, run: Record<Side, () => Promise<SideRun>>): Promise<void> => {
    const own: Sample[] = [];
    try {
      for (const [i, pair] of sampleOrder(o.samples, startWith()).entries()) {
        before(i);
        const outputs: Partial<Record<Side, string>> = {};
        for (const side of pair) {
          const busy = await waitIdle(o.limits());
          const { seconds, output, lingering } = await run[side]();
          outputs[side] = output;
          const unclean = [busy && `busy start: ${busy}`, lingering && `left ${lingering.join(", ")}`].filter(Boolean).join("; ") || undefined;
          own.push({ step: name, kind, side, seconds, pytestSeconds: pytestResult(output)?.seconds, unclean });
          console.error(`${name} (${i + 1}/${o.samples}), ${side}: ${seconds.toFixed(1)} s`);
        }
        const mismatch = compareRound(`${name}, sample ${i + 1}`, own.slice(-pair.length), outputs.module!, outputs.compose!);
        if (mismatch) throw new Error(mismatch);
      }
      o.result.samples.push(...own);
    } catch (err) {
      o.result.failed.push(`${name}: ${(err as Error).message}`);
      console.error(`${o.who}: step failed: ${name}: ${(err as Error).message}`);
    }
  };
  return { step, startWith };
}
