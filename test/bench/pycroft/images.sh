#!/bin/bash
# Serves the images Pycroft's docker setup names, built from Debian packages (no container registry
# is reachable here), under those names: in the docker daemon for what compose runs, and in the local
# registry (the builders' mirror of docker.io, ghcr.io and quay.io) for what its Dockerfiles build FROM.
#   dinkel/openldap:2.4.44         standins/openldap (bullseye's slapd 2.4.57, dinkel's interface)
#   rabbitmq:3.8-management        standins/rabbitmq (bullseye's rabbitmq-server 3.8.9)
#   quay.io/keycloak/keycloak:latest  standins/keycloak: the keycloak 26.0 stand-in with /bin/sh as bash
#   ghcr.io/astral-sh/uv:0.9.28    standins/uv (uv and uvx from the 0.9.28 wheel)
#   debian:stable-slim             the Debian trixie rootfs (stable is trixie), for mail.Dockerfile
#   python:3.12-slim-bookworm, postgres:15, debian:bookworm-slim: up.sh's and build.sh's stand-ins.
# Idempotent (build_image skips an image whose inputs did not change). Progress on stderr.
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/../../engine/lib.sh"
REGISTRY="${REGISTRY:-127.0.0.1:5000}"
OUT="$CACHE/bench-pycroft"
mkdir -p "$OUT"

for suite in bullseye trixie; do ROOTFS_SUITE=$suite bash "$ENGINE_DIR/rootfs.sh"; done
in_registry() { curl -fsS -o /dev/null -H "Accept: application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json" "http://$REGISTRY/v2/${1%%:*}/manifests/${1#*:}" 2>/dev/null; }
# push LOCAL REPO:TAG: the image as REGISTRY/REPO:TAG.
push() { docker tag "$1" "$REGISTRY/$2"; docker push -q "$REGISTRY/$2" >&2; }

in_registry library/python:3.12-slim-bookworm || bash "$ENGINE_DIR/standins/build.sh" python312 >&2

build_image pycroft-bench/openldap:bullseye "$HERE/standins/openldap" pycroft-standin/debian-rootfs:bullseye
docker tag pycroft-bench/openldap:bullseye dinkel/openldap:2.4.44
build_image pycroft-bench/rabbitmq:bullseye "$HERE/standins/rabbitmq" pycroft-standin/debian-rootfs:bullseye
docker tag pycroft-bench/rabbitmq:bullseye rabbitmq:3.8-management
build_image pycroft-bench/keycloak:latest "$HERE/standins/keycloak" "$REGISTRY/keycloak/keycloak:26.0"
docker tag pycroft-bench/keycloak:latest quay.io/keycloak/keycloak:latest

# uv from its wheel (pip, the ordinary client), the binaries into the build context.
UV_CTX="$OUT/uv"
if [ ! -x "$UV_CTX/uv" ] || [ "$("$UV_CTX/uv" --version)" != "uv 0.9.28" ]; then
  rm -rf "$UV_CTX" "$OUT/uv-wheel"; mkdir -p "$UV_CTX"
  pip download -q --no-deps --only-binary=:all: --platform manylinux_2_17_x86_64 --python-version 3.12 -d "$OUT/uv-wheel" uv==0.9.28 >&2
  (cd "$OUT/uv-wheel" && python3 -m zipfile -e uv-0.9.28-*.whl x >&2)
  install -m 755 "$OUT"/uv-wheel/x/uv-0.9.28.data/scripts/uv "$OUT"/uv-wheel/x/uv-0.9.28.data/scripts/uvx "$UV_CTX/"
fi
cp "$HERE/standins/uv/Dockerfile" "$UV_CTX/Dockerfile"
build_image pycroft-bench/uv:0.9.28 "$UV_CTX" pycroft-standin/debian-rootfs:bookworm
docker tag pycroft-bench/uv:0.9.28 ghcr.io/astral-sh/uv:0.9.28
in_registry astral-sh/uv:0.9.28 || push pycroft-bench/uv:0.9.28 astral-sh/uv:0.9.28
in_registry library/debian:stable-slim || push pycroft-standin/debian-rootfs:trixie library/debian:stable-slim
echo "images.sh: Pycroft's images are served" >&2
