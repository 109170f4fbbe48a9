#!/usr/bin/env bash
# Makes the python stand-in a manifest list (amd64 + arm64) like the official image, so that
# multi-platform builds (publish --platform linux/amd64 --platform linux/arm64) have a base.
# docker here builds for its own platform only, so the engine builds the arm64 image under
# qemu-user, from the same Dockerfile on an arm64 Debian rootfs (rootfs.sh arm64); `docker manifest`
# then joins it with the amd64 image that build.sh pushed, whose digest stays as it is.
# Needs the engine (up.sh's client env) and build.sh's images in the registry.
# Idempotent: skips a tag that is already a list whose arm64 image was built from this context.
# Env: REGISTRY (default 127.0.0.1:5000).
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
. "$HERE/../lib.sh"
. "$HERE/registry.sh"
ARCH=arm64
REPO=library/python
TAGS="3.11-slim-bookworm 3.11-slim"

# The inputs hash label of TAG's ARCH image; empty when TAG has none.
arch_hash() {
  local digest
  digest=$(manifest_digest "$REPO" "$1" "$ARCH")
  [ -z "$digest" ] || image_config "$REPO" "$digest" \
    | jq -r --arg arch "$ARCH" --arg l "$INPUTS_LABEL" 'select(.architecture == $arch) | .config.Labels[$l] // empty'
}

archive=$(bash "$HERE/../rootfs.sh" "$ARCH")
hash=$(inputs_hash "$(basename "$archive")" "$HERE/python")

stale=
for tag in $TAGS; do [ "$(arch_hash "$tag")" = "$hash" ] || stale+=" $tag"; done
if [ -z "$stale" ]; then echo "== python (linux/$ARCH): up to date ($hash)"; exit 0; fi

echo "== python (linux/$ARCH): building on the engine"
cd "$REPO_DIR"
# The build talks to the engine through the npm SDK the module pins.
[ -d node_modules/@dagger.io/dagger ] || npm install --no-audit --no-fund --loglevel=error >&2
arm_ref=$(npx tsx test/engine/standins/multiarch.ts \
  "linux/$ARCH" "$archive" "$HERE/python" "$REGISTRY/$REPO:3.11-slim-bookworm-$ARCH" "$INPUTS_LABEL=$hash")
for tag in $stale; do
  amd64=$(manifest_digest "$REPO" "$tag" amd64)
  [ -n "$amd64" ] || { echo "$REGISTRY/$REPO:$tag has no amd64 image: run build.sh first" >&2; exit 1; }
  docker manifest create --insecure --amend "$REGISTRY/$REPO:$tag" "$REGISTRY/$REPO@$amd64" "$arm_ref" >/dev/null
  docker manifest push --insecure --purge "$REGISTRY/$REPO:$tag" >/dev/null
  echo "   $REGISTRY/$REPO:$tag: amd64 + $ARCH"
done
