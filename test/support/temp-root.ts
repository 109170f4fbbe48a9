// Vitest's global setup for both suites: every temporary file of a run goes under one directory of
// its own (TMPDIR, which node's tmpdir(), Python's tempfile and mktemp all follow, in the test workers
// and every process they start), and the teardown deletes it. The suites make thousands of them:
// stand-in scripts, scratch copies of the example, exported images and reports.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/** The name the run's temporary directory starts with (under the system's). */
export const TEMP_ROOT_PREFIX = "pycroft-tests-";

export default function setup(): () => void {
  const outer = process.env.TMPDIR;
  const root = mkdtempSync(join(tmpdir(), TEMP_ROOT_PREFIX));
  process.env.TMPDIR = root;
  return () => {
    rmSync(root, { recursive: true, force: true });
    if (outer === undefined) delete process.env.TMPDIR;
    else process.env.TMPDIR = outer;
  };
}
