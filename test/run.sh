#!/usr/bin/env bash
# The module's tests on a fresh machine: npm deps, an engine, then type check + unit tests, the CI
# files (actionlint, YAML), e2e tests.
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
if ! engine_given; then
  env_file="$CACHE/client.env"
  phase "engine" bash -c "bash test/engine/up.sh > '$env_file'"
  . "$env_file"
fi

case "${1:-}" in
  main)
    # The engine made here only has Debian's Python; on any other engine the default image is used.
    export PYCROFT_PYTHON_IMAGE="${PYCROFT_PYTHON_IMAGE:-python:3.11-slim-bookworm}"
    phase "main job: test on example/" npm run --silent call -- test ;;
  "")
    phase "typecheck" npm run --silent typecheck
    phase "unit tests" npm run --silent test:unit
    phase "CI files" bash test/ci/lint-ci.sh
    phase "e2e tests" npm run --silent test:e2e ;;
  *) echo "usage: bash test/run.sh [main]" >&2; exit 64 ;;
esac
