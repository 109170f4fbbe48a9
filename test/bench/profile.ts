// `npm run bench:profile -- [PATH] [PYTEST_ARG…]` (PATH: ./example by default): where the seconds of one `test` call go, from the
// call's start to its process's end: the session, the project's inspection, each service's start beside
// the image, pytest's exec (its own clock inside it), reading the result, the services' stop and the
// session's close. The same steps as src/testing/run.ts's one-shard run, each timed on its own (so a
// phase that overlaps another in `test` shows its own length here). Prints numbers; asserts nothing.
import { connection } from "@dagger.io/dagger";

import { Context } from "../../src/context.js";
import { pytest, reportDir } from "../../src/testing/pytest.js";
import { suite, testApp } from "../../src/testing/run.js";
import { hostDir, PYTHON_IMAGE } from "../e2e/engine.js";
import { newPycroft, optionsFromEnv } from "../support/module.js";
import { pytestResult } from "./fair.js";

export interface Phase {
  name: string;
  seconds: number;
}

/** Runs `fn`, adding its wall time to `phases` under `name`. */
async function phase<T>(phases: Phase[], name: string, fn: () => Promise<T>): Promise<T> {
  const start = performance.now();
  try {
    return await fn();
  } finally {
    phases.push({ name, seconds: (performance.now() - start) / 1000 });
  }
}

/** One profiled `test` of `source` with `args`: its phases in order, and pytest's own figures. */
export async function profileTest(source: string, args: string[]): Promise<{ phases: Phase[]; pytest?: { seconds: number; count: number; waited: number } }> {
  const phases: Phase[] = [];
  const start = performance.now();
  let output = "";
  let entered = 0;
  await connection(async () => {
    entered = performance.now();
    const env = optionsFromEnv();
    const ctx = new Context(newPycroft(hostDir(source), hostDir("dockerfiles/openldap"), { ...env, pythonImage: env.pythonImage ?? PYTHON_IMAGE }));
    const asked = await phase(phases, "project: inspect the source, versions from git", () => ctx.project().then(() => suite(ctx, { args })));
    // As `test` runs: the services unchecked, pytest waiting for them after its collection.
    const storage = { ...ctx.tmpfs(), awaitedByRun: true };
    const { run, extra, app } = await phase(phases, "stack: environment and service definitions", () => testApp(ctx, asked, storage));
    await phase(phases, "image: the app image (bundle, environment) ready", () => run.image.sync());
    const services = { ...run.services, ...extra };
    const started = await Promise.all(
      Object.entries(services).map(([host, svc]) => phase(phases, `service ${host}: started (its process runs)`, () => svc.start())),
    );
    const ran = app.with(pytest(ctx.settings, undefined, asked.args, storage.runId));
    output = await phase(phases, "pytest: the exec, start to exit", () => ran.stdout());
    await phase(phases, "result: exit code and reports read", async () => {
      await ran.exitCode();
      await ran.directory(reportDir(ctx.settings)).sync();
    });
    await phase(phases, "services: stopped (test does not wait for this)", () => Promise.all(started.map((s) => s.stop({ kill: true }))));
  });
  const end = performance.now();
  phases.unshift({ name: "session: connect until the call runs", seconds: (entered - start) / 1000 });
  phases.push({ name: "whole call, start to session closed", seconds: (end - start) / 1000 });
  const result = pytestResult(output);
  const count = result ? Object.values(result.counts).reduce((a, b) => a + b, 0) : 0;
  // pytestResult leaves the wait out of pytest's time; the profile shows the clock whole, and the wait in it.
  return { phases, pytest: result ? { seconds: result.seconds + result.waited, count, waited: result.waited } : undefined };
}

/** The profile as a table, with pytest's own time beside the exec that holds it. */
export function formatProfile(p: Awaited<ReturnType<typeof profileTest>>): string {
  const lines = p.phases.map((ph) => `${ph.seconds.toFixed(1).padStart(7)} s  ${ph.name}`);
  if (p.pytest) lines.push(`${p.pytest.seconds.toFixed(1).padStart(7)} s  pytest's own clock (${p.pytest.count} tests), inside its exec`);
  if (p.pytest) lines.push(`${p.pytest.waited.toFixed(1).padStart(7)} s  of which its waits for the services`);
  return lines.join("\n");
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const [source = "example", ...args] = process.argv.slice(2);
  console.log(formatProfile(await profileTest(source, args)));
}
