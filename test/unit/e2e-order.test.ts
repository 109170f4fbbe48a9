// The e2e suite's two lanes: every file has its place in the longest-first order, and the
// sequencer starts them in it.
import { readdirSync } from "node:fs";

import { describe, expect, it } from "vitest";
import type { TestSpecification } from "vitest/node";

import { E2E_ORDER, LongestFirst } from "../e2e/sequencer.js";

const spec = (moduleId: string) => ({ moduleId }) as TestSpecification;

describe("the e2e order", () => {
  it("names every e2e file, and no other", () => {
    const files = readdirSync("test/e2e").filter((name) => name.endsWith(".e2e.test.ts"));
    expect([...E2E_ORDER].sort()).toEqual(files.sort());
  });

  it("starts the files longest first, and a file it does not know last", async () => {
    const sequencer = new LongestFirst({} as ConstructorParameters<typeof LongestFirst>[0]);
    const given = ["/r/test/e2e/errors.e2e.test.ts", "/r/test/e2e/new.e2e.test.ts", "/r/test/e2e/test.e2e.test.ts", "/r/test/e2e/dev.e2e.test.ts", "/r/test/e2e/images.e2e.test.ts", "/r/test/e2e/publish.e2e.test.ts"];
    const sorted = await sequencer.sort(given.map(spec));
    expect(sorted.map((s) => s.moduleId.split("/").pop())).toEqual([
      "publish.e2e.test.ts", "dev.e2e.test.ts", "images.e2e.test.ts", "test.e2e.test.ts", "errors.e2e.test.ts", "new.e2e.test.ts",
    ]);
  });
});
