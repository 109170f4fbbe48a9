// The e2e suite asserts the example's exact test count: the number it uses is the example's own.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { EXAMPLE_TESTS } from "../support/example-tests.js";

describe("the example's test count", () => {
  it("is the number of test functions in example/tests (none is parametrized)", () => {
    const files = (readdirSync("example/tests", { recursive: true }) as string[]).filter((f) => /(^|\/)test_.*\.py$/.test(f));
    const texts = files.map((f) => readFileSync(join("example/tests", f), "utf8"));
    expect(texts.some((t) => t.includes("parametrize"))).toBe(false);
    expect(texts.reduce((n, t) => n + (t.match(/^\s*(async )?def test_/gm) ?? []).length, 0)).toBe(EXAMPLE_TESTS);
  });
});
