// ci/github/pycroft.yml's step that turns Sphinx's warning log into GitHub annotations, run as the
// runner runs a `run:` script (bash -eo pipefail, in the checkout), on a log put where the step
// before it exports the module's `docs-log`.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

import { daggerCommands } from "./ci-commands.js";
import { tempDir } from "./run-script.js";
import { stepRun } from "./workflows.js";

const WORKFLOW = fileURLToPath(new URL("../../ci/github/pycroft.yml", import.meta.url));
export const ANNOTATION_STEP = "Render sphinx warnings as annotations";

/** Where the workflow exports `docs-log`: the `--path` of its `docs-log export` call. */
export function exportedLog(text = readFileSync(WORKFLOW, "utf8")): string {
  const calls = daggerCommands(text).commands.filter((c) => c.args.includes("docs-log"));
  if (calls.length !== 1) throw new Error(`expected one docs-log call in the workflow, found ${calls.length}`);
  const args = calls[0].args;
  const path = args[args.indexOf("--path") + 1];
  if (!args.includes("export") || !path) throw new Error(`docs-log is not exported to a path: ${args.join(" ")}`);
  return path;
}

export interface Annotated {
  status: number | null;
  /** The annotation lines, one per element (the runner reads each `::` line of stdout). */
  lines: string[];
  stderr: string;
}

/** Runs the workflow's annotation step on `log`, as the runner would after the docs-log step. */
export function annotate(log: string): Annotated {
  const text = readFileSync(WORKFLOW, "utf8");
  const dir = tempDir("sphinx-annotations");
  const path = join(dir, exportedLog(text));
  mkdirSync(dirname(path), { recursive: true });
  writeFileSync(path, log);
  writeFileSync(join(dir, "step.sh"), stepRun(text, ANNOTATION_STEP));
  const r = spawnSync("bash", ["--noprofile", "--norc", "-eo", "pipefail", "step.sh"], { cwd: dir, encoding: "utf8" });
  return { status: r.status, lines: r.stdout.split("\n").filter(Boolean), stderr: r.stderr };
}
