import { Container, Directory, ReturnType } from "@dagger.io/dagger";

import { Settings } from "../config.js";
import { script } from "../scripts/index.js";
import { PLUGIN_DIR, reportDir } from "./pytest.js";

/** One of N pytest processes, each with its own stack of services: index counts from 1. */
export interface Shard {
  index: number;
  count: number;
}

/**
 * A pytest plugin that keeps this shard's test files and deselects the rest. Every shard collects the
 * whole suite (after -k/-m and the caller's paths), so all of them agree on the split without talking
 * to each other: whole files, largest first, go to the shard with the fewest tests so far. Files stay
 * whole because module-scoped fixtures would otherwise run in several shards.
 */
export const SHARD_PLUGIN = script("pycroft_shard.py");

/**
 * Makes a pytest run one shard of the suite: the plugin, which shard it is, and coverage data kept
 * in the reports directory, where the merge finds it.
 */
export function inShard(s: Settings, shard: Shard) {
  return (c: Container): Container =>
    c
      .withNewFile(`${PLUGIN_DIR}/pycroft_shard.py`, SHARD_PLUGIN)
      .withEnvVariable("PYTHONPATH", PLUGIN_DIR)
      .withEnvVariable("PYTEST_PLUGINS", "pycroft_shard")
      .withEnvVariable("PYCROFT_SHARD", `${shard.index}/${shard.count}`)
      .withEnvVariable("COVERAGE_FILE", `${reportDir(s)}/.coverage`);
}

/** Where the merge reads each shard's reports directory: `${SHARDS_DIR}/1`, `/2`, … */
const SHARDS_DIR = "/tmp/pycroft-shards";

/** Where the merge's scripts are in its container. */
const MERGE_DIR = "/usr/local/lib/pycroft-merge";

/**
 * Merges the shards' JUnit files into one (every test case, counts summed), their logs into one
 * (each under a header), and decides the exit code as one pytest process would: a usage, internal or
 * interrupt error first, then failures; "no tests" (5) only when no shard ran any. Prints the merged
 * log, every shard's FAILED/ERROR lines and a pytest-style total line.
 */
export const MERGE_JUNIT = script("merge-junit.py");

/**
 * Combines the shards' coverage data and reports it as pytest-cov does at the end of one run: the
 * same measured packages as sources (`--cov=PKG`'s; the coverage configuration's when none), the
 * project's coverage configuration, coverage.xml and htmlcov/.
 */
export const MERGE_COVERAGE = script("merge-coverage.py");

/**
 * The merge's shell half: coverage through MERGE_COVERAGE when the shards measured it
 * (PYCROFT_COVERAGE_PACKAGES is set), then JUnit, logs and the exit code through MERGE_JUNIT. A
 * shard without coverage data (e.g. one that never started pytest) is named, not skipped silently;
 * coverage data that cannot be combined fails the run (exit code 3, as pytest's internal error).
 */
const MERGE = script("merge-shards.sh");

/**
 * One report from N shards, in the layout of a single run (junit.xml, coverage.xml and htmlcov/ when
 * the shards measured the coverage of `coverage`'s packages, pytest.log, exit-code), in a container
 * of the app's image without services. Its stdout is the merged log and total; its exit code is the
 * suite's, an internal error's (3) at least when the coverage data could not be combined.
 */
export function mergeShards(s: Settings, coverage: string[] | undefined, reports: Directory[]) {
  return (c: Container): Container => {
    const shards = reports.reduce((acc, dir, i) => acc.withDirectory(`${SHARDS_DIR}/${i + 1}`, dir), c);
    return (coverage ? shards.withEnvVariable("PYCROFT_COVERAGE_PACKAGES", coverage.join(",")) : shards)
      .withNewFile(`${MERGE_DIR}/merge-coverage.py`, MERGE_COVERAGE)
      .withNewFile(`${MERGE_DIR}/merge-junit.py`, MERGE_JUNIT)
      .withNewFile(`${MERGE_DIR}/merge-shards.sh`, MERGE)
      .withExec(["bash", `${MERGE_DIR}/merge-shards.sh`, SHARDS_DIR, reportDir(s), String(reports.length)], { expect: ReturnType.Any });
  };
}
