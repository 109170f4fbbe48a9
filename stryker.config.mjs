// Mutation testing of the module's code against its unit tests: `npm run mutate`.
// The e2e suite (vitest.e2e.config.ts) needs an engine and is not run here.
import { fileURLToPath } from "node:url";

// The sandbox's src/ is instrumented; the binding tests read the module as written (test/support/introspect.ts).
process.env.PYCROFT_UNINSTRUMENTED_SRC = fileURLToPath(new URL("./src", import.meta.url));

/** @type {import("@stryker-mutator/api/core").PartialStrykerOptions} */
export default {
  mutate: ["src/**/*.ts"],
  testRunner: "vitest",
  vitest: { configFile: "vitest.config.ts" },
  coverageAnalysis: "perTest",
  // Two cores, shared with other work: one test runner per core at most.
  concurrency: 2,
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
