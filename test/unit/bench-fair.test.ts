// The bench's comparison with docker compose is fair by the functions in test/bench/fair.ts and
// machine.ts: the sides' order, the medians and spreads, /proc's idleness, pytest's counts, the rows.
import { describe, expect, it } from "vitest";

import {
  busyFraction,
  compareRound,
  countMismatch,
  descendants,
  formatPeerRows,
  groupMembers,
  markDifference,
  median,
  newSince,
  notIdle,
  outcomeDifference,
  parseBenchArgs,
  parseCpuTimes,
  parseProcStat,
  peerRows,
  Proc,
  pytestResult,
  runningExecs,
  Sample,
  sampleOrder,
  selectedTests,
  summarize,
} from "../bench/fair.js";
import { runTimed, sideBySide, waitIdle } from "../bench/machine.js";

describe("sampleOrder", () => {
  it("alternates which side goes first, AB BA AB …", () => {
    expect(sampleOrder(4)).toEqual([
      ["module", "compose"],
      ["compose", "module"],
      ["module", "compose"],
      ["compose", "module"],
    ]);
    expect(sampleOrder(3, "compose")).toEqual([
      ["compose", "module"],
      ["module", "compose"],
      ["compose", "module"],
    ]);
  });

  it("refuses no samples or a fraction of one", () => {
    expect(() => sampleOrder(0)).toThrow(/at least 1/);
    expect(() => sampleOrder(1.5)).toThrow(/whole number/);
  });
});

describe("median and spread", () => {
  it("takes the middle value, or the mean of the two middle ones", () => {
    expect(median([9, 1, 5])).toBe(5);
    expect(median([4, 1, 3, 10])).toBe(3.5);
    expect(() => median([])).toThrow();
  });

  it("summarizes a side's samples as median, min, max and count", () => {
    expect(summarize([12.5, 10, 30])).toEqual({ median: 12.5, min: 10, max: 30, n: 3 });
  });
});

describe("idleness from /proc", () => {
  const stat = (user: number, idle: number, iowait: number) =>
    `cpu  ${user} 0 100 ${idle} ${iowait} 0 0 0 0 0\ncpu0 1 2 3 4 5 6 7 8 0 0\nintr 12345\n`;

  it("reads the aggregate cpu line: idle and iowait are not busy", () => {
    expect(parseCpuTimes(stat(500, 1000, 50))).toEqual({ total: 1650, busy: 600 });
    expect(() => parseCpuTimes("intr 1\n")).toThrow(/no aggregate cpu line/);
  });

  it("gives the busy fraction between two readings", () => {
    // 300 ticks more busy (user), 100 more idle: 75 % busy.
    expect(busyFraction(parseCpuTimes(stat(500, 1000, 0)), parseCpuTimes(stat(800, 1100, 0)))).toBeCloseTo(0.75);
    expect(busyFraction({ total: 5, busy: 1 }, { total: 5, busy: 1 })).toBe(0);
  });

  it("reads /proc/PID/stat, a command name with spaces and parentheses included", () => {
    expect(parseProcStat("4242 (tricky (name) x) S 17 4240 4240 0 -1 4194560 131")).toEqual({ pid: 4242, comm: "tricky (name) x", ppid: 17, pgrp: 4240 });
  });

  const procs: Proc[] = [
    { pid: 1, comm: "init", ppid: 0, pgrp: 1 },
    { pid: 10, comm: "tini", ppid: 1, pgrp: 10 },
    { pid: 11, comm: "dagger-engine", ppid: 10, pgrp: 10 },
    { pid: 12, comm: "dnsmasq", ppid: 11, pgrp: 10 },
    { pid: 13, comm: "runc", ppid: 11, pgrp: 13 },
    { pid: 14, comm: "python3", ppid: 13, pgrp: 14 },
    { pid: 20, comm: "dockerd", ppid: 1, pgrp: 20 },
    { pid: 21, comm: "buildkit-runc", ppid: 20, pgrp: 20 },
    { pid: 30, comm: "runc", ppid: 1, pgrp: 30 },
    { pid: 40, comm: "bash", ppid: 1, pgrp: 40 },
    { pid: 41, comm: "docker", ppid: 40, pgrp: 40 },
  ];

  it("finds the execs below the engine and dockerd, not those of other roots", () => {
    expect(descendants(procs, 10).map((p) => p.pid).sort()).toEqual([11, 12, 13, 14]);
    expect(runningExecs(procs, [10])).toEqual([13]);
    expect(runningExecs(procs, [10, 20]).sort()).toEqual([13, 21]);
    expect(runningExecs(procs, [20, 999])).toEqual([21]);
  });

  it("lists what is left of a process group, and what appeared since a first look", () => {
    expect(groupMembers(procs, 40)).toEqual([40, 41]);
    expect(groupMembers(procs, 41)).toEqual([]);
    expect(newSince(["exec 13", "container a"], ["exec 13", "exec 99", "container b"])).toEqual(["exec 99", "container b"]);
  });

  it("says why the machine is not idle, or nothing when it is", () => {
    const limits = { maxBusy: 0.2, execs: 0, containers: 0 };
    expect(notIdle({ busy: 0.05, execs: 0, containers: 0 }, limits)).toBeUndefined();
    expect(notIdle({ busy: 0.2, execs: 0, containers: 0 }, limits)).toBe("CPU 20 % busy (idle below 20 %)");
    expect(notIdle({ busy: 0.1, execs: 2, containers: 1 }, limits)).toBe(
      "2 execs running in the engine and dockerd (0 expected), 1 compose containers up (0 expected)",
    );
    // A kept stack's services are allowed; one more is a build going on.
    expect(notIdle({ busy: 0.1, execs: 6, containers: 5 }, { ...limits, execs: 6, containers: 5 })).toBeUndefined();
    expect(notIdle({ busy: 0.1, execs: 7, containers: 5 }, { ...limits, execs: 6, containers: 5 })).toMatch(/^7 execs/);
  });
});

describe("waitIdle", () => {
  const reader = (states: { busy: number; execs?: number }[]) => {
    let i = 0;
    const read = async () => ({ execs: 0, containers: 0, ...states[Math.min(i++, states.length - 1)]! });
    return { read, reads: () => i };
  };

  it("returns once two readings in a row are idle", async () => {
    const r = reader([{ busy: 0.9 }, { busy: 0.05 }, { busy: 0.9 }, { busy: 0.05 }, { busy: 0.01 }, { busy: 0.9 }]);
    expect(await waitIdle({ maxBusy: 0.2 }, { read: r.read, maxSeconds: 60 })).toBeUndefined();
    expect(r.reads()).toBe(5);
  });

  it("waits for a build's exec to end even when the CPU is idle", async () => {
    const r = reader([{ busy: 0, execs: 1 }, { busy: 0, execs: 1 }, { busy: 0 }, { busy: 0 }]);
    expect(await waitIdle({ maxBusy: 0.2 }, { read: r.read, maxSeconds: 60 })).toBeUndefined();
    expect(r.reads()).toBe(4);
  });

  it("gives up at its cap and says why", async () => {
    const r = reader([{ busy: 0.95 }]);
    expect(await waitIdle({ maxBusy: 0.2 }, { read: r.read, maxSeconds: 0 })).toBe("CPU 95 % busy (idle below 20 %)");
    expect(r.reads()).toBe(1);
  });
});

describe("runTimed", () => {
  it("times a command until every process of its group has ended, its output kept", async () => {
    // The shell exits at once; the sleep it left in its group (its output elsewhere, so the pipes close) runs 0.6 s more.
    const run = await runTimed("bash", ["-c", "sleep 0.6 >/dev/null 2>&1 & echo started"], { leftovers: () => [] });
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("started\n");
    expect(run.seconds).toBeGreaterThanOrEqual(0.6);
    expect(run.lingering).toBeUndefined();
  });

  it("and until what it started elsewhere (execs, containers) is gone, but not what was there before", async () => {
    let looks = 0;
    // Before: an exec of someone else's; after the command: a container it left, gone on the fourth look after it ended.
    const leftovers = () => (++looks === 1 ? ["exec 1"] : looks < 5 ? ["exec 1", "container c"] : ["exec 1"]);
    const run = await runTimed("true", [], { leftovers });
    expect(looks).toBe(5);
    expect(run.seconds).toBeGreaterThanOrEqual(0.15);
  });
});

describe("pytest's counts on both sides", () => {
  const summary = (s: string) => `tests/test_a.py::test_x PASSED\n============ ${s} ============\n`;

  it("reads the outcomes and pytest's time from the last summary line, not the warnings", () => {
    expect(pytestResult(summary("11 passed, 1 skipped, 2 warnings in 4.21s (0:00:04)"))).toEqual({ counts: { passed: 11, skipped: 1 }, seconds: 4.21, waited: 0 });
    expect(pytestResult(summary("1 failed, 3 passed, 1 error in 2s"))).toEqual({ counts: { failed: 1, passed: 3, error: 1 }, seconds: 2, waited: 0 });
    expect(pytestResult(`${summary("1 passed in 1.00s")}${summary("5 passed, 2 errors in 9.50s")}`)).toEqual({ counts: { passed: 5, error: 2 }, seconds: 9.5, waited: 0 });
    expect(pytestResult("collected 0 items\nno summary here\n")).toBeUndefined();
  });

  it("leaves out of pytest's time what it waited for the module's services after collecting", () => {
    const waited = `collected 11 items\npycroft-ready: answered 2.5 s after collection (db 0.3 s, ldap 0.9 s, mq 2.5 s)\n${summary("11 passed in 9.75s")}`;
    expect(pytestResult(waited)).toEqual({ counts: { passed: 11 }, seconds: 7.25, waited: 2.5 });
    // And what it waited later, before the first test of a service only some tests use.
    const later = waited.replace("\n=", "\ntests/a.py::test_x \npycroft-ready: waited 1.5 s before tests/a.py::test_x (keycloak 4.0 s after collection)\nPASSED\n=");
    expect(pytestResult(later)).toEqual({ counts: { passed: 11 }, seconds: 5.75, waited: 4 });
  });

  it("accepts the same number of tests and names the difference otherwise", () => {
    const a = summary("11 passed, 1 warning in 4.2s");
    expect(countMismatch("edit", a, summary("11 passed in 7.9s"))).toBeUndefined();
    expect(countMismatch("edit", a, summary("10 passed in 7.9s"))).toBe("edit: the module ran 11 tests (11 passed), compose 10 (10 passed)");
    // The same tests with other outcomes (a flaky one): not a mismatch, an outcome difference.
    expect(countMismatch("edit", a, summary("9 passed, 2 errors in 7.9s"))).toBeUndefined();
    expect(countMismatch("edit", a, summary("10 passed, 1 skipped in 7.9s"))).toBeUndefined();
    expect(countMismatch("rerun", "crashed", a)).toBe("rerun: no pytest summary line in the module's output");
    expect(countMismatch("rerun", a, "")).toBe("rerun: no pytest summary line in the compose's output");
  });

  it("counts the tests pytest selected from its collection line, else from the summary's outcomes", () => {
    expect(selectedTests(`collected 1392 items / 1 deselected / 1391 selected\n${summary("1390 passed, 1 xfailed, 1 deselected in 50s")}`)).toBe(1391);
    expect(selectedTests(`collected 142 items\n${summary("141 passed, 1 failed in 4s")}`)).toBe(142);
    expect(selectedTests(`collected 18 items / 14 deselected\n${summary("4 passed, 14 deselected in 2s")}`)).toBe(4);
    expect(selectedTests(summary("5 passed, 1 failed, 2 skipped, 1 xfailed, 1 xpassed, 3 errors, 7 deselected, 4 warnings in 9s"))).toBe(13);
    // Two collection lines (two sessions in one output): the summary decides.
    expect(selectedTests(`collected 3 items\ncollected 4 items\n${summary("6 passed in 1s")}`)).toBe(6);
    expect(selectedTests("no summary")).toBeUndefined();
    const module = `collected 1391 items\n${summary("1387 passed, 4 errors in 52s")}`;
    const compose = `collected 1392 items / 1 deselected / 1391 selected\n${summary("1391 passed, 1 deselected in 49s")}`;
    expect(countMismatch("ci", module, compose)).toBeUndefined();
    expect(countMismatch("ci", module, compose.replace("1391 selected", "1390 selected"))).toBe(
      "ci: the module ran 1391 tests (4 error, 1387 passed), compose 1390 (1 deselected, 1391 passed)",
    );
  });

  it("marks a round's samples whose outcomes differ, and leaves alike rounds unmarked", () => {
    const round = (): Sample[] => [
      { step: "ci", kind: "fresh", side: "module", seconds: 60 },
      { step: "ci", kind: "fresh", side: "compose", seconds: 90, unclean: "busy start: CPU 30 % busy" },
    ];
    expect(outcomeDifference(summary("11 passed in 1s"), summary("11 passed, 2 warnings in 2s"))).toBeUndefined();
    const alike = round();
    markDifference(alike, summary("11 passed in 1s"), summary("11 passed in 2s"));
    expect(alike.map((s) => s.unclean)).toEqual([undefined, "busy start: CPU 30 % busy"]);
    const differing = round();
    markDifference(differing, summary("9 passed, 2 errors in 1s"), summary("11 passed in 2s"));
    expect(differing.map((s) => s.unclean)).toEqual([
      "outcomes differ: module 2 error, 9 passed; compose 11 passed",
      "busy start: CPU 30 % busy; outcomes differ: module 2 error, 9 passed; compose 11 passed",
    ]);
  });

  it("compares a round: a different number of tests is the step's failure, other outcomes mark the round", () => {
    const round = (): Sample[] => [{ step: "ci", kind: "fresh", side: "module", seconds: 60 }];
    const differing = round();
    expect(compareRound("ci, sample 1", differing, summary("9 passed, 2 errors in 1s"), summary("11 passed in 2s"))).toBeUndefined();
    expect(differing[0]!.unclean).toBe("outcomes differ: module 2 error, 9 passed; compose 11 passed");
    const fewer = round();
    expect(compareRound("ci, sample 2", fewer, summary("9 passed in 1s"), summary("11 passed in 2s"))).toBe(
      "ci, sample 2: the module ran 9 tests (9 passed), compose 11 (11 passed)",
    );
    expect(fewer[0]!.unclean).toBeUndefined();
  });
});

describe("the table's rows", () => {
  const s = (step: string, side: "module" | "compose", seconds: number, extra: Partial<Sample> = {}): Sample => ({
    step,
    kind: "fresh",
    side,
    seconds,
    ...extra,
  });

  it("pairs each step's two sides: medians, spreads, the ratio of medians and pytest's times", () => {
    const rows = peerRows([
      s("edit", "module", 10, { pytestSeconds: 7 }),
      s("edit", "compose", 20, { pytestSeconds: 8 }),
      s("edit", "compose", 16, { pytestSeconds: 8.2 }),
      s("edit", "module", 14, { pytestSeconds: 7.4, unclean: "busy start: CPU 90 % busy" }),
      s("edit", "module", 12, { pytestSeconds: 7.2 }),
      s("edit", "compose", 30, { pytestSeconds: 8.1 }),
      s("rerun", "module", 9),
      s("rerun", "compose", 18),
    ]);
    expect(rows.map((r) => r.step)).toEqual(["edit", "rerun"]);
    expect(rows[0]).toMatchObject({
      kind: "fresh",
      module: { median: 12, min: 10, max: 14, n: 3 },
      compose: { median: 20, min: 16, max: 30, n: 3 },
      ratio: 0.6,
      modulePytest: { median: 7.2 },
      composePytest: { median: 8.1 },
      unclean: 1,
    });
    expect(rows[1]!.ratio).toBe(0.5);
    expect(rows[1]!.modulePytest).toBeUndefined();
  });

  it("never pairs unlike runs or unequal numbers of samples", () => {
    expect(() => peerRows([s("edit", "module", 8, { kind: "kept" }), s("edit", "compose", 20)])).toThrow(/different kinds \(kept, fresh\)/);
    expect(() => peerRows([s("edit", "module", 8), s("edit", "module", 9), s("edit", "compose", 20)])).toThrow(/2 module and 1 compose samples/);
    expect(() => peerRows([s("edit", "compose", 20)])).toThrow(/0 module and 1 compose/);
  });

  it("prints median (min-max), the ratio and the unclean samples", () => {
    const text = formatPeerRows(peerRows([s("edit", "module", 10, { pytestSeconds: 7, unclean: "x" }), s("edit", "compose", 20, { pytestSeconds: 8 })]));
    const [head, row] = text.split("\n");
    expect(head).toMatch(/^step\s+n\s+module s\s+compose s\s+module\/compose\s+pytest: module\s+pytest: compose$/);
    expect(row).toMatch(/^edit \[1 unclean\]\s+1\s+10\.0 \(10\.0-10\.0\)\s+20\.0 \(20\.0-20\.0\)\s+0\.50\s+7\.0 \(7\.0-7\.0\)\s+8\.0 \(8\.0-8\.0\)$/);
    expect(formatPeerRows(peerRows([s("js", "module", 0.12), s("js", "compose", 0.5)]), 2)).not.toContain("pytest");
  });
});

describe("the bench's command line", () => {
  const known = { groups: ["compose", "dev"], steps: ["deps", "edit", "kept"] };

  it("defaults to three samples of every step", () => {
    expect(parseBenchArgs([], known)).toEqual({ groups: [], samples: 3, steps: [] });
  });

  it("takes groups, --samples and --steps in either form", () => {
    expect(parseBenchArgs(["compose", "--samples", "5", "--steps=edit,kept"], known)).toEqual({ groups: ["compose"], samples: 5, steps: ["edit", "kept"] });
    expect(parseBenchArgs(["--samples=1", "dev"], known)).toEqual({ groups: ["dev"], samples: 1, steps: [] });
  });

  it("refuses what it does not know", () => {
    expect(() => parseBenchArgs(["--samples", "0"], known)).toThrow(/at least 1/);
    expect(() => parseBenchArgs(["--samples"], known)).toThrow(/needs a value/);
    expect(() => parseBenchArgs(["--steps", "edit,cold"], known)).toThrow(/unknown step cold/);
    expect(() => parseBenchArgs(["shards"], known)).toThrow(/unknown argument "shards"/);
  });
});

describe("sideBySide", () => {
  // Never busy, any execs and containers: the idle wait takes its two readings and goes on.
  const limits = () => ({ maxBusy: 1.01, execs: Infinity, containers: Infinity });
  const run = (collected: number, outcomes: string) => async () => ({ seconds: 1, output: `collected ${collected} items\n===== ${outcomes} in 1.0s =====\n` });

  it("keeps a round whose outcomes differ, marked, and fails a step whose sides ran different numbers of tests", async () => {
    const result = { samples: [] as Sample[], failed: [] as string[] };
    const { step } = sideBySide({ who: "test", samples: 1, limits, result });
    await step("flaky", "fresh", () => {}, { module: run(11, "9 passed, 2 errors"), compose: run(11, "11 passed") });
    expect(result.failed).toEqual([]);
    expect(result.samples.map((s) => [s.side, s.unclean]).sort()).toEqual([
      ["compose", "outcomes differ: module 2 error, 9 passed; compose 11 passed"],
      ["module", "outcomes differ: module 2 error, 9 passed; compose 11 passed"],
    ]);
    await step("other selection", "fresh", () => {}, { module: run(11, "11 passed"), compose: run(10, "10 passed") });
    expect(result.failed).toEqual(["other selection: other selection, sample 1: the module ran 11 tests (11 passed), compose 10 (10 passed)"]);
    expect(result.samples).toHaveLength(2);
  }, 30_000);
});
