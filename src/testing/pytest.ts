import { Container, dag, ReturnType, Secret, Service } from "@dagger.io/dagger";

import { DEFAULTS, owner, Settings } from "../config.js";
import { receiver, withReceiver } from "../live/receiver.js";
import { script } from "../scripts/index.js";
import { PYTEST_AHEAD_COMMAND, withPytestAhead } from "./ahead.js";

/** Where the module's pytest plugins live in the test container; on PYTHONPATH so pytest can load them by name. */
export const PLUGIN_DIR = "/usr/local/lib/pycroft-pytest";

/** Where a run leaves junit.xml, coverage.xml, htmlcov/, pytest.log and exit-code. */
export function reportDir(s: Settings): string {
  return `${s.home}/reports`;
}

/**
 * pytest with JUnit XML, and with coverage when asked: Pycroft CI's invocation (XML + HTML coverage of
 * the `--cov` packages given). Its output is teed to a log and its exit code written down, and the
 * exec itself may fail: the reports are wanted most when tests fail.
 */
const PYTEST = script("pytest.sh");

/**
 * pytest as its console script runs it, the process ended once pytest returns, its atexit handlers
 * run and its output flushed: it skips the interpreter's teardown of what the run imported, 1.4 s
 * after collecting Pycroft's suite, with the reports written already. src/scripts/pycroft-pytest.py.
 */
export const PYTEST_RUNNER = script("pycroft-pytest.py");
const RUNNER = `${PLUGIN_DIR}/pycroft-pytest.py`;

/**
 * Where the runner keeps the app's compiled modules between test runs (PYCROFT_BYTECODE), by each
 * source file's path and content hash: a run compiles only what no run before has compiled, as a
 * bind-mounted checkout's __pycache__ would.
 */
const BYTECODE_STORE = "/var/cache/pycroft-bytecode";

/** pytest-cov's targets: the packages given (Pycroft CI's), or the coverage configuration's `source` when none. */
export function coverageArgs(packages: string[]): string[] {
  return packages.length > 0 ? packages.map((p) => `--cov=${p}`) : ["--cov"];
}

/**
 * Runs pytest with the caller's arguments, in a container that has the app, its env and its services;
 * with coverage of the given packages unless `coverage` is undefined. Coverage costs a tracer on every
 * line the tests run and two reports at the end, so only a run that returns its reports measures it.
 */
export function pytest(s: Settings, coverage: string[] | undefined, args: string[], runId: string) {
  const cover = coverage ? ["1", ...coverageArgs(coverage)] : [""];
  return (c: Container): Container =>
    c
      // Part of the exec's cache key: every call really runs the tests.
      .withEnvVariable("PYCROFT_TEST_RUN", runId)
      .withNewFile(RUNNER, PYTEST_RUNNER)
      .withMountedCache(BYTECODE_STORE, dag.cacheVolume(DEFAULTS.bytecodeVolume), { owner: owner(s) })
      .withEnvVariable("PYCROFT_BYTECODE", BYTECODE_STORE)
      .withExec(["bash", "-c", PYTEST, "pytest", RUNNER, reportDir(s), ...cover, ...args], { expect: ReturnType.Any });
}

/**
 * pytest on demand (test-stack): the receiver in the app container, which has the services bound,
 * takes edits and runs pytest with each POST /run's arguments; with `ahead`, each run's pytest is
 * started before it is asked for, its imports from outside the app dir done (see `PYTEST_AHEAD`).
 * It serves nothing else: the dev image's app port goes, as nothing listens there.
 */
export function pytestOnDemand(s: Settings, app: Container, token: Secret, ahead: boolean): Service {
  const served = app.withoutExposedPort(DEFAULTS.port).with(withReceiver(token));
  return ahead
    ? served.with(withPytestAhead).asService({ args: receiver(s, PYTEST_AHEAD_COMMAND, true) })
    : served.asService({ args: receiver(s, ["pytest"]) });
}

/** The last lines of pytest's output: its failures and the summary line. */
export function summary(output: string, lines = 60): string {
  return output.trimEnd().split("\n").slice(-lines).join("\n");
}
