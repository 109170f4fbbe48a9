#!/bin/bash
# Builds the tools of the docker compose peer of `npm run bench -- compose` with Go from the Go module
# proxy, pinned, into $CACHE/compose-peer (test/engine/lib.sh's cache, never the repository):
#   - Docker Compose v2 and buildx, installed as CLI plugins in a docker config dir of their own
#     ($CACHE/compose-peer/docker-config/cli-plugins): the docker config the engine scripts use is
#     left alone;
#   - BuildKit's buildkitd and buildctl, made into an image in the local registry
#     (127.0.0.1:5000/moby/buildkit:VERSION, FROM the Debian stand-in rootfs, with the engine build's
#     runc), for docker-container builders: the "fresh machine with a warm cache" step makes a new
#     one and imports a local cache export into it, as a CI runner with a restored cache does.
# Prints the client environment (DOCKER_CONFIG, the buildkit image) on stdout, progress on stderr.
# Skips what is built already (a stamp with the versions and the build functions' hash; the image is
# rebuilt when its inputs change and pushed when the registry lacks it).
set -euo pipefail
HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
. "$HERE/../../engine/lib.sh"

COMPOSE_VERSION=v2.40.3    # the newest Compose v2 the proxy serves
BUILDX_VERSION=v0.38.2     # the newest buildx; its moby client speaks API 1.40 and up (dockerd here: 1.41)
BUILDKIT_VERSION=v0.34.2   # what buildx $BUILDX_VERSION is built against
REGISTRY="${REGISTRY:-127.0.0.1:5000}"
BUILDKIT_IMAGE="$REGISTRY/moby/buildkit:$BUILDKIT_VERSION"

OUT="$CACHE/compose-peer"
PLUGINS="$OUT/docker-config/cli-plugins"
MOD="$CACHE/gomod"
STAMP="$OUT/.built"
CTX="$OUT/ctx/buildkit"
export GOTOOLCHAIN=local GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-buildvcs=false

print_env() {
  echo "export DOCKER_CONFIG=$OUT/docker-config"
  echo "export PYCROFT_COMPOSE_BUILDKIT_IMAGE=$BUILDKIT_IMAGE"
}

image_in_registry() {
  curl -fsS -o /dev/null -H "Accept: application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json" \
    "http://$REGISTRY/v2/moby/buildkit/manifests/$BUILDKIT_VERSION" 2>/dev/null
}

# wrapper_build NAME MODULE VERSION OUT LDFLAGS PKG...: `go build` of PKG... from MODULE@VERSION.
# `go install MODULE@VERSION` refuses a module whose go.mod has replace or exclude directives (Compose's
# and BuildKit's have excludes), so a wrapper module requires it, takes every requirement of its go.mod
# (the build then resolves exactly upstream's versions) and repeats its excludes and replaces.
wrapper_build() {
  local name="$1" module="$2" version="$3" out="$4" ldflags="$5"; shift 5
  local info upmod updir dir="$MOD/$name-$version"
  info=$(go mod download -json "$module@$version")
  upmod=$(jq -r .GoMod <<<"$info"); updir=$(jq -r .Dir <<<"$info")
  rm -rf "$dir"; mkdir -p "$dir"
  (
    cd "$dir"
    go mod init "pycroft.local/$name-build" >/dev/null 2>&1
    go mod edit -go="$(go mod edit -json "$upmod" | jq -r .Go)" -require="$module@$version"
    go mod edit -json "$upmod" | jq -r '(.Require // [])[] | "-require=\(.Path)@\(.Version)"' | xargs -r go mod edit
    go mod edit -json "$upmod" | jq -r '(.Exclude // [])[] | "-exclude=\(.Path)@\(.Version)"' | xargs -r go mod edit
    go mod edit -json "$upmod" | jq -r '(.Replace // [])[] |
        if .New.Version then "-replace=\(.Old.Path)=\(.New.Path)@\(.New.Version)"
        else error("unhandled local replace \(.Old.Path) => \(.New.Path)") end' | xargs -r go mod edit
    cp "$updir/go.sum" go.sum; chmod u+w go.sum
    # The sums upstream's go.sum does not have (the module itself) are added as the build needs them.
    CGO_ENABLED=0 GOFLAGS="$GOFLAGS -mod=mod" go build -trimpath -ldflags "-s -w $ldflags" -o "$out" "$@"
  )
}

build_compose() {
  mkdir -p "$PLUGINS"
  wrapper_build compose github.com/docker/compose/v2 "$COMPOSE_VERSION" "$PLUGINS/docker-compose" \
    "-X github.com/docker/compose/v2/internal.Version=$COMPOSE_VERSION" github.com/docker/compose/v2/cmd
}

build_buildx() {
  mkdir -p "$PLUGINS"
  wrapper_build buildx github.com/docker/buildx "$BUILDX_VERSION" "$PLUGINS/docker-buildx" \
    "-X github.com/docker/buildx/version.Version=$BUILDX_VERSION -X github.com/docker/buildx/version.Package=github.com/docker/buildx" \
    github.com/docker/buildx/cmd/buildx
}

build_buildkit() {
  rm -rf "$CTX"; mkdir -p "$CTX/bin"
  # Upstream's release tags: static, no cgo; the OCI worker runs runc, which brings seccomp itself.
  wrapper_build buildkit github.com/moby/buildkit "$BUILDKIT_VERSION" "$CTX/bin/" \
    "-X github.com/moby/buildkit/version.Version=$BUILDKIT_VERSION -X github.com/moby/buildkit/version.Package=github.com/moby/buildkit" \
    -tags "osusergo netgo static_build" github.com/moby/buildkit/cmd/buildkitd github.com/moby/buildkit/cmd/buildctl
}

# The image (rebuilt only when its inputs changed) and its push, when the registry lacks it.
buildkit_image() {
  # runc: the one test/engine/build-dagger.sh builds for the engine (static, seccomp).
  [ -x "$CACHE/bin/runc" ] || { echo "no $CACHE/bin/runc: run test/engine/build-dagger.sh (up.sh) first" >&2; return 1; }
  cp "$CACHE/bin/runc" "$CTX/bin/runc"
  cp "$HERE/buildkit.Dockerfile" "$CTX/Dockerfile"
  bash "$ENGINE_DIR/rootfs.sh" >&2
  build_image "$BUILDKIT_IMAGE" "$CTX" pycroft-standin/debian-rootfs:bookworm
  docker push -q "$BUILDKIT_IMAGE" >&2
}

# The Go builds are redone when a version or the way they are built changes.
want_stamp="compose=$COMPOSE_VERSION buildx=$BUILDX_VERSION buildkit=$BUILDKIT_VERSION \
$(declare -f wrapper_build build_compose build_buildx build_buildkit | sha256sum | cut -c1-16)"
if [ "$(cat "$STAMP" 2>/dev/null)" = "$want_stamp" ] && [ -x "$PLUGINS/docker-compose" ] && [ -x "$PLUGINS/docker-buildx" ] \
   && [ -x "$CTX/bin/buildkitd" ] && [ -x "$CTX/bin/buildctl" ]; then
  echo "compose $COMPOSE_VERSION, buildx $BUILDX_VERSION, buildkit $BUILDKIT_VERSION already built in $OUT" >&2
else
  go_lock   # one Go build at a time on $CACHE/go (lib.sh)
  ensure_go "$(go_mod_min github.com/docker/compose/v2 "$COMPOSE_VERSION")" \
    "$(go_mod_min github.com/docker/buildx "$BUILDX_VERSION")" \
    "$(go_mod_min github.com/moby/buildkit "$BUILDKIT_VERSION")"
  phase "compose-peer: docker compose $COMPOSE_VERSION" build_compose
  phase "compose-peer: docker buildx $BUILDX_VERSION" build_buildx
  phase "compose-peer: buildkit $BUILDKIT_VERSION" build_buildkit
  echo "$want_stamp" > "$STAMP"
  go_unlock
  DOCKER_CONFIG="$OUT/docker-config" docker compose version >&2
  DOCKER_CONFIG="$OUT/docker-config" docker buildx version >&2
fi
image_in_registry || phase "compose-peer: buildkit $BUILDKIT_VERSION image" buildkit_image
print_env
