// The e2e suite's required mode (.ci/run sets PYCROFT_E2E_REQUIRED): a skipped test fails the run.
import { afterEach, describe, expect, it, vi } from "vitest";

import NoSkips from "../e2e/no-skips.js";

type Task = Record<string, unknown>;
const test = (name: string, extra: Task = {}): Task => ({ name, mode: "run", result: { state: "pass" }, ...extra });
const file = (...tasks: Task[]) => ({ name: "a.e2e.test.ts", mode: "run", tasks }) as never;

afterEach(() => {
  process.exitCode = undefined;
  vi.restoreAllMocks();
});

describe("NoSkips", () => {
  it("lets a run where every test ran end as it is", () => {
    new NoSkips().onFinished([file(test("a"), { name: "suite", mode: "run", tasks: [test("b")] } as never)]);
    expect(process.exitCode).toBeUndefined();
  });

  it("fails a run with a skipped, todo or skipIf-ed test, naming each, nested suites included", () => {
    const error = vi.spyOn(console, "error").mockImplementation(() => undefined);
    new NoSkips().onFinished([
      file(test("ran"), test("skipped", { mode: "skip" }), { name: "suite", mode: "run", tasks: [test("later", { mode: "todo" }), test("at run time", { result: { state: "skip" } })] } as never),
    ]);
    expect(process.exitCode).toBe(1);
    expect(error.mock.calls[0]![0]).toMatch(/3 e2e test\(s\) skipped.*\n  skipped\n  later\n  at run time$/s);
  });
});
