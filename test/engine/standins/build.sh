#!/usr/bin/env bash
# Builds the stand-in images (official image names, made from Debian packages because no
# container registry is reachable here) and pushes them to the local registry that serves
# as the engine's mirror for docker.io and quay.io. A mirror keeps the repository path and only
# swaps the host, so docker.io's python:3.11-slim is ${REGISTRY}/library/python:3.11-slim and
# quay.io/keycloak/keycloak:26.0 is ${REGISTRY}/keycloak/keycloak:26.0.
# A context dir may hold an executable prepare.sh, run first to put files that are not in git
# (downloads) into the context.
# Idempotent: an image is rebuilt only when its build context or the base image changed
# (content hash kept as a label), and a tag is pushed only when the registry doesn't already
# hold that very image (config digest == local image ID).
# Env: REGISTRY (default 127.0.0.1:5000), NO_PUSH=1 to build only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/registry.sh"
BASE=pycroft-standin/debian-rootfs:bookworm

bash "$HERE/../rootfs.sh"

# build-context dir -> the official tags it stands in for, as repository paths in the registry
# (each must say what it holds).
declare -A TAGS=(
  [debian]="library/debian:bookworm-slim library/debian:bookworm"
  [python]="library/python:3.11-slim-bookworm library/python:3.11-slim"
  [postgres]="library/postgres:15-bookworm library/postgres:15"
  [rabbitmq]="library/rabbitmq:3.10-management library/rabbitmq:3-management"
  [keycloak]="keycloak/keycloak:26.0 keycloak/keycloak:26.0.8"
)

# Config digest (= docker's image ID) of this platform's image at REGISTRY/<repo>:<tag>, empty when
# absent or unreachable. A list there (multiarch.sh makes some) counts by its entry for this platform.
remote_id() {
  local digest
  digest=$(manifest_digest "${1%%:*}" "${1#*:}" "$(dpkg --print-architecture)")
  [ -z "$digest" ] || config_digest "${1%%:*}" "$digest"
}

for dir in debian python postgres rabbitmq keycloak; do
  local_ref=pycroft-standin/$dir:latest
  if [ -x "$HERE/$dir/prepare.sh" ]; then "$HERE/$dir/prepare.sh"; fi
  build_image "$local_ref" "$HERE/$dir" "$BASE"
  id=$(docker image inspect -f '{{.Id}}' "$local_ref")
  for tag in ${TAGS[$dir]}; do
    ref=$REGISTRY/$tag
    docker tag "$local_ref" "$ref"
    [ "${NO_PUSH:-}" = 1 ] && continue
    if [ "$(remote_id "$tag")" = "$id" ]; then
      echo "   $ref: already in the registry"
    else
      docker push "$ref"
    fi
  done
done
