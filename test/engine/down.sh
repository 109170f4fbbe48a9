#!/bin/bash
# Stop the engine and the registry started by up.sh. Volumes (engine cache, registry content),
# images and $CACHE stay unless --purge is given. --purge deletes all of them, the stand-in images and
# their Debian root filesystems included, as on a new machine; it leaves docker itself running.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
remove_container pycroft-dagger-engine
remove_container pycroft-registry
if [ "${1:-}" = --purge ]; then
  docker volume rm -f pycroft-dagger-state pycroft-registry-data >/dev/null
  # The bench's builders and volumes (test/bench: a kept BuildKit builder, compose's home volume).
  docker ps -aq --filter name=buildx_buildkit_pycroft- | xargs -r docker rm -f >/dev/null
  docker volume ls -q | { grep -E '^(buildx_buildkit_pycroft-|pycroft-bench)' || true; } | xargs -r docker volume rm -f >/dev/null
  # The engine's and the registry's images, the stand-ins (standins/build.sh), their tags for the
  # registry and the bench's images (with every other name they carry), by ID: an image built on
  # another (the bench's second engine on this one) cannot go before it, so rounds.
  for _ in 1 2 3 4 5 6; do
    ids=$(docker image ls --format '{{.Repository}}:{{.Tag}} {{.ID}}' |
      { grep -E '^(pycroft-dagger-engine:|pycroft-registry:|pycroft-standin/|pycroft-compose/|pycroft-bench|agdsn/pycroft-|127\.0\.0\.1:5000/)' || true; } | cut -d' ' -f2 | sort -u)
    [ -n "$ids" ] || break
    # shellcheck disable=SC2086 # one ID a word
    docker rmi -f $ids >/dev/null 2>&1 || true
    docker image prune -f >/dev/null
  done
  docker builder prune -af >/dev/null 2>&1   # says the legacy builder is deprecated
  docker volume prune -f >/dev/null   # the anonymous volumes of removed compose containers
  chmod -R u+w "$CACHE" 2>/dev/null || true   # the Go module cache is read-only
  find "$CACHE" -mindepth 1 -maxdepth 1 ! -name dockerd.log -exec rm -rf {} +
fi
