// The compose group's kept-services steps: a one-line code edit tested on services that an earlier run
// left up on both sides, as a developer runs tests again and again. The module: `test-stack` with its
// own watcher (`dagger call watcher`, as `npm run test-watch` runs it: the edit is sent, then pytest
// runs in the stack's app container). Compose: `docker compose run --rm test` as Pycroft's justfile
// runs it (the checkout bind-mounted; the services the tests depend on are up and healthy from the
// first run). Each side is timed from the edit on disk to pytest's result (compose: until its `run`
// has exited and removed its container); the first run of each, which starts the services, is not
// timed. The sides take turns (sampleOrder); each edit is saved 3 s after the last result, once the
// machine is idle again.
import { appendFileSync } from "node:fs";
import { join } from "node:path";

import { connection } from "@dagger.io/dagger";

import type { Pycroft } from "../../src/index.js";
import { hostDir, pycroftOn } from "../e2e/engine.js";
import { readResult, startWatcher, upTestStack } from "../engine/sync.js";
import { composeDown } from "./compose-peer.js";
import { compareRound, pytestResult, Sample, sampleOrder, Side } from "./fair.js";
import { composeContainers, execs, waitIdle } from "./machine.js";

/**
 * pytest as compose.yaml's `test` service runs it (-v, a JUnit file), so both sides do the same work.
 * (The module's `test` runs it the same way.)
 */
const PYTEST_ARGS = ["-v", "--junitxml=/tmp/bench-junit.xml"];

const editLine = (side: Side, i: number) => `\n# kept-services edit ${side} ${i} ${Date.now()}\n`;

export interface KeptStep {
  step: string;
  moduleDir: string;
  composeDir: string;
  samples: number;
  startWith: Side;
  /** test-stack with pytest started ahead of each run (its default), or a new pytest per run. */
  ahead: boolean;
  /** The peer's test.sh in keep mode on the compose copy: pytest's output once its process has ended. */
  composeRun: (label: string) => Promise<string>;
  env: NodeJS.ProcessEnv;
  /** The module on a source directory (default: the e2e images' module, for the example). */
  module?: (dir: string) => Pycroft;
  /** The file each edit appends a line to, relative to the copies (default web/app.py). */
  editFile?: string;
  /** pytest's arguments in the module's stack (default: what compose.yaml's `test` service passes). */
  pytestArgs?: string[];
  /** Ends compose's services kept up (default: the peer's compose.yaml, `down`). */
  composeDown?: () => void;
}

/**
 * `samples` edits on each side, in turns, on a test-stack and on compose's kept services, both up at
 * once; the samples, and the pytest count mismatches between the two sides' runs of each round.
 */
export async function keptEdits(k: KeptStep): Promise<{ samples: Sample[]; mismatches: string[] }> {
  const samples: Sample[] = [];
  const mismatches: string[] = [];
  await connection(async () => {
    const m = k.module ? k.module(k.moduleDir) : pycroftOn(hostDir(k.moduleDir));
    const stack = await upTestStack(m, { ahead: k.ahead });
    try {
      const watcher = await startWatcher(m, k.moduleDir, stack.target, k.pytestArgs ?? PYTEST_ARGS);
      try {
        // The first runs start the services (untimed).
        await watcher.result(1);
        await k.composeRun("kept-first");
        // What stays up between the runs (both stacks' services) is not a build going on.
        await waitIdle({ execs: Infinity, containers: Infinity });
        const limits = { execs: execs().length, containers: composeContainers().length };
        let runs = 1;
        for (const [i, pair] of sampleOrder(k.samples, k.startWith).entries()) {
          const outputs: Partial<Record<Side, string>> = {};
          for (const side of pair) {
            await readResult();
            const busy = await waitIdle(limits);
            const start = performance.now();
            appendFileSync(join(side === "module" ? k.moduleDir : k.composeDir, k.editFile ?? "web/app.py"), editLine(side, i));
            const output = side === "module" ? (await watcher.result(++runs)).output : await k.composeRun(`kept-${i + 1}`);
            const seconds = (performance.now() - start) / 1000;
            outputs[side] = output;
            samples.push({ step: k.step, kind: "kept", side, seconds, pytestSeconds: pytestResult(output)?.seconds, unclean: busy && `busy start: ${busy}` });
            console.error(`${k.step} (${i + 1}/${k.samples}), ${side}: ${seconds.toFixed(1)} s`);
          }
          const mismatch = compareRound(`${k.step}, sample ${i + 1}`, samples.slice(-pair.length), outputs.module!, outputs.compose!);
          if (mismatch) mismatches.push(mismatch);
        }
      } finally {
        await watcher.stop();
      }
    } finally {
      await stack.stop();
      if (k.composeDown) k.composeDown();
      else composeDown(k.composeDir, k.env);
    }
  });
  return { samples, mismatches };
}
