// The compose group's kept-services step: a one-line code edit tested on services that an earlier run
// left up, as a developer runs tests again and again. The module: `test-stack` with the watcher of
// `npm run test-watch` (the edit is sent, then pytest runs in the stack's app container). Compose:
// `docker compose run --rm test` as Pycroft's justfile runs it (the checkout bind-mounted; the services
// the tests depend on are up and healthy from the first run). Each side is timed from the edit on disk
// to pytest's result; the first run of each, which starts the services, is not timed.
import { appendFileSync } from "node:fs";
import { join } from "node:path";

import { connection } from "@dagger.io/dagger";

import { hostDir, pycroftOn } from "../e2e/engine.js";
import { runToEnd, upTestStack, watchAndSync } from "../engine/sync.js";
import { composeDown } from "./compose-peer.js";

/** One edit, tested by both sides: seconds from the edit on disk to the result, and the output. */
export interface KeptEdit {
  module: number;
  compose: number;
  moduleOutput: string;
  composeOutput: string;
}

/**
 * pytest as compose.yaml's `test` service runs it (-v, a JUnit file), so both sides do the same work.
 * (The module's `test` runs it the same way.)
 */
const PYTEST_ARGS = ["-v", "--junitxml=/tmp/bench-junit.xml"];

/**
 * `edits` one-line code edits on each side. `composeRun` runs the peer's test.sh in keep mode on the
 * compose copy and returns pytest's output.
 */
export async function keptEdits(moduleDir: string, composeDir: string, edits: number, composeRun: (step: string) => Promise<string>, env: NodeJS.ProcessEnv): Promise<KeptEdit[]> {
  const results: KeptEdit[] = [];
  await connection(async () => {
    const stack = await upTestStack(pycroftOn(hostDir(moduleDir)));
    let ran: (output: string) => void = () => {};
    const run = async () => ran((await runToEnd(stack.target, PYTEST_ARGS)).output);
    const watcher = watchAndSync(moduleDir, stack.target, () => {}, run);
    try {
      // The first runs start the services (untimed).
      await runToEnd(stack.target, PYTEST_ARGS);
      await composeRun("kept-first");
      for (let i = 1; i <= edits; i++) {
        const edit = `\n# kept-services edit ${i} ${Date.now()}\n`;
        const tested = new Promise<string>((done) => (ran = done));
        const moduleStart = performance.now();
        appendFileSync(join(moduleDir, "web/app.py"), edit);
        const moduleOutput = await tested;
        const module = (performance.now() - moduleStart) / 1000;
        const composeStart = performance.now();
        appendFileSync(join(composeDir, "web/app.py"), edit);
        const composeOutput = await composeRun(`kept-${i}`);
        results.push({ module, compose: (performance.now() - composeStart) / 1000, moduleOutput, composeOutput });
        console.error(`code edit, services kept up (${i}): module ${module.toFixed(1)} s, compose ${results.at(-1)!.compose.toFixed(1)} s`);
      }
    } finally {
      watcher.close();
      await stack.stop();
      composeDown(composeDir, env);
    }
  });
  return results;
}
