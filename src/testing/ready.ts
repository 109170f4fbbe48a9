import { Container } from "@dagger.io/dagger";

import { script } from "../scripts/index.js";
import { ServiceSpec, startSeconds } from "../services/service.js";
import { PLUGIN_DIR } from "./pytest.js";

/**
 * A test run that waits for its services itself: they start with its pytest process, unchecked by
 * the engine (`awaitedByRun`), and this pytest plugin asks each one as a client would, once pytest
 * has collected and before the first test. pytest's imports and collection then overlap the
 * services' starts instead of following them. One that never answers ends the run with `NOT_READY`.
 */
export const READY_PLUGIN = script("pycroft_ready.py");

/** How a run's output begins the line that names the services that never answered. */
export const NOT_READY = "pycroft-ready: not ready:";

/**
 * What the plugin asks: each service's probe, under its hostname, for as long as it may take to
 * start; for a service only some tests use (`usedBy`, by hostname: paths from the app dir), those
 * tests, before the first of which it is waited for instead of before the first test.
 */
export function readyChecks(specs: ServiceSpec[], usedBy: Readonly<Record<string, readonly string[]>> = {}) {
  return specs.flatMap((spec) =>
    spec.probe ? [{ host: spec.host, seconds: startSeconds(spec), ...spec.probe, ...(usedBy[spec.host] ? { tests: usedBy[spec.host] } : {}) }] : [],
  );
}

/** The plugin in a test container, asking about the services of `specs` (`usedBy`: see `readyChecks`). */
export function awaitingServices(specs: ServiceSpec[], usedBy: Readonly<Record<string, readonly string[]>> = {}) {
  return (c: Container): Container =>
    c
      .withNewFile(`${PLUGIN_DIR}/pycroft_ready.py`, READY_PLUGIN)
      .withEnvVariable("PYTHONPATH", PLUGIN_DIR)
      .withEnvVariable("PYTEST_ADDOPTS", "-p pycroft_ready")
      .withEnvVariable("PYCROFT_READY", JSON.stringify(readyChecks(specs, usedBy)));
}
