// `npm run bench`: how long the module's main paths take on this engine, with pytest's own time
// beside each test run. Prints numbers; asserts nothing, but exits 1 when a compose step failed (its
// two sides did not run the same tests).
//
// `npm run bench -- test` runs only the test steps, `-- shards` one process against `--shards 2`
// (warm, in turns), `-- services` each service's time to ready,
// `-- build-prod` only the builds, `-- compose` the test steps beside their docker compose peer
// (compose-steps.ts: the sides in turns, timed to their end, each after an idle wait, `--samples N`
// times per step, 3 by default; `--steps edit,kept` picks steps), with the medians' ratio module /
// compose. The default run is services, shards, compose (which has the module's test steps) and
// build-prod. `-- dev` (only when asked) times edit -> served in the dev stack beside compose's
// bind-mounted dev setup (dev-edits.ts), also `--samples` rounds in turns. `-- pycroft PATH` (only
// when asked) runs a Pycroft checkout beside Pycroft's own docker compose setup (pycroft-steps.ts;
// `--steps` cold,ci,edit,one,kept,deps).
//
// Each step is its own session, like a separate `dagger call`. "Cold" is a copy of the example whose
// pyproject is new to the engine; apt and base layers are only truly cold on a fresh engine
// (`bash test/engine/down.sh --purge && eval "$(bash test/engine/up.sh)"`).
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { connection, Platform } from "@dagger.io/dagger";

import { hostDir, pycroftOn, scratchCopy } from "../e2e/engine.js";
import { pruneSupersededImages } from "./compose-peer.js";
import { COMPOSE_STEPS, ComposeResult, composeSteps } from "./compose-steps.js";
import { devEditRows, printDevEdits } from "./dev-edits.js";
import { PYCROFT_STEPS, pycroftSteps } from "./pycroft-steps.js";
import { formatPeerRows, median, parseBenchArgs, peerRows, pytestResult } from "./fair.js";

interface Row {
  step: string;
  seconds: number;
  pytestSeconds?: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, (performance.now() - start) / 1000];
}

/** pytest's own wall time, from its summary line: "===== 11 passed in 4.21s =====". */
const pytestTime = (output: string) => pytestResult(output)?.seconds;

/** Runs `fn` in its own session, as a separate `dagger call` would. */
async function inSession<T>(fn: () => Promise<T>): Promise<T> {
  let result!: T;
  await connection(async () => {
    result = await fn();
  });
  return result;
}

async function bench(groups: string[], samples: number, steps: string[]): Promise<{ rows: Row[]; compose?: ComposeResult }> {
  // The default run has the module's test steps in the compose group's table.
  const want = (group: string) => groups.includes(group) || (groups.length === 0 && group !== "test");
  const rows: Row[] = [];
  let compose: ComposeResult | undefined;
  // Edits happen on disk in a scratch copy, as a developer's would.
  const dir = scratchCopy("example");
  const pyproject = join(dir, "pyproject.toml");
  const touchPyproject = () =>
    writeFileSync(pyproject, readFileSync(pyproject, "utf8").replace('description = "', `description = "bench ${Date.now()}: `));
  // A pyproject the engine has never seen: the dependency and app layers start cold.
  touchPyproject();
  const runTests = async (step: string, shards = 1) => {
    const [output, seconds] = await timed(() => inSession(() => pycroftOn(hostDir(dir)).test([], undefined, undefined, shards)));
    rows.push({ step, seconds, pytestSeconds: pytestTime(output) });
  };
  const buildProd = async (step: string, platform?: Platform) => {
    const build = async () => void (await (await pycroftOn(hostDir(dir)).buildProd(undefined, platform)).sync());
    const [, seconds] = await timed(() => inSession(build));
    rows.push({ step, seconds });
  };

  if (want("services")) {
    // Each service alone, from start to its health check passing (images built before timing).
    for (const name of ["postgres", "openldap", "rabbitmq", "keycloak"] as const) {
      await inSession(async () => {
        await (await pycroftOn(hostDir(dir))[name]()).start().then((s) => s.stop({ kill: true }));
        const [, seconds] = await timed(async () => {
          const svc = await (await pycroftOn(hostDir(dir))[name]()).start();
          await svc.stop({ kill: true });
        });
        rows.push({ step: `${name}: start to ready`, seconds });
      });
    }
  }
  if (want("test")) {
    await runTests("test (cold)");
    await runTests("test, unchanged rerun");
    appendFileSync(join(dir, "web/app.py"), `\n# bench edit ${Date.now()}\n`);
    await runTests("test after a one-line code edit");
    touchPyproject();
    await runTests("test after a dependency change");
  }
  if (want("shards")) {
    // Warm, one process and two shards taken in turns, twice: pytest's time is the longest shard's.
    await runTests("(warm-up)");
    rows.pop();
    for (const round of [1, 2]) {
      await runTests(`test, 1 process (round ${round})`);
      await runTests(`test --shards 2 (round ${round})`, 2);
    }
  }
  if (want("compose")) {
    try {
      compose = await composeSteps(samples, steps);
    } finally {
      pruneSupersededImages(process.env);
    }
  }
  if (!want("build-prod")) return { rows, compose };
  await buildProd("build-prod (cold)");
  await buildProd("build-prod, warm");
  // The other half of a two-platform release, under qemu-user: apt, uv and the uwsgi compile all emulated.
  await buildProd("build-prod linux/arm64, emulated (cold)", "linux/arm64" as Platform);
  await buildProd("build-prod linux/arm64, emulated, warm", "linux/arm64" as Platform);
  return { rows, compose };
}

const args = parseBenchArgs(process.argv.slice(2), {
  groups: ["services", "test", "shards", "compose", "build-prod", "dev", "pycroft"],
  steps: [...new Set([...COMPOSE_STEPS, ...PYCROFT_STEPS])],
  pathGroups: ["pycroft"],
});
// dev and pycroft run only when asked; asked alone, nothing else runs.
const onlyAsked = ["dev", "pycroft"];
const groups = args.groups;
const { rows, compose } =
  groups.length > 0 && groups.every((g) => onlyAsked.includes(g))
    ? { rows: [], compose: undefined }
    : await bench(groups.filter((g) => !onlyAsked.includes(g)), args.samples, args.steps);
const pycroft = groups.includes("pycroft") ? await pycroftSteps(args.path!, args.samples, args.steps) : undefined;
// Edit -> served in the dev stack and in compose's dev setup: only when asked (`-- dev`).
if (groups.includes("dev")) printDevEdits(await devEditRows(args.samples));
if (rows.length > 0) {
  console.log("\nstep".padEnd(42) + "seconds".padStart(10) + "pytest s".padStart(12));
  for (const r of rows) {
    console.log(r.step.padEnd(41) + r.seconds.toFixed(1).padStart(10) + (r.pytestSeconds?.toFixed(1) ?? "-").padStart(12));
  }
}
const shardRows = rows.filter((r) => r.step.startsWith("test --shards 2 (round"));
if (shardRows.length > 0) {
  // Each round's two shards against the one process just before it, and the medians' ratio.
  const single = rows.filter((r) => r.step.startsWith("test, 1 process (round"));
  const ratio = (pick: (r: Row) => number | undefined) =>
    (median(shardRows.map((r) => pick(r) ?? NaN)) / median(single.map((r) => pick(r) ?? NaN))).toFixed(2);
  console.log(`\n--shards 2 / 1 process: call ${ratio((r) => r.seconds)}, pytest ${ratio((r) => r.pytestSeconds)} (medians of ${shardRows.length} rounds)`);
}
for (const result of [compose, pycroft]) {
  if (!result) continue;
  // Seconds: median (min-max) of each side's samples; the ratio is of the medians (below 1: the module is faster).
  if (result.samples.length > 0) console.log(`\n${formatPeerRows(peerRows(result.samples))}`);
  const unclean = result.samples.filter((s) => s.unclean);
  if (unclean.length > 0) {
    console.log(`[N unclean]: samples that began before the machine was idle (PYCROFT_BENCH_IDLE_MAX_S) or left something running; not clean measurements:`);
    for (const s of unclean) console.log(`  ${s.step.trim()}, ${s.side}: ${s.unclean}`);
  }
  if (result.failed.length > 0) {
    console.log(`\nfailed steps (not in the table):\n${result.failed.map((f) => `  ${f}`).join("\n")}`);
    process.exitCode = 1;
  }
}
