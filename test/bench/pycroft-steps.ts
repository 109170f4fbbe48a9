// `npm run bench -- pycroft PATH`: the module on a Pycroft checkout beside Pycroft's own docker setup
// (its docker-compose.test.yml, docker/*.Dockerfile, `docker buildx bake`), each side on its own
// scratch copy of PATH (PATH is only read) getting the same edits, timed as compose-steps.ts times
// the example's peer (fair.ts, machine.ts: each side to its end, teardown included, after an idle
// wait, in turns, `samples` times, pytest's counts compared).
//   compose: pycroft/prepare.sh's copy (only what cannot work here changed), pycroft/images.sh's
//     images under Pycroft's names, pycroft/compose.sh: its CI test job, `run --rm test-app test` on
//     services started for it, or on services left up;
//   module: `test --args=-m,not legacy` (npm run call -- test), `test --args=FILE`, or test-stack and
//     its watcher.
import { spawnSync } from "node:child_process";
import { appendFileSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { hostDir, tempDirUntilExit } from "../e2e/engine.js";
import { newPycroft, optionsFromEnv } from "../support/module.js";
import { composeEnv, createBuilder, dropEngine, noFreshEngine, removeBuilder, sh, startEngine } from "./compose-peer.js";
import { countMismatch, pytestResult, Sample } from "./fair.js";
import { keptEdits } from "./kept-edits.js";
import { composeContainers, execs, FRESH_ENGINE, runTimed, sideBySide, SideRun, waitIdle } from "./machine.js";

/** The steps, in the order they run (`--steps` picks some). */
export const PYCROFT_STEPS = ["cold", "ci", "edit", "one", "kept", "deps"] as const;

const ROOT = join(import.meta.dirname, "../..");
const HERE = join(import.meta.dirname, "pycroft");
/** The compose project: the copy's directory name, as compose derives it. */
export const PROJECT = "pycroft-bench";
/** Pycroft's CI test job's pytest selection, on both sides. */
export const CI_PYTEST_ARGS = ["-m", "not legacy"];
/** The test file of the day-to-day loop (test/pycroft's test-stack step edits it too). */
export const KEPT_FILE = "tests/model/test_user.py";
/** The Python file the one-line edit of the `edit` step goes to. */
export const EDITED_MODULE = "pycroft/model/user.py";
/** What the module needs on a Pycroft checkout here (test/support/module.ts optionsFromEnv). */
export const MODULE_ENV = { PYCROFT_PYTHON_IMAGE: "python:3.12-slim-bookworm", PYCROFT_NO_INSTALL_PACKAGES: "guzzle-sphinx-theme" };
/** The docker-container builder of the compose side, and the "new machine" one. */
const BUILDER = "pycroft-bench-pycroft";
const COLD_BUILDER = "pycroft-bench-pycroft-cold";
/** The registries the builders get images from through the local registry (images.sh put them there). */
export const MIRRORED = ["docker.io", "ghcr.io", "quay.io"];
/** The images the compose side's build makes (removed for a new machine). */
export const BUILT_IMAGES = ["agdsn/pycroft-base:latest", "agdsn/pycroft-dev:latest", `${PROJECT}-test-db`];

/**
 * A line appended to uv.lock: a change of the lock that leaves every package as it is (uv reads
 * it as a TOML comment). Both sides redo their dependency install for it (the module: the layer keyed
 * by the manifests; compose: its venv hook, which runs `uv sync` when uv.lock is newer than its stamp).
 */
export const lockEdit = (stamp: string) => `# bench dependency change ${stamp}\n`;

/** One side's run: its time, pytest's output, and what it left running past the wait for its end. */
type Run = SideRun;

/** The output of a run that may have failed: pytest's summary is what is compared, failed or not. */
function finished(what: string, run: { code: number | null; stdout: string; stderr: string }): string {
  const output = `${run.stdout}\n${run.stderr}`;
  if (run.code !== 0 && !pytestResult(output)) {
    throw new Error(`${what} failed (exit ${run.code}) without a pytest summary:\n${output.trim().split("\n").slice(-40).join("\n")}`);
  }
  return output;
}

/** A scratch copy of the checkout as the module gets it (`--source`): cp -a, nothing changed. */
function moduleCopy(path: string): string {
  const dir = join(tempDirUntilExit("pycroft-bench-module-"), "pycroft");
  sh("cp", ["-a", path, dir]);
  return dir;
}

/** prepare.sh's copy for compose, owned by the app user's UID as a developer's checkout is (it is bind-mounted). */
function composeCopy(path: string): string {
  const dir = join(tempDirUntilExit("pycroft-bench-compose-"), PROJECT);
  sh("bash", [join(HERE, "prepare.sh"), path, dir]);
  sh("chown", ["-R", "1000:1000", dir]);
  return dir;
}

/**
 * The module's `test` with CI's selection (or `args`), as its own process (what `dagger call test --args=…` runs);
 * its output goes to `log` too (pytest's verdicts on each test, when the counts differ).
 */
async function moduleTest(dir: string, log: string, runnerHost?: string, args: string[] = CI_PYTEST_ARGS): Promise<Run> {
  const run = await runTimed(process.execPath, ["--import", "tsx", "test/engine/call.ts", "test", ...args], {
    cwd: ROOT,
    env: { ...process.env, ...MODULE_ENV, PYCROFT_SOURCE: dir, ...(runnerHost ? { _EXPERIMENTAL_DAGGER_RUNNER_HOST: runnerHost } : {}) },
  });
  writeFileSync(log, `${run.stderr}\n--- stdout ---\n${run.stdout}`);
  return { seconds: run.seconds, output: finished(`the module's test (log ${log})`, run), lingering: run.lingering };
}

export interface PycroftResult {
  samples: Sample[];
  failed: string[];
}

/** The pycroft group on the checkout at `path`: `steps` (all when empty), `samples` samples of each side. */
export async function pycroftSteps(path: string, samples: number, steps: string[]): Promise<PycroftResult> {
  const want = (step: (typeof PYCROFT_STEPS)[number]) => steps.length === 0 || steps.includes(step);
  const tools = composeEnv();
  const logs = mkdtempSync(join(tmpdir(), "pycroft-bench-pycroft-"));
  console.error(`pycroft bench: logs (both sides' output) in ${logs}`);
  sh("bash", [join(HERE, "images.sh")]);
  const env = { ...tools, BUILDX_BUILDER: BUILDER };
  // The builder a developer keeps (its cache with it); made once.
  if (spawnSync("docker", ["buildx", "inspect", BUILDER], { env, stdio: "ignore" }).status !== 0) createBuilder(BUILDER, env, MIRRORED);
  const result: PycroftResult = { samples: [], failed: [] };
  // What runs now, once the CPU is idle, is not the bench's (others' sessions on a shared engine).
  await waitIdle({ execs: Infinity, containers: Infinity });
  let limits = { execs: execs().length, containers: composeContainers().length };
  let moduleDir = moduleCopy(path);
  let composeDir = composeCopy(path);
  const stamp = Date.now();
  let edits = 0;
  const appendBoth = (file: string, line: (n: number) => string) => {
    edits++;
    for (const dir of [moduleDir, composeDir]) appendFileSync(join(dir, file), line(edits));
  };
  let n = 0;
  const logPath = (label: string) => join(logs, `${++n}-${label.replace(/\W+/g, "-")}.log`);
  const module = (label: string, runnerHost?: string, args?: string[]) => moduleTest(moduleDir, logPath(`module-${label}`), runnerHost, args);
  const compose = async (label: string, args: string[], extra: NodeJS.ProcessEnv = {}, kept = false): Promise<Run> => {
    const run = await runTimed("bash", [join(HERE, "compose.sh"), ...args], {
      cwd: composeDir,
      env: { ...env, ...extra },
      // Kept services stay up: the run's end is its processes'.
      ...(kept ? { leftovers: () => [] } : {}),
    });
    const log = logPath(label);
    writeFileSync(log, `${run.stderr}\n--- stdout ---\n${run.stdout}`);
    return { seconds: run.seconds, output: finished(`compose.sh ${args[0]} (log ${log})`, run), lingering: run.lingering };
  };
  const composeCi = (label: string, extra: NodeJS.ProcessEnv = {}) => compose(label, ["ci"], extra);
  const { step, startWith } = sideBySide({ who: "pycroft bench", samples, limits: () => limits, result });

  try {
    if (want("cold")) {
      const why = noFreshEngine();
      if (why) {
        result.failed.push(`cold, nothing cached: no second engine: ${why}`);
      } else {
        // A CI runner with nothing cached: the module on a new engine with a new cache volume; compose
        // on a new builder (empty state), without its built images, its home volume (venv, uv and bun
        // caches) or the checkout's node_modules. Timed from the engine's start or the builder's creation.
        await step(
          "cold: new machine, nothing cached",
          "new machine",
          () => {
            moduleDir = moduleCopy(path);
            composeDir = composeCopy(path);
          },
          {
            module: async () => {
              dropEngine();
              const start = performance.now();
              await startEngine();
              const started = (performance.now() - start) / 1000;
              try {
                const run = await module("cold", `docker-container://${FRESH_ENGINE.container}`);
                return { ...run, seconds: started + run.seconds };
              } finally {
                dropEngine();
              }
            },
            compose: async () => {
              removeBuilder(COLD_BUILDER, env);
              spawnSync("docker", ["rmi", "--force", ...BUILT_IMAGES]);
              spawnSync("docker", ["volume", "rm", "--force", `${PROJECT}_home`]);
              rmSync(join(composeDir, "node_modules"), { recursive: true, force: true });
              const start = performance.now();
              createBuilder(COLD_BUILDER, env, MIRRORED);
              const created = (performance.now() - start) / 1000;
              try {
                const run = await composeCi("cold", { BUILDX_BUILDER: COLD_BUILDER });
                return { ...run, seconds: created + run.seconds };
              } finally {
                removeBuilder(COLD_BUILDER, env);
              }
            },
          },
        );
      }
    }
    // Both sides warm, as after an earlier run: one untimed run each (images, venv, JS deps there).
    const warm = countMismatch("warm-up", (await module("warm-up")).output, (await composeCi("warm-up")).output);
    if (warm) throw new Error(`the two sides do not run the same tests: ${warm}`);
    await waitIdle({ execs: Infinity, containers: Infinity });
    limits = { execs: execs().length, containers: composeContainers().length };

    if (want("ci")) {
      await step("CI test job, warm", "fresh", () => {}, { module: () => module("ci"), compose: () => composeCi("ci") });
    }
    if (want("edit")) {
      await step("CI test job after a one-line Python edit", "fresh", () => appendBoth(EDITED_MODULE, (k) => `\n# bench edit ${stamp}-${k}\n`), {
        module: () => module("edit"),
        compose: () => composeCi("edit"),
      });
    }
    if (want("one")) {
      // One test file after an edit of it, its services started for it on both sides and ended after.
      await step(`${KEPT_FILE} after an edit, services started fresh`, "fresh", () => appendBoth(KEPT_FILE, (k) => `\n# bench edit ${stamp}-${k}\n`), {
        module: () => module("one", undefined, [KEPT_FILE]),
        compose: () => compose("one", ["fresh", KEPT_FILE]),
      });
    }
    if (want("kept")) {
      const name = `${KEPT_FILE} after an edit, services kept up`;
      try {
        const kept = await keptEdits({
          step: name,
          moduleDir,
          composeDir,
          samples,
          startWith: startWith(),
          ahead: true,
          env,
          module: (dir) => newPycroft(hostDir(dir), hostDir(join(ROOT, "dockerfiles/openldap")), optionsFromEnv(MODULE_ENV)),
          editFile: KEPT_FILE,
          pytestArgs: [KEPT_FILE],
          composeRun: async (label) => (await compose(label, ["run", KEPT_FILE], {}, true)).output,
          composeDown: () => void spawnSync("bash", [join(HERE, "compose.sh"), "down"], { cwd: composeDir, env, stdio: "ignore" }),
        });
        if (kept.mismatches.length > 0) throw new Error(kept.mismatches.join("; "));
        result.samples.push(...kept.samples);
      } catch (err) {
        result.failed.push(`${name}: ${(err as Error).message}`);
        console.error(`pycroft bench: step failed: ${name}: ${(err as Error).message}`);
      }
    }
    if (want("deps")) {
      await step("CI test job after a dependency change (uv.lock)", "fresh", () => appendBoth("uv.lock", (k) => lockEdit(`${stamp}-${k}`)), {
        module: () => module("deps"),
        compose: () => composeCi("deps"),
      });
    }
  } finally {
    spawnSync("bash", [join(HERE, "compose.sh"), "down"], { cwd: composeDir, env, stdio: "ignore" });
    dropEngine();
  }
  // The copy's uv.lock is read back to show the edits landed where the sides read them.
  if (want("deps") && !readFileSync(join(composeDir, "uv.lock"), "utf8").includes(`# bench dependency change ${stamp}`)) {
    result.failed.push("deps: the uv.lock edit is not in the compose copy");
  }
  return result;
}
