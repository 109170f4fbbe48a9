#!/bin/bash
# Runs a prepared Pycroft copy (prepare.sh) the way Pycroft runs it, with its own files:
#   compose.sh ci [PYTEST_ARG…]   its CI test job: `docker buildx bake --load` of its images, the
#                                 test-app entrypoints (uv sync, bun install), `up --wait` of test-app
#                                 and the services, `bun run bundle --prod`, then
#                                 `run --rm test-app test -m "not legacy" [PYTEST_ARG…]`; then `down`
#                                 (a CI runner throws everything away; here the home volume with the
#                                 venv stays, as on a developer's machine);
#   compose.sh run PYTEST_ARG…    the day-to-day loop: `run --rm test-app test PYTEST_ARG…`, which starts
#                                 the services unless they are up and leaves them up;
#   compose.sh fresh PYTEST_ARG…  tests that use neither keycloak nor the dummy worker, on services
#                                 started for them: `up --wait` of test-db, test-ldap and test-mq (what
#                                 the module starts for such a run), `run --rm --no-deps test-app test
#                                 PYTEST_ARG…`, then `down`;
#   compose.sh down               ends what `run` left up.
# Left out of the CI job: `bun pm ls --all` (debug output) and the reports (--junitxml, --cov…: the
# module's `test` writes none either). Run in the copy (its directory names the compose project).
# `up --wait` waits up to 300 s instead of CI's 60 (keycloak's start-dev alone takes 53 s and more on
# this 2-core machine): a timeout only ends a wait that would fail. PYCROFT_BENCH_WAIT_TIMEOUT sets it.
# Env:
#   DOCKER_CONFIG with buildx and compose (test/bench/compose/tools.sh), BUILDX_BUILDER (a
# docker-container builder whose mirrors serve the images images.sh made).
set -euo pipefail
dc() { docker compose -f docker-compose.test.yml "$@"; }
case "${1:-}" in
  ci)
    shift
    trap 'dc down --timeout 0 >/dev/null 2>&1 || true' EXIT
    docker buildx bake --load --progress plain >&2
    dc run --rm --no-deps test-app >&2
    dc up --quiet-pull --wait --wait-timeout="${PYCROFT_BENCH_WAIT_TIMEOUT:-300}" test-app >&2
    dc run --rm test-app bun run bundle --prod >&2
    dc run --rm test-app test -m "not legacy" "$@"
    ;;
  run) shift; dc run --rm test-app test "$@" ;;
  fresh)
    shift
    trap 'dc down --timeout 0 >/dev/null 2>&1 || true' EXIT
    dc up --quiet-pull --wait --wait-timeout="${PYCROFT_BENCH_WAIT_TIMEOUT:-300}" test-db test-ldap test-mq >&2
    dc run --rm --no-deps test-app test "$@"
    ;;
  down) dc down --timeout 0 ;;
  *) echo "usage: compose.sh ci [PYTEST_ARG…] | run PYTEST_ARG… | fresh PYTEST_ARG… | down" >&2; exit 64 ;;
esac
