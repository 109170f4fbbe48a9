import { Container } from "@dagger.io/dagger";

import { script } from "../scripts/index.js";

/**
 * `pytest`, started ahead of its run (test-stack). Started in the app dir, it imports what the last
 * run imported from outside the app dir (the venv's packages: SQLAlchemy, Flask, Faker…), then waits
 * for the run's arguments on stdin, one per line, and runs pytest with them as the `pytest` command
 * would. A run then starts with those imports done: on Pycroft that was 1.6 s of a 6 s run of one
 * test file, spent in every run again although an edit never changes them.
 *
 * Only what imports the same way ahead as in the run is imported ahead. Left to the run:
 * - modules under the app dir (and editable packages there, such as deps/): the run imports them
 *   after the edits it tests;
 * - the packages of pytest plugins (pytest11 entry points) and the plugin modules the last run
 *   loaded: pytest rewrites their asserts as it loads them, which it cannot do once imported;
 * - a module whose import raised a warning (pytest's filters and summary must see it, as in a plain
 *   run), or went on after one of the imports above was refused (it may have taken another path).
 * The record keeps the names of those met, and the process starts again without them, before its
 * run if the run is not there yet (after 5 such starts, the run is the plain `pytest`'s). A changed
 * dependency needs a new stack anyway. The script: src/scripts/pycroft-pytest-ahead.py.
 */
export const PYTEST_AHEAD = script("pycroft-pytest-ahead.py");

const SCRIPT = "/usr/local/bin/pycroft-pytest-ahead.py";
/** Where a run leaves the list of what the next one imports ahead. */
const RECORD = "/tmp/pycroft-pytest-ahead.json";

/** The script in an app container (see `PYTEST_AHEAD`). */
export function withPytestAhead(c: Container): Container {
  return c.withNewFile(SCRIPT, PYTEST_AHEAD);
}

/** The command that starts pytest ahead of a run, in the app dir; the run's arguments go to its stdin. */
export const PYTEST_AHEAD_COMMAND = ["python", SCRIPT, RECORD];
