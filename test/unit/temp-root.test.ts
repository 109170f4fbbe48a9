// The run's temporary files are under one directory that the global setup made and its teardown deletes.
import { execFileSync } from "node:child_process";
import { existsSync, mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { basename, dirname, join } from "node:path";

import { describe, expect, it } from "vitest";

import setup, { TEMP_ROOT_PREFIX } from "../support/temp-root.js";

describe("the test run's temporary directory", () => {
  it("is where this worker and the processes it starts make their temporary files", () => {
    const root = process.env.TMPDIR!;
    expect(basename(root).startsWith(TEMP_ROOT_PREFIX)).toBe(true);
    expect(dirname(mkdtempSync(join(tmpdir(), "x-")))).toBe(root);
    expect(dirname(execFileSync("mktemp", { encoding: "utf8" }).trim())).toBe(root);
    expect(dirname(execFileSync("python3", ["-c", "import tempfile; print(tempfile.mkdtemp())"], { encoding: "utf8" }).trim())).toBe(root);
  });

  it("is deleted with everything in it by the teardown, which gives TMPDIR back", () => {
    const outer = process.env.TMPDIR;
    const teardown = setup();
    const root = process.env.TMPDIR!;
    expect(root).not.toBe(outer);
    const inside = mkdtempSync(join(tmpdir(), "deep-"));
    execFileSync("sh", ["-c", 'mkdir -p "$1/a/b" && echo x > "$1/a/b/f"', "sh", inside]);
    teardown();
    expect(existsSync(root)).toBe(false);
    expect(process.env.TMPDIR).toBe(outer);
  });
});
