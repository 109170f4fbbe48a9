#!/bin/bash
# Build the Dagger CLI, engine and the engine's helper binaries (runc, CNI plugins) from the Go module
# proxy, pinned to the version of the npm SDK. Nothing can be downloaded prebuilt on these machines.
# Output: $CACHE/bin/{dagger,dagger-engine,dagger-init,dial-stdio,dnsname,runc,cni/*}.
# Skips everything when $CACHE/bin/.built matches the versions, this script and gostubs/.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION="v$(dagger_version)"
RUNC_VERSION=v1.4.2   # what upstream's engine image ships for v0.21.x (toolchains/engine-dev/consts)
CNI_VERSION=v1.9.0    # likewise
BIN="$CACHE/bin"
MOD="$CACHE/gomod/dagger-$VERSION"
STAMP="$BIN/.built"
export GOTOOLCHAIN=local GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-buildvcs=false
want_stamp="$VERSION runc=$RUNC_VERSION cni=$CNI_VERSION $(cat "${BASH_SOURCE[0]}" "$ENGINE_DIR"/gostubs/*.go "$ENGINE_DIR"/gostubs/*/*.go "$ENGINE_DIR"/gostubs/*/*/*.go | sha256sum | cut -c1-16)"
built() { [ "$(cat "$STAMP" 2>/dev/null)" = "$want_stamp" ] && [ -x "$BIN/dagger-engine" ]; }
if built; then echo "dagger $VERSION binaries already built in $BIN" >&2; exit 0; fi
# One Go build at a time on $CACHE/go (lib.sh), held to the end; a build-dagger.sh we waited for may
# have built everything.
go_lock
if built; then echo "dagger $VERSION binaries built in $BIN meanwhile" >&2; exit 0; fi
# A Go at least as new as the go.mod `go` lines of what is built here (lib.sh: the machine's, else
# one downloaded from the Go module proxy and checked against the Go checksum database).
ensure_go "$(go_mod_min github.com/dagger/dagger "$VERSION")" \
  "$(go_mod_min github.com/opencontainers/runc "$RUNC_VERSION")" \
  "$(go_mod_min github.com/containernetworking/plugins "$CNI_VERSION")"

# github.com/dagger/dagger cannot be `go install`ed (its go.mod has replace directives), so we make a
# wrapper module that requires it and repeats its replaces with versions the proxy serves.
# The proxy reachable here also lacks a few of its dependencies; gostubs/ (our code) fills those gaps:
#   engine/distconsts (separate module, no version served) -> gostubs/distconsts (same constants)
#   github.com/vito/tuist{,/teav1} (CLI's interactive TUI)  -> gostubs/tuist (compile-only, TUI off)
#   github.com/vito/midterm@<unreleased commit>             -> v0.2.4 + gostubs/midterm_search.go
#   github.com/vito/dang/v2 (Dang v2 module SDK)            -> core/sdk/dang/v2 replaced by gostubs/dangv2_sdk.go
# Go refuses overlays inside GOMODCACHE, so dagger and midterm are copied from the module cache to
# $MOD/src, checked against their zips (lib.sh) and patched there. The module is made in a new dir
# and renamed to $MOD when complete; $MOD/.files lists the sources the build must find.
gen_module() {
  apt_install gcc libc6-dev libseccomp-dev pkg-config unzip   # runc needs cgo + libseccomp; unzip: copy_module_checked
  local info upmod updir mtinfo new
  info=$(go mod download -json "github.com/dagger/dagger@$VERSION")
  upmod=$(jq -r .GoMod <<<"$info"); updir=$(jq -r .Dir <<<"$info")
  mtinfo=$(go mod download -json github.com/vito/midterm@v0.2.4)
  mkdir -p "$(dirname "$MOD")"
  rm -rf "$MOD".new.*   # leftovers of an interrupted run (no other build runs: go_lock)
  new=$(mktemp -d "$MOD.new.XXXXXX"); mkdir "$new/src"
  copy_module_checked "$updir" "$(jq -r .Zip <<<"$info")" "$new/src/dagger"
  copy_module_checked "$(jq -r .Dir <<<"$mtinfo")" "$(jq -r .Zip <<<"$mtinfo")" "$new/src/midterm"
  rm "$new/src/dagger/core/sdk/dang/v2/"*.go
  cp "$ENGINE_DIR/gostubs/dangv2_sdk.go" "$new/src/dagger/core/sdk/dang/v2/sdk.go"
  cp "$ENGINE_DIR/gostubs/midterm_search.go" "$new/src/midterm/search_pycroft.go"
  cp -r "$ENGINE_DIR/gostubs/tuist" "$ENGINE_DIR/gostubs/distconsts" "$new/src/"
  (cd "$new/src" && find . -type f | sed 's|^\./||' | LC_ALL=C sort) >"$new/.files"
  cd "$new"
  go mod init pycroft.local/dagger-build >/dev/null 2>&1
  go mod edit -go="$(go mod edit -json "$upmod" | jq -r .Go)" -require="dagger.io/dagger@$VERSION" \
    -replace=github.com/dagger/dagger=./src/dagger -replace=github.com/vito/midterm=./src/midterm \
    -replace=github.com/vito/tuist=./src/tuist -replace=github.com/vito/tuist/teav1=./src/tuist/teav1
  # Same requirements as upstream (so no resolution happens here), then its replaces.
  go mod edit -json "$upmod" | jq -r '.Require[] | "-require=\(.Path)@\(.Version)"' | xargs go mod edit
  go mod edit -json "$upmod" | jq -r '.Replace[] |
      if .New.Version then "-replace=\(.Old.Path)=\(.New.Path)@\(.New.Version)"
      elif .Old.Path == "dagger.io/dagger" then "-replace=dagger.io/dagger=dagger.io/dagger@'"$VERSION"'"
      elif .Old.Path == "github.com/dagger/dagger/engine/distconsts" then "-replace=\(.Old.Path)=./src/distconsts"
      else error("unhandled local replace \(.Old.Path) => \(.New.Path)") end' | xargs go mod edit
  go mod edit -require="github.com/dagger/dagger@$VERSION"
  # Upstream's go.sum holds sums the checksum DB reachable here does not answer for (e.g. bbolt's
  # pseudo-version); the few missing ones (dagger.io/dagger) are added by `go mod download`.
  cp "$updir/go.sum" go.sum; chmod u+w go.sum
  go mod download dagger.io/dagger
  cd / && rm -rf "$MOD" && mv "$new" "$MOD"
}

# go_build_dagger: the build, failing as a whole (build_checked runs it where `set -e` does not apply).
go_build_dagger() {
  rm -rf "$BIN/.tmp" && mkdir -p "$BIN/.tmp" && cd "$MOD" || return 1
  # Release builds set engine.Version/Tag (else it calls itself a dev build, not v0.21.x);
  # dfexcludepatterns/dfparents enable COPY --exclude/--parents in the Dockerfile frontend.
  CGO_ENABLED=0 go build -trimpath -tags "dfexcludepatterns dfparents" -o "$BIN/.tmp/" \
    -ldflags "-s -w -X github.com/dagger/dagger/engine.Version=$VERSION -X github.com/dagger/dagger/engine.Tag=$VERSION" \
    github.com/dagger/dagger/cmd/{dagger,engine,init,dialstdio,dnsname} || return 1
  mv "$BIN/.tmp/dagger" "$BIN/dagger" && mv "$BIN/.tmp/engine" "$BIN/dagger-engine" &&
    mv "$BIN/.tmp/init" "$BIN/dagger-init" && mv "$BIN/.tmp/dialstdio" "$BIN/dial-stdio" && mv "$BIN/.tmp/dnsname" "$BIN/dnsname"
}

# A build that failed because sources were gone from $MOD/src says which, and runs once more on a new copy.
build_dagger() { build_checked "$MOD/.files" "$MOD/src" gen_module go_build_dagger; }

build_runc_cni() {
  # runc is hard-coded at /usr/local/bin/runc in the engine; Debian's 1.1.5 is older than what dagger
  # 0.21 is built against, so build upstream's pinned version, static, with seccomp.
  GOBIN="$BIN" CGO_ENABLED=1 go install -trimpath -buildmode=pie -tags "seccomp netgo osusergo" \
    -ldflags "-s -w -X main.version=$RUNC_VERSION -linkmode external -extldflags -static-pie" \
    "github.com/opencontainers/runc@$RUNC_VERSION"
  mkdir -p "$BIN/cni"
  local p; for p in main/bridge main/loopback meta/firewall ipam/host-local; do
    GOBIN="$BIN/cni" CGO_ENABLED=0 go install -trimpath -ldflags "-s -w" \
      "github.com/containernetworking/plugins/plugins/$p@$CNI_VERSION"
  done
}

phase "build-dagger: wrapper module" gen_module
phase "build-dagger: go build dagger $VERSION" build_dagger
phase "build-dagger: runc $RUNC_VERSION + CNI $CNI_VERSION" build_runc_cni
echo "$want_stamp" > "$STAMP"
"$BIN/dagger" version >&2 || true
