import { defineConfig } from "vitest/config";

import NoSkips from "./test/e2e/no-skips.js";

// The e2e suite drives a real engine: one file at a time (they share the engine's two cores),
// and timeouts sized for cold image builds.
export default defineConfig({
  test: {
    include: ["test/e2e/**/*.e2e.test.ts"],
    globalSetup: ["test/e2e/setup.ts"],
    fileParallelism: false,
    testTimeout: 30 * 60_000,
    hookTimeout: 30 * 60_000,
    reporters: process.env.PYCROFT_E2E_REQUIRED ? ["default", new NoSkips()] : ["default"],
  },
});
