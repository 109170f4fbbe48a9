// `npm run bench -- dev`: from an edit on disk to the dev server serving it, for the module's dev
// stack (`npm run dev`: a watcher sends the edit into the running stack) and for compose's dev setup
// (the checkout bind-mounted into the app container, the bundler in watch mode beside flask), on
// copies of the example getting the same edits in the same run.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";

import { DEFAULTS } from "../../src/config.js";
import { PYTHON_IMAGE, scratchCopy } from "../e2e/engine.js";
import { EditTimes, liveEdits, servedAfter, upInChild } from "../support/dev-stack.js";
import { composeBuild, composeEnv, HERE, pruneSupersededImages, sh } from "./compose-peer.js";

export interface DevEditRow {
  edit: keyof EditTimes;
  module: number;
  compose: number;
}

const MODULE_PORT = 15000;
const COMPOSE_PORT = 15500;

/** The dev stack with live edits (`npm run dev`), its app moved off this machine's registry port. */
async function moduleTimes(): Promise<EditTimes> {
  const dir = scratchCopy();
  const stack = await upInChild(["dev-stack", "--sync", `${MODULE_PORT}:${DEFAULTS.port}`], /^dev stack up: /m, {
    PYCROFT_SOURCE: dir,
    PYCROFT_PYTHON_IMAGE: PYTHON_IMAGE,
  });
  try {
    return await liveEdits(dir, `http://localhost:${MODULE_PORT}`);
  } finally {
    await stack.stop();
  }
}

/**
 * compose's `dev-app` + `dev-bundler` on the compose peer's dev image: the checkout bind-mounted over
 * the app dir, the image's installed JS deps and bundle kept in anonymous volumes (as compose keeps
 * them), flask's debug server with the bundler in watch mode beside it.
 */
async function composeTimes(): Promise<EditTimes> {
  const env = composeEnv();
  const dir = scratchCopy();
  // The app user's checkout, as on a developer's machine (the bind mount keeps the host's owner).
  spawnSync("chown", ["-R", `${DEFAULTS.uid}:${DEFAULTS.gid}`, dir]);
  composeBuild(dir, env);
  const name = `pycroft-bench-dev-${randomUUID().slice(0, 8)}`;
  const command = `npm run bundle -- --watch & exec flask run --debug --host=0.0.0.0 --port=${DEFAULTS.port}`;
  sh(
    "docker",
    ["compose", "-f", join(HERE, "compose.yaml"), "run", "-d", "--rm", "--no-deps", "--name", name, "--entrypoint", "sh",
      "-p", `127.0.0.1:${COMPOSE_PORT}:${DEFAULTS.port}`, "-v", `${DEFAULTS.appDir}/node_modules`, "test", "-c", command],
    { ...env, PYCROFT_SOURCE: dir, PYCROFT_COMPOSE_DIR: HERE },
  );
  try {
    await servedAfter(async () => (await fetch(`http://127.0.0.1:${COMPOSE_PORT}/`)).ok);
    return await liveEdits(dir, `http://127.0.0.1:${COMPOSE_PORT}`);
  } finally {
    spawnSync("docker", ["rm", "--force", "--volumes", name], { env });
    pruneSupersededImages(env);
  }
}

/** Both sides, one after the other in the same run. */
export async function devEditRows(): Promise<DevEditRow[]> {
  const module = await moduleTimes();
  const compose = await composeTimes();
  return (["template", "python", "js"] as const).map((edit) => ({ edit, module: module[edit], compose: compose[edit] }));
}

/** The table, ratio module / compose (below 1: the module serves the edit sooner). */
export function printDevEdits(rows: DevEditRow[]): void {
  console.log("\nedit -> served".padEnd(30) + "module ms".padStart(11) + "compose ms".padStart(12) + "module/compose".padStart(16));
  for (const r of rows) {
    console.log(r.edit.padEnd(29) + String(r.module).padStart(11) + String(r.compose).padStart(12) + (r.module / r.compose).toFixed(2).padStart(16));
  }
}
