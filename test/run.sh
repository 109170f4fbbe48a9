#!/usr/bin/env bash
# The module's tests on a fresh machine: npm deps; type check, unit tests, the CI files (actionlint,
# YAML) and the module's scripts (ruff, ShellCheck, their pytest tests) while an engine starts; then
# the e2e tests.
#   bash test/run.sh          the tests (CI: .ci/run)
#   bash test/run.sh main     the main job instead: the example app's suite through the module's `test`
# With Dagger installed, `dagger run bash test/run.sh` uses your engine; otherwise (Debian 12, root)
# test/engine/up.sh builds and starts one here, reusing whatever an earlier run left in its cache.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
. test/engine/lib.sh

# The lock lists every platform's optional packages (rollup's native builds), which `npm ci` of
# npm 10 and 11 both require.
phase "npm ci" npm ci --no-audit --no-fund --prefer-offline --loglevel=error
case "${1:-}" in main | "") ;; *) echo "usage: bash test/run.sh [main]" >&2; exit 64 ;; esac
env_file="$CACHE/client.env"
up_log="$CACHE/up.log"
start_engine() { bash test/engine/up.sh > "$env_file" 2> "$up_log"; }
# use_engine: waits for start_engine, shows its output, and takes its client settings.
use_engine() {
  local status=0
  wait "$engine_job" || status=$?
  cat "$up_log" >&2
  [ "$status" -eq 0 ] || { echo "the engine did not start (exit code $status): see above" >&2; return "$status"; }
  # up.sh's output, the client's settings: nothing to follow.
  # shellcheck source=/dev/null
  . "$env_file"
}
if engine_given; then
  start_engine() { :; }
  use_engine() { :; }
fi

if [ "${1:-}" = main ]; then
  start_engine & engine_job=$!
  phase "engine" use_engine
  # The engine made here only has Debian's Python; on any other engine the default image is used.
  export PYCROFT_PYTHON_IMAGE="${PYCROFT_PYTHON_IMAGE:-python:3.11-slim-bookworm}"
  phase "main job: test on example/" npm run --silent call -- test
  exit
fi

# The engine starts while the type check, the unit tests, the lints and the scripts' tests run: none
# of them needs it. Whatever ends this script waits for that start first, so that a caller stopping
# the engine (.ci/run) never races it.
start_engine & engine_job=$!
trap 'wait "$engine_job" 2>/dev/null || true' EXIT
phase "typecheck" npm run --silent typecheck
phase "unit tests" npm run --silent test:unit
phase "CI files" bash test/ci/lint-ci.sh
phase "scripts: lint" bash test/ci/lint-scripts.sh
phase "scripts: tests" bash test/python/run.sh -q
phase "engine (started beside the steps above)" use_engine
phase "e2e tests" npm run --silent test:e2e
