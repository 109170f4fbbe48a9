// `npm run bench`: how long the module's main paths take on this engine, with pytest's own time
// beside each test run. Prints numbers; asserts nothing.
//
// "cold" means whatever the engine's cache holds when the bench starts: run it right after
// `bash test/engine/provision.sh down --purge && bash test/engine/provision.sh up` for a truly cold one.
import { connection, Directory } from "@dagger.io/dagger";

import { hostDir, pycroftOn } from "../e2e/engine.js";

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

async function bench(): Promise<Row[]> {
  const rows: Row[] = [];
  const source = hostDir("example");
  const runTests = async (step: string, src: Directory) => {
    const [output, seconds] = await timed(() => pycroftOn(src).test());
    rows.push({ step, seconds, pytestSeconds: pytestTime(output) });
  };
  const buildProd = async (step: string, src: Directory) => {
    const [, seconds] = await timed(async () => (await pycroftOn(src).buildProd()).sync());
    rows.push({ step, seconds });
  };

  await runTests("test (cold)", source);
  await runTests("test, unchanged rerun", source);
  const edited = source.withNewFile("web/bench_edit.py", `EDITED_AT = ${Date.now()}\n`);
  await runTests("test after a one-line code edit", edited);
  const pyproject = await source.file("pyproject.toml").contents();
  const depsChanged = edited.withNewFile("pyproject.toml", pyproject.replace('description = "', `description = "bench ${Date.now()}: `));
  await runTests("test after a dependency change", depsChanged);
  const prodSource = source.withNewFile("web/bench_prod.py", `BUILT_AT = ${Date.now()}\n`);
  await buildProd("build-prod (cold for this source)", prodSource);
  await buildProd("build-prod, warm", prodSource);
  return rows;
}

let rows: Row[] = [];
await connection(async () => {
  rows = await bench();
});
console.log("\nstep".padEnd(42) + "seconds".padStart(10) + "pytest s".padStart(12));
for (const r of rows) {
  console.log(r.step.padEnd(41) + r.seconds.toFixed(1).padStart(10) + (r.pytestSeconds?.toFixed(1) ?? "-").padStart(12));
}
