// Where the e2e suite must run (PYCROFT_E2E_REQUIRED, as in CI), a skipped test is a failure: a
// required run that skips proves less than it says.
import type { Reporter, RunnerTask, RunnerTestFile } from "vitest/node";

function skipped(task: RunnerTask): string[] {
  if ("tasks" in task) return task.tasks.flatMap(skipped);
  return task.mode === "skip" || task.mode === "todo" || task.result?.state === "skip" ? [task.name] : [];
}

export default class NoSkips implements Reporter {
  onFinished(files: RunnerTestFile[] = []): void {
    const names = files.flatMap(skipped);
    if (names.length === 0) return;
    console.error(`\nPYCROFT_E2E_REQUIRED: ${names.length} e2e test(s) skipped, which a required run must not:\n  ${names.join("\n  ")}`);
    process.exitCode = 1;
  }
}
