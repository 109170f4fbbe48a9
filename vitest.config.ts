import { availableParallelism } from "node:os";

import { defineConfig } from "vitest/config";

// One worker per core: vitest's default leaves one core idle (a single worker on a 2-core runner),
// and most of the unit suite's time is its files' imports, which parallelize well.
export default defineConfig({
  test: {
    include: ["test/unit/**/*.test.ts"],
    globalSetup: ["test/support/temp-root.ts"],
    testTimeout: 30000,
    maxWorkers: availableParallelism(),
    minWorkers: 1,
  },
});
