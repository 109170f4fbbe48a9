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
  docker image ls -q 'pycroft-dagger-engine' | xargs -r docker rmi -f >/dev/null
  docker rmi -f pycroft-registry:2.8 >/dev/null 2>&1 || true
  # The stand-ins (standins/build.sh), their tags for the registry and the bench's compose images.
  docker image ls --format '{{.Repository}}:{{.Tag}}' |
    { grep -E '^(pycroft-standin/|pycroft-compose/|127\.0\.0\.1:5000/)' || true; } | xargs -r docker rmi -f >/dev/null
  chmod -R u+w "$CACHE" 2>/dev/null || true   # the Go module cache is read-only
  find "$CACHE" -mindepth 1 -maxdepth 1 ! -name dockerd.log -exec rm -rf {} +
fi
