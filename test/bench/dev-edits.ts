// `npm run bench -- dev`: from an edit on disk to the dev server serving it, for the module's dev
// stack (`npm run dev`: a watcher sends the edit into the running stack) and for compose's dev setup
// (the checkout bind-mounted into the app container, the bundler in watch mode beside flask), on
// copies of the example getting the same edits. Both are up at once; the sides take turns
// (sampleOrder), each round's edits starting once the machine is idle again.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";

import { DEFAULTS, OPTIONS } from "../../src/config.js";
import { PYTHON_IMAGE, scratchCopy } from "../e2e/engine.js";
import { EditTimes, liveEdits, servedAfter, upInChild } from "../support/dev-stack.js";
import { composeBuild, composeEnv, HERE, pruneSupersededImages, sh } from "./compose-peer.js";
import { formatPeerRows, peerRows, Sample, sampleOrder } from "./fair.js";
import { composeContainers, execs, waitIdle } from "./machine.js";

const MODULE_PORT = 15000;
const COMPOSE_PORT = 15500;
const EDITS = ["template", "python", "js"] as const satisfies readonly (keyof EditTimes)[];

/** The dev stack with live edits (`npm run dev`), its app moved off this machine's registry port. */
async function moduleStack(): Promise<{ dir: string; url: string; stop(): Promise<void> }> {
  const dir = scratchCopy();
  const stack = await upInChild(["dev-stack", "--sync", `${MODULE_PORT}:${DEFAULTS.port}`], /^dev stack up: /m, {
    PYCROFT_SOURCE: dir,
    PYCROFT_PYTHON_IMAGE: PYTHON_IMAGE,
  });
  return { dir, url: `http://localhost:${MODULE_PORT}`, stop: stack.stop };
}

/**
 * compose's `dev-app` + `dev-bundler` on the compose peer's dev image: the checkout bind-mounted over
 * the app dir, the image's installed JS deps and bundle kept in anonymous volumes (as compose keeps
 * them), flask's debug server with the bundler in watch mode beside it.
 */
async function composeStack(): Promise<{ dir: string; url: string; stop(): Promise<void> }> {
  const env = composeEnv();
  const dir = scratchCopy();
  // The app user's checkout, as on a developer's machine (the bind mount keeps the host's owner).
  spawnSync("chown", ["-R", `${OPTIONS.uid.default}:${OPTIONS.gid.default}`, dir]);
  composeBuild(dir, env);
  const name = `pycroft-bench-dev-${randomUUID().slice(0, 8)}`;
  const command = `npm run bundle -- --watch & exec flask run --debug --host=0.0.0.0 --port=${DEFAULTS.port}`;
  sh(
    "docker",
    ["compose", "-f", join(HERE, "compose.yaml"), "run", "-d", "--rm", "--no-deps", "--name", name, "--entrypoint", "sh",
      "-p", `127.0.0.1:${COMPOSE_PORT}:${DEFAULTS.port}`, "-v", `${OPTIONS.appDir.default}/node_modules`, "test", "-c", command],
    { ...env, PYCROFT_SOURCE: dir, PYCROFT_COMPOSE_DIR: HERE },
  );
  const stop = async () => {
    spawnSync("docker", ["rm", "--force", "--volumes", name], { env });
    pruneSupersededImages(env);
  };
  try {
    // Each try ends within seconds: a fetch whose connection docker-proxy reset while flask was starting could stay pending.
    await servedAfter(async () => (await fetch(`http://127.0.0.1:${COMPOSE_PORT}/`, { signal: AbortSignal.timeout(5000) })).ok);
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, url: `http://127.0.0.1:${COMPOSE_PORT}`, stop };
}

/** `rounds` rounds of the three edits on each side, in turns: one sample per edit, side and round (seconds). */
export async function devEditRows(rounds: number): Promise<Sample[]> {
  const module = await moduleStack();
  try {
    const compose = await composeStack();
    try {
      const stacks = { module, compose };
      // The two stacks' services stay up: only more execs or containers than now are a build going on.
      await waitIdle({ execs: Infinity, containers: Infinity });
      const limits = { execs: execs().length, containers: composeContainers().length };
      const samples: Sample[] = [];
      for (const [i, pair] of sampleOrder(rounds).entries()) {
        for (const side of pair) {
          const busy = await waitIdle(limits);
          const times = await liveEdits(stacks[side].dir, stacks[side].url);
          for (const edit of EDITS) samples.push({ step: edit, kind: "kept", side, seconds: times[edit] / 1000, unclean: busy && `busy start: ${busy}` });
          console.error(`dev edits (${i + 1}/${rounds}), ${side}: ${EDITS.map((e) => `${e} ${times[e]} ms`).join(", ")}`);
        }
      }
      return samples;
    } finally {
      await compose.stop();
    }
  } finally {
    await module.stop();
  }
}

/** The table: medians (min-max) in seconds and the ratio module / compose (below 1: the module serves the edit sooner). */
export function printDevEdits(samples: Sample[]): void {
  console.log(`\nedit -> served\n${formatPeerRows(peerRows(samples), 2)}`);
}
