// The compose group's kept-services step: a one-line code edit tested on services that an earlier run
// left up, as a developer runs tests again and again. The module: `test-stack` with its own watcher
// (`dagger call watcher`, as `npm run test-watch` runs it: the edit is sent, then pytest runs in the
// stack's app container). Compose:
// `docker compose run --rm test` as Pycroft's justfile runs it (the checkout bind-mounted; the services
// the tests depend on are up and healthy from the first run). Each side is timed from the edit on disk
// to pytest's result; the first run of each, which starts the services, is not timed. Each edit is
// saved 3 s after the last result; test-stack runs with pytest started ahead (its default), and then
// again with a new pytest per run.
import { appendFileSync } from "node:fs";
import { join } from "node:path";

import { connection } from "@dagger.io/dagger";

import { hostDir, pycroftOn } from "../e2e/engine.js";
import { readResult, startWatcher, upTestStack } from "../engine/sync.js";
import { composeDown } from "./compose-peer.js";

/** One edit, tested by both sides: seconds from the edit on disk to the result, and the output. */
export interface KeptEdit {
  module: number;
  compose: number;
  moduleOutput: string;
  composeOutput: string;
  /** The module with a new pytest process per run (test-stack --start-ahead=false). */
  modulePlain: number;
  modulePlainOutput: string;
}

/**
 * pytest as compose.yaml's `test` service runs it (-v, a JUnit file), so both sides do the same work.
 * (The module's `test` runs it the same way.)
 */
const PYTEST_ARGS = ["-v", "--junitxml=/tmp/bench-junit.xml"];

/**
 * `edits` one-line code edits on each side, each saved `readResult` after the last result on every
 * side (so that no side's run overlaps the next pytest test-stack starts meanwhile). `composeRun`
 * runs the peer's test.sh in keep mode on the compose copy and returns pytest's output. The module's
 * test-stack with pytest started ahead of each run (its default) takes turns with compose; then a
 * test-stack with a new pytest per run gets the same edits.
 */
export async function keptEdits(moduleDir: string, composeDir: string, edits: number, composeRun: (step: string) => Promise<string>, env: NodeJS.ProcessEnv): Promise<KeptEdit[]> {
  const compose: { seconds: number; output: string }[] = [];
  let ahead: Timed[] = [];
  let plain: Timed[] = [];
  await connection(async () => {
    try {
      ahead = await moduleEdits(moduleDir, true, edits, async (i) => {
        // The first run starts the services (untimed).
        if (i === 0) return void (await composeRun("kept-first"));
        await readResult();
        const start = performance.now();
        appendFileSync(join(composeDir, "web/app.py"), editLine(i));
        const output = await composeRun(`kept-${i}`);
        compose.push({ seconds: (performance.now() - start) / 1000, output });
      });
      plain = await moduleEdits(moduleDir, false, edits, async () => {});
    } finally {
      composeDown(composeDir, env);
    }
  });
  return ahead.map((a, i) => ({
    module: a.seconds,
    moduleOutput: a.output,
    compose: compose[i]!.seconds,
    composeOutput: compose[i]!.output,
    modulePlain: plain[i]!.seconds,
    modulePlainOutput: plain[i]!.output,
  }));
}

type Timed = { seconds: number; output: string };

const editLine = (i: number) => `\n# kept-services edit ${i} ${Date.now()}\n`;

/**
 * A test-stack up with the module's watcher running pytest (its first run untimed), then `edits`
 * edits of web/app.py, each timed from the edit on disk to the watcher's result line; `after(i)`
 * runs after the first run (0) and after each edit's.
 */
async function moduleEdits(moduleDir: string, ahead: boolean, edits: number, after: (i: number) => Promise<void>): Promise<Timed[]> {
  const m = pycroftOn(hostDir(moduleDir));
  const stack = await upTestStack(m, { ahead });
  const watcher = await startWatcher(m, moduleDir, stack.target, PYTEST_ARGS);
  const times: Timed[] = [];
  try {
    await watcher.result(1);
    await after(0);
    for (let i = 1; i <= edits; i++) {
      await readResult();
      const start = performance.now();
      appendFileSync(join(moduleDir, "web/app.py"), editLine(i));
      const { output } = await watcher.result(i + 1);
      times.push({ seconds: (performance.now() - start) / 1000, output });
      console.error(`code edit, services kept up (${i}), module${ahead ? "" : " (a new pytest per run)"}: ${times.at(-1)!.seconds.toFixed(1)} s`);
      await after(i);
    }
  } finally {
    await watcher.stop();
    await stack.stop();
  }
  return times;
}
