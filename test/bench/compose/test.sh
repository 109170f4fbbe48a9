#!/bin/bash
# Runs the application's tests the docker compose way (compose.yaml), overlapping as much as compose
# allows: the app image builds while db and mq start and the service images build and ldap and
# keycloak start; the dummy worker (it runs the app image, on mq) starts once the image is built and mq
# is healthy; pytest runs in a fresh container once every service is healthy, and the services are
# thrown away (killed, as the module does: their data is on tmpfs). Exits with pytest's exit code.
#   bash test/bench/compose/test.sh [PYTEST ARGS…]
# With PYCROFT_COMPOSE_BUILD=0 nothing is built: the images built before are used, as a user does after
# a code-only edit (the source is bind-mounted; only a dependency change needs a new image).
# With PYCROFT_COMPOSE_KEEP=1 it runs as Pycroft's justfile does instead: `docker compose run --rm test`,
# which starts the services the tests depend on unless they are up and healthy, and leaves them up
# for the next run (nothing is built: the source is bind-mounted). `docker compose down` ends them.
# Env: PYCROFT_SOURCE (the application, default ./example), the image variables of compose.yaml;
#   BUILDX_BUILDER: build with `docker buildx bake` on that builder (a docker-container one, as a CI
#   runner's setup-buildx makes) and load the images into the docker daemon.
# Needs Docker Compose v2 and buildx as CLI plugins (tools.sh builds them).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
export PYCROFT_COMPOSE_DIR="$HERE"
PYCROFT_SOURCE="$(cd "${PYCROFT_SOURCE:-$HERE/../../../example}" && pwd)"
export PYCROFT_SOURCE

dc() { docker compose -f "$HERE/compose.yaml" "$@"; }
# build SERVICE…: the services' images, unless PYCROFT_COMPOSE_BUILD=0.
build() {
  if [ "${PYCROFT_COMPOSE_BUILD:-1}" = 0 ]; then
    return 0
  elif [ -n "${BUILDX_BUILDER:-}" ]; then
    # Bake asks for what its builds read outside the working directory.
    (cd "$HERE" && docker buildx bake -f compose.yaml --load --progress plain \
      --allow "fs.read=$PYCROFT_SOURCE" --allow "fs.read=$(cd ../../../dockerfiles/openldap && pwd)" "$@")
  else
    dc build "$@"
  fi
}

if [ -n "${PYCROFT_COMPOSE_KEEP:-}" ]; then
  dc run --rm test "$@"; exit
fi

trap 'dc down --volumes --timeout 0 >/dev/null 2>&1 || true' EXIT
# The project's network, made once before the `up`s below run at once: each makes it when it is
# missing, Docker takes two networks of one name, and every later command then fails ("ambiguous").
dc up --no-start --no-build db >&2
{ build ldap keycloak && dc up --detach --wait --no-build ldap keycloak; } >&2 &
services=$!
dc up --detach --wait --no-build db mq >&2 &
broker=$!
build test >&2 &
app=$!
status=0
wait "$app" || status=$?
wait "$broker" || status=$?
# The dummy worker (the app image, on mq) starts as soon as both are there, while keycloak may still be starting.
[ "$status" -ne 0 ] || dc up --detach --wait --no-build dummy-worker >&2 || status=$?
wait "$services" || status=$?
[ "$status" -eq 0 ] || { echo "test.sh: a build or a service start failed (above)" >&2; exit "$status"; }
dc run --rm --no-deps test "$@"
