// `npm run bench -- compose`: the module's test steps beside their docker compose peer
// (test/bench/compose/, compose-peer.ts), on two copies of the example getting the same edits.
//
// Fair by construction:
//   - each side is a command of its own, timed from its start until its process group has exited and
//     the execs and containers it started are gone (the module: `npm run call -- test`, its Dagger
//     session's end included; compose: test.sh, its `docker compose down` included);
//   - before each side starts, the machine is idle again (machine.ts waitIdle: CPU use, no more execs
//     or containers running than after the warm-up), so neither side pays for the other's leftovers;
//   - the sides take turns (AB BA AB …, the first side alternating from step to step), `samples`
//     times per step; the table has each side's median and spread and the ratio of the medians;
//   - both sides' numbers of tests are compared in every round: a mismatch fails the step (outcomes
//     that differ on the same tests mark the round's samples instead);
//   - a row only compares like with like: fresh services with fresh, kept with kept, a new machine
//     with a new machine (no cache restored on either side).
// Compose is run as a competent user runs it: a code-only edit rebuilds nothing (the source is
// bind-mounted), a dependency change rebuilds the image.
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { PYTHON_IMAGE, scratchCopy } from "../e2e/engine.js";
import {
  composeEnv,
  composeTest,
  createBuilder,
  dropEngine,
  noFreshEngine,
  removeBuilder,
  removeBuiltImages,
  sh,
  startEngine,
} from "./compose-peer.js";
import { countMismatch, Sample } from "./fair.js";
import { keptEdits } from "./kept-edits.js";
import { composeContainers, execs, FRESH_ENGINE, IDLE, runTimed, sideBySide, SideRun, waitIdle } from "./machine.js";

/** The steps, in the order they run (`--steps` picks some). */
export const COMPOSE_STEPS = ["deps", "rerun", "edit", "kept", "kept-plain", "new-machine"] as const;

const ROOT = join(import.meta.dirname, "../..");

/** One side's run: its time, pytest's output, and what it left running past the wait for its end. */
type Run = SideRun;

/**
 * The module's `test` as its own process (`npm run call -- test`, what `dagger call test` runs), on
 * `dir`, on the engine `runnerHost` names (the one sessions go to by default).
 */
async function moduleTest(dir: string, runnerHost?: string): Promise<Run> {
  const run = await runTimed(process.execPath, ["--import", "tsx", "test/engine/call.ts", "test"], {
    cwd: ROOT,
    env: {
      ...process.env,
      PYCROFT_SOURCE: dir,
      PYCROFT_PYTHON_IMAGE: PYTHON_IMAGE,
      ...(runnerHost ? { _EXPERIMENTAL_DAGGER_RUNNER_HOST: runnerHost } : {}),
    },
  });
  if (run.code !== 0) throw new Error(`the module's test failed (exit ${run.code}):\n${`${run.stderr}\n${run.stdout}`.trim().split("\n").slice(-40).join("\n")}`);
  return { seconds: run.seconds, output: run.stdout, lingering: run.lingering };
}

export interface ComposeResult {
  samples: Sample[];
  /** Steps that failed (a pytest count mismatch, a run that failed), with why. */
  failed: string[];
}

/** The compose group: `steps` (all when empty), `samples` samples of each side per step. */
export async function composeSteps(samples: number, steps: string[]): Promise<ComposeResult> {
  const want = (step: (typeof COMPOSE_STEPS)[number]) => steps.length === 0 || steps.includes(step);
  const env = composeEnv();
  const logs = mkdtempSync(join(tmpdir(), "pycroft-bench-compose-"));
  console.error(`compose peer: logs in ${logs}`);
  const result: ComposeResult = { samples: [], failed: [] };
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
  let edits = 0;
  const touchPyprojects = () => {
    edits++;
    for (const dir of dirs()) {
      const path = join(dir, "pyproject.toml");
      writeFileSync(path, readFileSync(path, "utf8").replace('description = "', `description = "bench ${stamp}-${edits}: `));
    }
  };
  const editCode = () => {
    edits++;
    for (const dir of dirs()) appendFileSync(join(dir, "web/app.py"), `\n# bench edit ${stamp}-${edits}\n`);
  };
  let n = 0;
  const log = (label: string) => join(logs, `${++n}-${label.replace(/\W+/g, "-")}.log`);
  const composeRun = async (label: string, build: boolean, extra: NodeJS.ProcessEnv = {}): Promise<Run> => {
    const run = await composeTest(composeDir, { ...env, ...extra }, log(label), build);
    return { seconds: run.seconds, output: run.stdout, lingering: run.lingering };
  };
  const { step, startWith } = sideBySide({ who: "compose peer", samples, limits: () => limits, result });

  // Both sides warm, as a developer's machine is: one untimed run each of the unedited source.
  const warm = countMismatch("warm-up", (await moduleTest(moduleDir)).output, (await composeRun("warm-up", true)).output);
  if (warm) throw new Error(`compose peer: the two sides do not run the same tests: ${warm}`);
  // What runs now, once the CPU is idle, is not the bench's (another stack's services on a shared
  // engine): only more than that is a build going on.
  await waitIdle({ execs: Infinity, containers: Infinity });
  const limits = { execs: execs().length, containers: composeContainers().length };
  console.error(`compose peer: idle means CPU below ${IDLE.maxBusy * 100} %, at most ${limits.execs} execs and ${limits.containers} compose containers`);

  if (want("deps")) {
    // A pyproject neither side has seen: the dependency and app layers are rebuilt (from warm download caches).
    await step("test after a dependency change", "fresh", touchPyprojects, {
      module: () => moduleTest(moduleDir),
      compose: () => composeRun("deps", true),
    });
  }
  if (want("rerun")) {
    await step("test, unchanged rerun", "fresh", () => {}, {
      module: () => moduleTest(moduleDir),
      compose: () => composeRun("rerun", false),
    });
  }
  if (want("edit")) {
    await step("test after a one-line code edit", "fresh", editCode, {
      module: () => moduleTest(moduleDir),
      compose: () => composeRun("edit", false),
    });
  }
  // The same edit again and again on services kept up: test-stack and its watcher (npm run
  // test-watch) against `docker compose run` as Pycroft's justfile runs it; with pytest started
  // ahead (test-stack's default), then with a new pytest per run on both sides.
  for (const [id, ahead, name] of [
    ["kept", true, "code edit, services kept up"],
    ["kept-plain", false, "  the same, test-stack without pytest started ahead"],
  ] as const) {
    if (!want(id)) continue;
    try {
      const kept = await keptEdits({
        step: name,
        moduleDir,
        composeDir,
        samples,
        startWith: startWith(),
        ahead,
        env,
        composeRun: async (label) => (await composeRun(label, false, { PYCROFT_COMPOSE_KEEP: "1" })).output,
      });
      if (kept.mismatches.length > 0) throw new Error(kept.mismatches.join("; "));
      result.samples.push(...kept.samples);
    } catch (err) {
      result.failed.push(`${name.trim()}: ${(err as Error).message}`);
      console.error(`compose peer: step failed: ${name.trim()}: ${(err as Error).message}`);
    }
  }

  if (!want("new-machine")) return result;
  const why = noFreshEngine();
  if (why) {
    console.error(`compose peer: no new-machine step: ${why}`);
    return result;
  }
  // A CI runner with nothing cached, on a checkout of the same commit (copies without the caches a
  // test run leaves): the module on a new engine container with a new cache volume, compose on a new
  // docker-container builder (empty state) whose images it loads into a docker daemon without them.
  // Timed from the engine's start or the builder's creation; removing them afterwards is not.
  const builder = "pycroft-bench-ci";
  try {
    await step(
      "new machine, nothing cached",
      "new machine",
      () => {
        moduleDir = fresh(moduleDir, false);
        composeDir = fresh(composeDir, true);
      },
      {
        module: async () => {
          dropEngine();
          const start = performance.now();
          await startEngine();
          const started = (performance.now() - start) / 1000;
          const run = await moduleTest(moduleDir, `docker-container://${FRESH_ENGINE.container}`);
          dropEngine();
          return { ...run, seconds: started + run.seconds };
        },
        compose: async () => {
          removeBuilder(builder, env);
          removeBuiltImages(env);
          const start = performance.now();
          createBuilder(builder, env);
          const created = (performance.now() - start) / 1000;
          const run = await composeRun("new-machine", true, { BUILDX_BUILDER: builder });
          removeBuilder(builder, env);
          return { ...run, seconds: created + run.seconds };
        },
      },
    );
  } finally {
    dropEngine();
    removeBuilder(builder, env);
  }
  return result;
}
