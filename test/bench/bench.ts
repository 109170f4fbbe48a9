// `npm run bench`: how long the module's main paths take on this engine, with pytest's own time
// beside each test run. Prints numbers; asserts nothing.
//
// `npm run bench -- test` runs only the test steps, `-- services` each service's time to ready,
// `-- build-prod` only the builds.
//
// Each step is its own session, like a separate `dagger call`. "Cold" is a copy of the example whose
// pyproject is new to the engine; apt and base layers are only truly cold on a fresh engine
// (`bash test/engine/down.sh --purge && eval "$(bash test/engine/up.sh)"`).
import { appendFileSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { connection, Platform } from "@dagger.io/dagger";

import { hostDir, pycroftOn, scratchCopy } from "../e2e/engine.js";

interface Row {
  step: string;
  seconds: number;
  pytestSeconds?: number;
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

async function bench(groups: string[]): Promise<Row[]> {
  const want = (group: string) => groups.length === 0 || groups.includes(group);
  const rows: Row[] = [];
  // Edits happen on disk in a scratch copy, as a developer's would.
  const dir = scratchCopy("example");
  const pyproject = join(dir, "pyproject.toml");
  const touchPyproject = () =>
    writeFileSync(pyproject, readFileSync(pyproject, "utf8").replace('description = "', `description = "bench ${Date.now()}: `));
  // A pyproject the engine has never seen: the dependency and app layers start cold.
  touchPyproject();
  const runTests = async (step: string) => {
    const [output, seconds] = await timed(() => inSession(() => pycroftOn(hostDir(dir)).test()));
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
  if (!want("build-prod")) return rows;
  await buildProd("build-prod (cold)");
  await buildProd("build-prod, warm");
  // The other half of a two-platform release, under qemu-user: apt, uv and the uwsgi compile all emulated.
  await buildProd("build-prod linux/arm64, emulated (cold)", "linux/arm64" as Platform);
  await buildProd("build-prod linux/arm64, emulated, warm", "linux/arm64" as Platform);
  return rows;
}

const rows = await bench(process.argv.slice(2));
console.log("\nstep".padEnd(42) + "seconds".padStart(10) + "pytest s".padStart(12));
for (const r of rows) {
  console.log(r.step.padEnd(41) + r.seconds.toFixed(1).padStart(10) + (r.pytestSeconds?.toFixed(1) ?? "-").padStart(12));
}
