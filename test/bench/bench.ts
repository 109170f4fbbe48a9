// `npm run bench`: how long the module's main paths take on this engine, with pytest's own time
// beside each test run. Prints numbers; asserts nothing.
//
// `npm run bench -- test` runs only the test steps, `-- shards` one process against `--shards 2`
// (warm, in turns), `-- services` each service's time to ready,
// `-- build-prod` only the builds, `-- compose` the test steps beside their docker compose peer
// (test/bench/compose/, see compose-peer.ts), with the ratio module / compose, and a code edit tested
// on services kept up on both sides (kept-edits.ts). The default run is
// services, shards, compose (which has the module's test steps) and build-prod. `-- dev` (only when asked)
// times edit -> served in the dev stack beside compose's bind-mounted dev setup (dev-edits.ts).
//
// Each step is its own session, like a separate `dagger call`. "Cold" is a copy of the example whose
// pyproject is new to the engine; apt and base layers are only truly cold on a fresh engine
// (`bash test/engine/down.sh --purge && eval "$(bash test/engine/up.sh)"`).
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { connection, Platform } from "@dagger.io/dagger";

import { hostDir, pycroftOn, scratchCopy } from "../e2e/engine.js";
import { devEditRows, printDevEdits } from "./dev-edits.js";
import { keptEdits } from "./kept-edits.js";
import {
  composeBuild,
  composeEnv,
  composeTest,
  pruneSupersededImages,
  createBuilder,
  dropEngine,
  noFreshEngine,
  onFreshEngine,
  removeBuilder,
  removeBuiltImages,
  sh,
  startEngine,
  stopEngine,
} from "./compose-peer.js";

interface Row {
  step: string;
  seconds: number;
  pytestSeconds?: number;
}

/** One step done by the module and by its docker compose peer. */
interface PeerRow {
  step: string;
  module: number;
  compose: number;
  modulePytest?: number;
  composePytest?: number;
}

async function timed<T>(fn: () => Promise<T>): Promise<[T, number]> {
  const start = performance.now();
  const result = await fn();
  return [result, (performance.now() - start) / 1000];
}

/** pytest's summary line ends with its own wall time: "===== 11 passed in 4.21s =====". */
function pytestTime(output: string): number | undefined {
  const match = output.match(/ in (\d+(?:\.\d+)?)s(?: \([^)]*\))? =+\s*$/m);
  return match ? Number(match[1]) : undefined;
}

/** Runs `fn` in its own session, as a separate `dagger call` would. */
async function inSession<T>(fn: () => Promise<T>): Promise<T> {
  let result!: T;
  await connection(async () => {
    result = await fn();
  });
  return result;
}

/**
 * The test steps, each run by the module and then by the compose peer on a copy of the same source
 * with the same edits. Both start warm, as a developer's machine is: the module's engine and the
 * docker daemon's builder first build the unedited source (untimed). Then:
 *   - cold: a pyproject neither has seen (dependency and app layers rebuilt, from warm download caches);
 *   - an unchanged rerun; a one-line code edit; a dependency change (the pyproject again);
 *   - a new machine (CI) with an empty cache that it saves at the end, then one with that cache
 *     restored. Module: a new engine container on a new volume, stopped cleanly at the end (what
 *     writes its cache index), then a new engine container on that kept volume. Compose: a new
 *     docker-container builder (BuildKit, empty state) exporting its cache (`--cache-to
 *     type=local,mode=max`), then a new builder importing that export (`--cache-from`), with the
 *     built images removed from the docker daemon before each. Timed from the engine start or the
 *     builder creation; the service images are in the engine's cache and in the docker daemon
 *     on both runs, and copying the cache to and from CI storage is not counted on either side.
 */
async function composeSteps(rows: PeerRow[]): Promise<void> {
  const env = composeEnv();
  const logs = mkdtempSync(join(tmpdir(), "pycroft-bench-compose-"));
  console.error(`compose peer: logs in ${logs}`);
  // The two copies get the same edits. The compose copy is owned by the app user's UID, as a
  // developer's checkout is: it is bind-mounted, and pytest writes its caches into it.
  const fresh = (from: string, owned: boolean) => {
    const dir = scratchCopy(from);
    // The bind mount of the bundle dir creates it in the checkout; Pycroft's checkout has it already.
    mkdirSync(join(dir, "web/static"), { recursive: true });
    rmSync(join(dir, ".coverage"), { force: true });
    if (owned) sh("chown", ["-R", "1000:1000", dir]);
    return dir;
  };
  let moduleDir = fresh("example", false);
  let composeDir = fresh("example", true);
  const dirs = () => [moduleDir, composeDir];
  const stamp = Date.now();
  const touchPyprojects = (n: number) => {
    for (const dir of dirs()) {
      const path = join(dir, "pyproject.toml");
      writeFileSync(path, readFileSync(path, "utf8").replace('description = "', `description = "bench ${stamp}-${n}: `));
    }
  };
  let n = 0;
  const moduleTest = () => inSession(() => pycroftOn(hostDir(moduleDir)).test());
  const composeRun = (step: string, extra: NodeJS.ProcessEnv = {}) =>
    composeTest(composeDir, { ...env, ...extra }, join(logs, `${++n}-${step.replace(/\W+/g, "-")}.log`));
  const both = async (step: string, module: () => Promise<string>, compose: () => Promise<string>) => {
    const [moduleOut, moduleSeconds] = await timed(module);
    const [composeOut, composeSeconds] = await timed(compose);
    const row = { step, module: moduleSeconds, compose: composeSeconds, modulePytest: pytestTime(moduleOut), composePytest: pytestTime(composeOut) };
    rows.push(row);
    console.error(`${step}: module ${row.module.toFixed(1)} s, compose ${row.compose.toFixed(1)} s`);
  };

  // Warm caches on both sides (untimed).
  await inSession(async () => {
    const pycroft = pycroftOn(hostDir(moduleDir));
    await Promise.all([(await pycroft.dev()).sync(), (await pycroft.bundle()).sync()]);
  });
  composeBuild(composeDir, env);

  touchPyprojects(1);
  await both("test (cold)", moduleTest, () => composeRun("cold"));
  await both("test, unchanged rerun", moduleTest, () => composeRun("rerun"));
  for (const dir of dirs()) appendFileSync(join(dir, "web/app.py"), `\n# bench edit ${stamp}\n`);
  await both("test after a one-line code edit", moduleTest, () => composeRun("edit"));
  // The same edit again and again, on services an earlier run left up: test-stack and the watcher
  // (npm run test-watch) against `docker compose run` as Pycroft's justfile runs it.
  const kept = await keptEdits(moduleDir, composeDir, 3, (step) => composeRun(step, { PYCROFT_COMPOSE_KEEP: "1" }), env);
  kept.forEach((k, i) =>
    rows.push({
      step: `code edit, services kept up (${i + 1})`,
      module: k.module,
      compose: k.compose,
      modulePytest: pytestTime(k.moduleOutput),
      composePytest: pytestTime(k.composeOutput),
    }),
  );
  // The same edits on a test-stack without pytest started ahead, against the same compose runs.
  kept.forEach((k, i) =>
    rows.push({
      step: `  same, a new pytest per run (${i + 1})`,
      module: k.modulePlain,
      compose: k.compose,
      modulePytest: pytestTime(k.modulePlainOutput),
      composePytest: pytestTime(k.composeOutput),
    }),
  );
  touchPyprojects(2);
  await both("test after a dependency change", moduleTest, () => composeRun("deps"));

  const why = noFreshEngine();
  if (why) {
    console.error(`compose peer: no fresh-machine steps: ${why}`);
    return;
  }
  // A CI checkout of the same commit: copies without the caches a test run leaves.
  const checkout = () => {
    moduleDir = fresh(moduleDir, false);
    composeDir = fresh(composeDir, true);
  };
  const cache = mkdtempSync(join(tmpdir(), "pycroft-buildx-cache-"));
  try {
    checkout();
    dropEngine();
    removeBuiltImages(env);
    await both(
      "new machine, empty cache (saves it)",
      async () => {
        await startEngine();
        const out = await onFreshEngine(moduleTest);
        stopEngine();
        return out;
      },
      async () => {
        createBuilder("pycroft-bench-ci-1", env);
        return composeRun("ci-empty", { BUILDX_BUILDER: "pycroft-bench-ci-1", PYCROFT_COMPOSE_CACHE_TO: cache });
      },
    );
    removeBuilder("pycroft-bench-ci-1", env);
    checkout();
    removeBuiltImages(env);
    await both(
      "new machine, cache restored",
      async () => {
        await startEngine();
        return onFreshEngine(moduleTest);
      },
      async () => {
        createBuilder("pycroft-bench-ci-2", env);
        return composeRun("ci-restored", { BUILDX_BUILDER: "pycroft-bench-ci-2", PYCROFT_COMPOSE_CACHE_FROM: cache });
      },
    );
  } finally {
    dropEngine();
    removeBuilder("pycroft-bench-ci-1", env);
    removeBuilder("pycroft-bench-ci-2", env);
    rmSync(cache, { recursive: true, force: true });
  }
}

async function bench(groups: string[]): Promise<{ rows: Row[]; peerRows: PeerRow[] }> {
  // The default run has the module's test steps in the compose group's table.
  const want = (group: string) => groups.includes(group) || (groups.length === 0 && group !== "test");
  const rows: Row[] = [];
  const peerRows: PeerRow[] = [];
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
      await composeSteps(peerRows);
    } finally {
      pruneSupersededImages(process.env);
    }
  }
  if (!want("build-prod")) return { rows, peerRows };
  await buildProd("build-prod (cold)");
  await buildProd("build-prod, warm");
  // The other half of a two-platform release, under qemu-user: apt, uv and the uwsgi compile all emulated.
  await buildProd("build-prod linux/arm64, emulated (cold)", "linux/arm64" as Platform);
  await buildProd("build-prod linux/arm64, emulated, warm", "linux/arm64" as Platform);
  return { rows, peerRows };
}

const groups = process.argv.slice(2);
const { rows, peerRows } = groups.length === 1 && groups[0] === "dev" ? { rows: [], peerRows: [] } : await bench(groups);
// Edit -> served in the dev stack and in compose's dev setup: only when asked (`-- dev`).
if (groups.includes("dev")) printDevEdits(await devEditRows());
/** The middle value (the lower of the two middle ones for an even count). */
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor((xs.length - 1) / 2)]!;
const pytestCell = (s?: number) => (s?.toFixed(1) ?? "-").padStart(10);
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
if (peerRows.length > 0) {
  console.log(
    "\nstep".padEnd(42) + "module s".padStart(10) + "compose s".padStart(11) + "module/compose".padStart(16) +
      "pytest: module".padStart(16) + "compose".padStart(10),
  );
  for (const r of peerRows) {
    console.log(
      r.step.padEnd(41) + r.module.toFixed(1).padStart(10) + r.compose.toFixed(1).padStart(11) +
        (r.module / r.compose).toFixed(2).padStart(16) + pytestCell(r.modulePytest).padStart(16) + pytestCell(r.composePytest),
    );
  }
}
const fresh = peerRows.find((r) => r.step === "test after a one-line code edit");
const keptRows = peerRows.filter((r) => r.step.startsWith("code edit, services kept up"));
if (fresh && keptRows.length > 0) {
  // The kept module stack against compose's fresh run (the compose step above), as a developer who
  // switches from `docker compose` + teardown to `npm run test-watch` sees it; the fair pair is the
  // kept-up rows' own ratio.
  const kept = median(keptRows.map((r) => r.module));
  console.log(`\ncode edit: module with services kept up (median ${kept.toFixed(1)} s) / compose with fresh services (${fresh.compose.toFixed(1)} s): ${(kept / fresh.compose).toFixed(2)}`);
}
