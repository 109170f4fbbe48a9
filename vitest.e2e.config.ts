import { defineConfig } from "vitest/config";

import NoSkips from "./test/e2e/no-skips.js";
import { LongestFirst } from "./test/e2e/sequencer.js";

// The e2e suite drives a real engine. Two files at a time (PYCROFT_E2E_WORKERS): one file alone
// leaves a third of the engine's two cores idle while services start and health checks wait, and
// the files share no state (each dev stage test is in dev.e2e, the only file with host ports and the
// dev data volumes). The longest files start first, so the two lanes end close together. Timeouts
// are sized for cold image builds.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: ["test/support/temp-root.ts", "test/e2e/setup.ts"],
    fileParallelism: true,
    maxWorkers: Number(process.env.PYCROFT_E2E_WORKERS ?? 2),
    minWorkers: 1,
    sequence: { sequencer: LongestFirst },
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
    reporters: process.env.PYCROFT_E2E_REQUIRED ? ["default", new NoSkips()] : ["default"],
  },
});
