// Mutation testing of the module's code against its unit tests: `npm run mutate`.
// The e2e suite (vitest.e2e.config.ts) needs an engine and is not run here.
/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  mutate: ["src/**/*.ts"],
  testRunner: "vitest",
  // The unit config, less the tests that read src/'s text (see vitest.mutate.config.ts).
  vitest: { configFile: "vitest.mutate.config.ts" },
  coverageAnalysis: "perTest",
  // A static mutant (in a module-level constant: OPTIONS, DEFAULTS, the pattern lists, the scripts'
  // file names) runs the whole suite, a minute each on two shared cores, some 280 of them: they are
  // left out of the run and the score. `npm run mutate -- --ignoreStatic false` runs them too (hours).
  ignoreStatic: true,
  // Two cores, shared with other work: one test runner per core at most.
  concurrency: 2,
  // A run slowed down by other work on the machine is no hang: 15 s of grace on top of 1.5 times
  // the covering tests' time in the initial run.
  timeoutMS: 15000,
  reporters: ["clear-text", "progress", "html"],
  htmlReporter: { fileName: "reports/mutation/index.html" },
  thresholds: { high: 90, low: 80, break: 80 },
  // `npm run mutate -- --incremental` reuses the results of mutants whose code and tests did not change.
  incrementalFile: "reports/mutation/stryker-incremental.json",
  // What the sandbox does not need: caches and the engine's build inputs (hundreds of MB).
  ignorePatterns: [
    "example/.mypy_cache",
    "example/.ruff_cache",
    "example/.venv",
    "example/node_modules",
    "test/engine/standins",
    ".engine-cache",
    "test/.out",
    "dist",
  ],
};
