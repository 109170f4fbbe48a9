// Says loudly when the e2e suite cannot run, and makes that a failure where it must run (CI).
import { noEngine } from "./engine.js";

export default function setup(): void {
  const reason = noEngine();
  if (!reason) return;
  if (process.env.PYCROFT_E2E_REQUIRED) {
    throw new Error(`e2e tests are required (PYCROFT_E2E_REQUIRED) but cannot run: ${reason}`);
  }
  const line = "!".repeat(100);
  console.warn(`\n${line}\n!! SKIPPING every e2e test: ${reason}\n${line}\n`);
}
