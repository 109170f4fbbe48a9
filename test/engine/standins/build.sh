#!/usr/bin/env bash
# Builds the stand-in images (official image names, made from Debian packages because no
# container registry is reachable here) and pushes them to the local registry that serves
# as the engine's docker.io mirror: ${REGISTRY}/library/<name>:<tag>.
# Idempotent: an image is rebuilt only when its build context or the base image changed
# (content hash kept as a label), and a tag is pushed only when the registry doesn't already
# hold that very image (config digest == local image ID).
# Env: REGISTRY (default 127.0.0.1:5000), NO_PUSH=1 to build only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
REGISTRY=${REGISTRY:-127.0.0.1:5000}
BASE=pycroft-standin/debian-rootfs:bookworm
LABEL=org.pycroft.standin.hash

bash "$HERE/../rootfs.sh"
base_id=$(docker image inspect -f '{{.Id}}' "$BASE")

# build-context dir -> the official tags it stands in for (each must say what it holds).
declare -A TAGS=(
  [debian]="debian:bookworm-slim debian:bookworm"
  [python]="python:3.11-slim-bookworm python:3.11-slim"
  [postgres]="postgres:15-bookworm postgres:15"
  [rabbitmq]="rabbitmq:3.10-management rabbitmq:3-management"
)

# Config digest of REGISTRY/library/<name>:<tag>, empty when absent or unreachable.
remote_id() {
  curl -fsS -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/library/${1%%:*}/manifests/${1#*:}" 2>/dev/null \
    | tr -d ' \n' | grep -o '"config":{[^}]*}' | grep -o 'sha256:[0-9a-f]*' || true
}

for dir in debian python postgres rabbitmq; do
  local_ref=pycroft-standin/$dir:latest
  hash=$( { echo "$base_id"; cd "$HERE/$dir" && find . -type f -print0 | sort -z | xargs -0 sha256sum; } \
          | sha256sum | cut -c1-32)
  have=$(docker image inspect -f "{{index .Config.Labels \"$LABEL\"}}" "$local_ref" 2>/dev/null || true)
  if [ "$have" = "$hash" ]; then
    echo "== $dir: up to date ($hash)"
  else
    echo "== $dir: building"
    docker build --label "$LABEL=$hash" -t "$local_ref" "$HERE/$dir"
  fi
  id=$(docker image inspect -f '{{.Id}}' "$local_ref")
  for tag in ${TAGS[$dir]}; do
    ref=$REGISTRY/library/$tag
    docker tag "$local_ref" "$ref"
    [ "${NO_PUSH:-}" = 1 ] && continue
    if [ "$(remote_id "$tag")" = "$id" ]; then
      echo "   $ref: already in the registry"
    else
      docker push "$ref"
    fi
  done
done
