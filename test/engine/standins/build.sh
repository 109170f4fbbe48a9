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
# Args: the context dirs to build (default: the ones up.sh needs, DEFAULT below); others are built
# only when named, e.g. `build.sh python-trixie` or `build.sh python312`.
# Env: REGISTRY (default 127.0.0.1:5000), NO_PUSH=1 to build only.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/registry.sh"

DEFAULT=(debian python postgres rabbitmq keycloak)
DIRS=("$@")
[ $# -gt 0 ] || DIRS=("${DEFAULT[@]}")

# build-context dir -> the official tags it stands in for, as repository paths in the registry
# (each must say what it holds).
declare -A TAGS=(
  [debian]="library/debian:bookworm-slim library/debian:bookworm"
  [python]="library/python:3.11-slim-bookworm library/python:3.11-slim"
  [postgres]="library/postgres:15-bookworm library/postgres:15"
  [rabbitmq]="library/rabbitmq:3.10-management library/rabbitmq:3-management"
  [keycloak]="keycloak/keycloak:26.0 keycloak/keycloak:26.0.8"
  # Not in DEFAULT: nothing here uses it by default, and CI time matters.
  [python-trixie]="library/python:3.13-slim-trixie library/python:3.13-slim"
  # Not in DEFAULT either: CPython 3.12.1 from the machine's pyenv build (prepare.sh).
  [python312]="library/python:3.12-slim-bookworm library/python:3.12-slim library/python:3.12.1-slim-bookworm"
)

# The Debian release (rootfs.sh's rootfs image) a context is built FROM, bookworm unless listed.
# It must match the FROM in the context's Dockerfile: it only goes into the rebuild hash here.
declare -A SUITE=(
  [python-trixie]=trixie
)
for dir in "${DIRS[@]}"; do
  [ -n "${TAGS[$dir]:-}" ] || { echo "build.sh: no stand-in '$dir' (have: ${!TAGS[*]})" >&2; exit 2; }
done
# Each rootfs once, for the suites the chosen contexts need.
for suite in $(for dir in "${DIRS[@]}"; do echo "${SUITE[$dir]:-bookworm}"; done | sort -u); do
  ROOTFS_SUITE=$suite bash "$HERE/../rootfs.sh"
done

# Config digest (= docker's image ID) of this platform's image at REGISTRY/<repo>:<tag>, empty when
# absent or unreachable. A list there (multiarch.sh makes some) counts by its entry for this platform.
remote_id() {
  local digest
  digest=$(manifest_digest "${1%%:*}" "${1#*:}" "$(dpkg --print-architecture)")
  [ -z "$digest" ] || config_digest "${1%%:*}" "$digest"
}

for dir in "${DIRS[@]}"; do
  local_ref=pycroft-standin/$dir:latest
  if [ -x "$HERE/$dir/prepare.sh" ]; then "$HERE/$dir/prepare.sh"; fi
  build_image "$local_ref" "$HERE/$dir" "pycroft-standin/debian-rootfs:${SUITE[$dir]:-bookworm}"
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
