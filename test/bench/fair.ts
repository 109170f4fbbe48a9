// The pure part of the bench's module-against-compose comparison: which side goes first in each sample,
// the medians and spreads, what /proc says about a machine's idleness, pytest's counts on both sides
// and the table's rows. test/unit/bench-fair.test.ts holds them; fair-run.ts does the I/O.

export type Side = "module" | "compose";
export const SIDES: readonly Side[] = ["module", "compose"];

/**
 * The order of the two sides in each of `samples` samples, alternating (AB BA AB …) so that neither
 * side always runs right after the other's leftovers; `startWith` is the first sample's first side
 * (the bench alternates it from step to step).
 */
export function sampleOrder(samples: number, startWith: Side = "module"): [Side, Side][] {
  if (!Number.isInteger(samples) || samples < 1) throw new Error(`samples must be a whole number of at least 1, not ${samples}`);
  const other = (s: Side): Side => (s === "module" ? "compose" : "module");
  return Array.from({ length: samples }, (_, i) => {
    const first = i % 2 === 0 ? startWith : other(startWith);
    return [first, other(first)];
  });
}

/** The middle value; for an even count, the mean of the two middle ones. */
export function median(xs: number[]): number {
  if (xs.length === 0) throw new Error("the median of no values");
  const s = [...xs].sort((a, b) => a - b);
  const mid = Math.floor(s.length / 2);
  return s.length % 2 === 1 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

export interface Summary {
  median: number;
  min: number;
  max: number;
  n: number;
}

/** Median and spread (min–max) of a side's samples. */
export function summarize(xs: number[]): Summary {
  return { median: median(xs), min: Math.min(...xs), max: Math.max(...xs), n: xs.length };
}

// --- idleness, from /proc

/** CPU time from /proc/stat's aggregate `cpu` line, in ticks: all of it, and the part not idle. */
export interface CpuTimes {
  total: number;
  busy: number;
}

export function parseCpuTimes(procStat: string): CpuTimes {
  const line = procStat.split("\n").find((l) => /^cpu\s/.test(l));
  if (!line) throw new Error("/proc/stat has no aggregate cpu line");
  // user nice system idle iowait irq softirq steal [guest guest_nice]: guest time is counted in user already.
  const f = line.trim().split(/\s+/).slice(1, 9).map(Number);
  if (f.length < 4 || f.some((x) => !Number.isFinite(x))) throw new Error(`/proc/stat: cannot read "${line}"`);
  const total = f.reduce((a, b) => a + b, 0);
  const idle = f[3]! + (f[4] ?? 0);
  return { total, busy: total - idle };
}

/** The fraction (0-1) of all CPUs' time that was busy between two readings. */
export function busyFraction(before: CpuTimes, after: CpuTimes): number {
  const total = after.total - before.total;
  return total > 0 ? (after.busy - before.busy) / total : 0;
}

/** One process, from /proc/PID/stat. */
export interface Proc {
  pid: number;
  comm: string;
  ppid: number;
  pgrp: number;
}

/** /proc/PID/stat: `pid (comm) state ppid pgrp …`; comm may hold spaces and parentheses. */
export function parseProcStat(text: string): Proc {
  const open = text.indexOf("(");
  const close = text.lastIndexOf(")");
  if (open < 0 || close < open) throw new Error(`not a /proc/PID/stat line: ${text.slice(0, 80)}`);
  const [, ppid, pgrp] = text.slice(close + 2).split(" ");
  return { pid: Number(text.slice(0, open).trim()), comm: text.slice(open + 1, close), ppid: Number(ppid), pgrp: Number(pgrp) };
}

/** The processes below `root` (not itself). */
export function descendants(procs: Proc[], root: number): Proc[] {
  const children = new Map<number, Proc[]>();
  for (const p of procs) children.set(p.ppid, [...(children.get(p.ppid) ?? []), p]);
  const found: Proc[] = [];
  const todo = [root];
  while (todo.length > 0) {
    for (const child of children.get(todo.pop()!) ?? []) {
      found.push(child);
      todo.push(child.pid);
    }
  }
  return found;
}

/**
 * The execs running below the given roots (the Dagger engine's container, dockerd): each exec of a
 * BuildKit (a build step, a service, pytest's container) is a runc process that lives as long as it.
 */
export function runningExecs(procs: Proc[], roots: number[]): number[] {
  return roots.flatMap((root) => descendants(procs, root)).filter((p) => p.comm === "runc" || p.comm === "buildkit-runc").map((p) => p.pid);
}

/** What is left of a process group: its members' pids. */
export function groupMembers(procs: Proc[], pgrp: number): number[] {
  return procs.filter((p) => p.pgrp === pgrp).map((p) => p.pid);
}

/** What is in `now` that was not in `before` (execs or containers a command started and left). */
export function newSince<T>(before: Iterable<T>, now: Iterable<T>): T[] {
  const old = new Set(before);
  return [...now].filter((x) => !old.has(x));
}

/** One look at the machine: its CPU use over about a second, and the execs and containers running. */
export interface MachineState {
  busy: number;
  execs: number;
  containers: number;
}

export interface IdleLimits {
  /** The busy fraction of all CPUs below which the machine counts as idle. */
  maxBusy: number;
  /** Execs and containers that may run (a kept stack's services), beyond which a build is still going. */
  execs: number;
  containers: number;
}

/** Whether the machine is idle, or why not. */
export function notIdle(state: MachineState, limits: IdleLimits): string | undefined {
  const why = [
    state.busy >= limits.maxBusy ? `CPU ${(state.busy * 100).toFixed(0)} % busy (idle below ${(limits.maxBusy * 100).toFixed(0)} %)` : "",
    state.execs > limits.execs ? `${state.execs} execs running in the engine and dockerd (${limits.execs} expected)` : "",
    state.containers > limits.containers ? `${state.containers} compose containers up (${limits.containers} expected)` : "",
  ].filter(Boolean);
  return why.length > 0 ? why.join(", ") : undefined;
}

// --- pytest's summary line on both sides

export interface PytestResult {
  /** Tests by outcome (passed, failed, skipped, xfailed, xpassed, error, deselected); warnings are not tests. */
  counts: Record<string, number>;
  /**
   * pytest's own wall time, less what it spent waiting for the module's services (`waited`):
   * compose's pytest starts with its services up, or does not wait for them.
   */
  seconds: number;
  /** The module's waits for its services inside pytest (its `pycroft-ready: answered N s …` and `waited N s …` lines), else 0. */
  waited: number;
}

/** pytest's last summary line: "===== 11 passed, 1 skipped, 2 warnings in 4.21s (0:00:04) =====". */
export function pytestResult(output: string): PytestResult | undefined {
  const lines = [...output.matchAll(/^=+ (.*) in (\d+(?:\.\d+)?)s(?: \([^)]*\))? =+\s*$/gm)];
  const last = lines.at(-1);
  if (!last) return undefined;
  const counts: Record<string, number> = {};
  for (const [, n, outcome] of last[1]!.matchAll(/(\d+) (passed|failed|skipped|xfailed|xpassed|errors?|deselected)\b/g)) {
    const key = outcome!.startsWith("error") ? "error" : outcome!;
    counts[key] = (counts[key] ?? 0) + Number(n);
  }
  if (Object.keys(counts).length === 0 && !/no tests ran/.test(last[1]!)) return undefined;
  const waits = output.matchAll(/^pycroft-ready: (?:answered (\d+(?:\.\d+)?) s after collection|waited (\d+(?:\.\d+)?) s before) /gm);
  const waited = [...waits].reduce((sum, m) => sum + Number(m[1] ?? m[2]), 0);
  return { counts, seconds: Number(last[2]) - waited, waited };
}

const countsText = (c: Record<string, number>) =>
  Object.entries(c).sort(([a], [b]) => a.localeCompare(b)).map(([k, v]) => `${v} ${k}`).join(", ") || "no tests";

/** The outcomes that each stand for one test run (an error in a test's set-up stands for the test). */
const RUN_OUTCOMES = ["passed", "failed", "skipped", "xfailed", "xpassed", "error"];

/**
 * How many tests a run selected: pytest's collection line ("collected 1392 items / 1 deselected /
 * 1391 selected"), or, without exactly one such line, the summary's outcomes added up.
 */
export function selectedTests(output: string): number | undefined {
  const collected = [...output.matchAll(/^collected (\d+) items?(?: \/ (\d+) deselected)?(?: \/ (\d+) selected)?/gm)];
  if (collected.length === 1) {
    const [, all, deselected, selected] = collected[0]!;
    return selected !== undefined ? Number(selected) : Number(all) - Number(deselected ?? 0);
  }
  const result = pytestResult(output);
  return result && RUN_OUTCOMES.reduce((n, k) => n + (result.counts[k] ?? 0), 0);
}

/**
 * Why the two sides' pytest runs did not run the same number of tests, or undefined when they did.
 * A run without a summary line is a mismatch too. (Outcomes that differ on the same tests, such as
 * a flaky test failing on one side, are `outcomeDifference`'s.)
 */
export function countMismatch(step: string, module: string, compose: string): string | undefined {
  const m = pytestResult(module);
  const c = pytestResult(compose);
  if (!m || !c) return `${step}: no pytest summary line in the ${[!m && "module's", !c && "compose's"].filter(Boolean).join(" and ")} output`;
  const [ms, cs] = [selectedTests(module), selectedTests(compose)];
  return ms === cs ? undefined : `${step}: the module ran ${ms} tests (${countsText(m.counts)}), compose ${cs} (${countsText(c.counts)})`;
}

/**
 * How the outcomes of two runs of the same tests differ ("module 1381 passed, 4 error; compose 1385
 * passed"), or undefined when they do not: the samples stay, marked, since a test that failed on one
 * side did not cost that side the same time.
 */
export function outcomeDifference(module: string, compose: string): string | undefined {
  const m = pytestResult(module)?.counts ?? {};
  const c = pytestResult(compose)?.counts ?? {};
  const same = [...new Set([...Object.keys(m), ...Object.keys(c)])].every((k) => (m[k] ?? 0) === (c[k] ?? 0));
  return same ? undefined : `outcomes differ: module ${countsText(m)}; compose ${countsText(c)}`;
}

/** Marks the samples of a round whose two runs' outcomes differ (`outcomeDifference`), in place. */
export function markDifference(round: Sample[], module: string, compose: string): void {
  const differ = outcomeDifference(module, compose);
  if (differ) for (const s of round) s.unclean = [s.unclean, differ].filter(Boolean).join("; ");
}

/**
 * A round's two runs compared: why they did not run the same number of tests (`countMismatch`: the
 * step fails), or undefined, the round's samples marked if their outcomes differ (`markDifference`).
 */
export function compareRound(step: string, round: Sample[], module: string, compose: string): string | undefined {
  const mismatch = countMismatch(step, module, compose);
  if (!mismatch) markDifference(round, module, compose);
  return mismatch;
}

// --- the table

/** What a sample is compared with: only like with like (fresh services with fresh, kept with kept). */
export type Kind = "fresh" | "kept" | "new machine";

/** One timed run of one side. */
export interface Sample {
  step: string;
  kind: Kind;
  side: Side;
  seconds: number;
  pytestSeconds?: number;
  /** Why this sample is not clean, if it is not: the machine was still busy when it began (the idle wait gave up), or the run left something behind longer than the wait for its end. */
  unclean?: string;
}

export interface PeerRow {
  step: string;
  kind: Kind;
  module: Summary;
  compose: Summary;
  /** module median / compose median. */
  ratio: number;
  modulePytest?: Summary;
  composePytest?: Summary;
  /** Samples that are not clean (Sample.unclean). */
  unclean: number;
}

/**
 * The table's rows, one per step in the order steps first appear: both sides' samples of that step,
 * which must be of one kind and as many on each side (a row never pairs unlike runs).
 */
export function peerRows(samples: Sample[]): PeerRow[] {
  const steps = [...new Set(samples.map((s) => s.step))];
  return steps.map((step) => {
    const of = samples.filter((s) => s.step === step);
    const kinds = new Set(of.map((s) => s.kind));
    if (kinds.size !== 1) throw new Error(`${step}: samples of different kinds (${[...kinds].join(", ")}) cannot be compared`);
    const [module, compose] = SIDES.map((side) => of.filter((s) => s.side === side));
    if (module!.length === 0 || module!.length !== compose!.length) {
      throw new Error(`${step}: ${module!.length} module and ${compose!.length} compose samples; a row needs the same number of each`);
    }
    const pytest = (xs: Sample[]) => {
      const times = xs.map((s) => s.pytestSeconds).filter((t): t is number => t !== undefined);
      return times.length > 0 ? summarize(times) : undefined;
    };
    const m = summarize(module!.map((s) => s.seconds));
    const c = summarize(compose!.map((s) => s.seconds));
    return {
      step,
      kind: [...kinds][0]!,
      module: m,
      compose: c,
      ratio: m.median / c.median,
      modulePytest: pytest(module!),
      composePytest: pytest(compose!),
      unclean: of.filter((s) => s.unclean).length,
    };
  });
}

/**
 * The table: each side's median (min-max) in seconds with `digits` decimals, the ratio of medians, and
 * pytest's own time on both sides when the rows have it.
 */
export function formatPeerRows(rows: PeerRow[], digits = 1): string {
  const cell = (s?: Summary) => (s ? `${s.median.toFixed(digits)} (${s.min.toFixed(digits)}-${s.max.toFixed(digits)})` : "-");
  const pytest = rows.some((r) => r.modulePytest || r.composePytest);
  const head = ["step", "n", "module s", "compose s", "module/compose", ...(pytest ? ["pytest: module", "pytest: compose"] : [])];
  const body = rows.map((r) => [
    `${r.step}${r.unclean > 0 ? ` [${r.unclean} unclean]` : ""}`,
    String(r.module.n),
    cell(r.module),
    cell(r.compose),
    r.ratio.toFixed(2),
    ...(pytest ? [cell(r.modulePytest), cell(r.composePytest)] : []),
  ]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cols: string[]) => cols.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join("  ");
  return [line(head), ...body.map(line)].join("\n");
}

// --- the command line

export interface BenchArgs {
  groups: string[];
  samples: number;
  /** The compose group's steps to run; all when empty. */
  steps: string[];
  /** The checkout a group that takes one (`pycroft PATH`) runs on. */
  path?: string;
}

/**
 * `npm run bench -- [GROUP…] [--samples N] [--steps a,b]`; a group of `known.pathGroups` takes the
 * path that follows it (`pycroft PATH`).
 */
export function parseBenchArgs(argv: string[], known: { groups: readonly string[]; steps: readonly string[]; pathGroups?: readonly string[] }): BenchArgs {
  const args: BenchArgs = { groups: [], samples: 3, steps: [] };
  for (let i = 0; i < argv.length; i++) {
    const [flag, inline] = argv[i]!.split(/=(.*)/s, 2) as [string, string | undefined];
    const value = () => {
      const v = inline ?? argv[++i];
      if (v === undefined) throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === "--samples") {
      const n = Number(value());
      if (!Number.isInteger(n) || n < 1) throw new Error(`--samples must be a whole number of at least 1`);
      args.samples = n;
    } else if (flag === "--steps") {
      args.steps = value().split(",").filter(Boolean);
      const unknown = args.steps.filter((s) => !known.steps.includes(s));
      if (unknown.length > 0) throw new Error(`unknown step ${unknown.join(", ")}: use ${known.steps.join(", ")}`);
    } else if (known.groups.includes(flag)) {
      args.groups.push(flag);
      if (known.pathGroups?.includes(flag)) {
        const path = argv[++i];
        if (path === undefined || path.startsWith("--")) throw new Error(`${flag} needs the path of a checkout: ${flag} PATH`);
        args.path = path;
      }
    } else {
      throw new Error(`unknown argument "${argv[i]}": groups ${known.groups.join(", ")}, --samples N, --steps ${known.steps.join(",")}`);
    }
  }
  return args;
}
