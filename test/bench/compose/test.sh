#!/bin/bash
# Runs the application's tests the docker compose way (compose.yaml): builds the images while db and
# mq start, then starts ldap, keycloak and the dummy worker, runs pytest in a fresh container once
# every service is healthy, and throws the services away (killed, as the module does: their data is
# on tmpfs). Exits with pytest's exit code.
#   bash test/bench/compose/test.sh [PYTEST ARGS…]
# Env: PYCROFT_SOURCE (the application, default ./example), the image variables of compose.yaml,
#   PYCROFT_COMPOSE_CACHE_FROM / PYCROFT_COMPOSE_CACHE_TO: build with `docker buildx bake` and these
#   cache import/export specs (type=local,src=DIR / type=local,dest=DIR,mode=max), as a CI job with a
#   restored cache does, on the builder BUILDX_BUILDER names.
# Needs Docker Compose v2 and buildx as CLI plugins (tools.sh builds them).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYCROFT_COMPOSE_DIR="$HERE"
PYCROFT_SOURCE="$(cd "${PYCROFT_SOURCE:-$HERE/../../../example}" && pwd)"
export PYCROFT_SOURCE
BUILT=(test ldap keycloak)   # dummy-worker runs the test image

dc() { docker compose -f "$HERE/compose.yaml" "$@"; }
build() {
  if [ -n "${PYCROFT_COMPOSE_CACHE_FROM:-}${PYCROFT_COMPOSE_CACHE_TO:-}" ]; then
    docker buildx bake -f "$HERE/compose.yaml" --load --progress "${BUILDKIT_PROGRESS:-plain}" \
      ${PYCROFT_COMPOSE_CACHE_FROM:+--set "*.cache-from=$PYCROFT_COMPOSE_CACHE_FROM"} \
      ${PYCROFT_COMPOSE_CACHE_TO:+--set "*.cache-to=$PYCROFT_COMPOSE_CACHE_TO"} "${BUILT[@]}"
  else
    dc build "${BUILT[@]}"
  fi
}

trap 'dc down --volumes --timeout 0 >/dev/null 2>&1 || true' EXIT
build >&2 &
building=$!
dc up --detach --wait --no-build db mq >&2 &
starting=$!
status=0
wait "$building" || status=$?
wait "$starting" || status=$?
[ "$status" -eq 0 ] || { echo "test.sh: the build or the start of db and mq failed" >&2; exit "$status"; }
dc up --detach --wait --no-build ldap keycloak dummy-worker >&2
dc run --rm --no-deps test "$@"
