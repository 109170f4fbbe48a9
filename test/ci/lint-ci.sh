#!/usr/bin/env bash
# Lints the CI files so they cannot rot: actionlint on every GitHub workflow (.github/workflows and
# ci/github), with ShellCheck on their run: scripts, and every YAML file under .github/ and ci/ must
# parse (duplicate keys included).
# The tools are built with Go from the Go module proxy into $CACHE/ci-tools, once per version (Go
# itself: ensure_go in test/engine/lib.sh).
# (That the `dagger` lines in them name real functions and flags is test/unit/ci-files.test.ts.)
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. test/engine/lib.sh

ACTIONLINT_VERSION=v1.7.12
TOOLS="$CACHE/ci-tools"
export GOTOOLCHAIN=local GOMODCACHE="$CACHE/go/mod" GOCACHE="$CACHE/go/build" GOFLAGS=-buildvcs=false

actionlint="$TOOLS/actionlint-$ACTIONLINT_VERSION/actionlint"
# test/ci/yamlcheck (our code, gopkg.in/yaml.v3): rebuilt when its sources change.
yc_hash=$(cat test/ci/yamlcheck/go.mod test/ci/yamlcheck/go.sum test/ci/yamlcheck/*.go | sha256sum | cut -c1-16)
yamlcheck="$TOOLS/yamlcheck-$yc_hash/yamlcheck"

# Go only when something is built, one Go build at a time on $CACHE/go (lib.sh's go_lock): up.sh's
# build-dagger.sh may be building beside this. Then a Go at least as new as their go.mod `go` lines
# (lib.sh: the machine's, else one downloaded from the Go module proxy and checked against the
# checksum database).
if [ ! -x "$actionlint" ] || [ ! -x "$yamlcheck" ]; then go_lock; fi
need_go=()
[ -x "$actionlint" ] || need_go+=("$(go_mod_min github.com/rhysd/actionlint "$ACTIONLINT_VERSION")")
[ -x "$yamlcheck" ] || need_go+=("$(sed -n 's/^go[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' test/ci/yamlcheck/go.mod)")
[ ${#need_go[@]} -eq 0 ] || ensure_go "${need_go[@]}"

if [ ! -x "$actionlint" ]; then
  echo "building actionlint $ACTIONLINT_VERSION" >&2
  GOBIN="$(dirname "$actionlint")" CGO_ENABLED=0 go install -trimpath \
    "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
fi
if [ ! -x "$yamlcheck" ]; then
  echo "building yamlcheck" >&2
  (cd test/ci/yamlcheck && CGO_ENABLED=0 go build -trimpath -o "$yamlcheck" .)
  find "$TOOLS" -maxdepth 1 -name 'yamlcheck-*' ! -name "yamlcheck-$yc_hash" -exec rm -rf {} +
fi

go_unlock

shopt -s nullglob
workflows=(.github/workflows/*.yml .github/workflows/*.yaml ci/github/*.yml ci/github/*.yaml)
mapfile -t yamls < <(find .github ci -type f \( -name '*.yml' -o -name '*.yaml' \) | sort)
[ ${#workflows[@]} -gt 0 ] || { echo "lint-ci: no workflow files found" >&2; exit 1; }

# The pinned ShellCheck (lib.sh), not whichever the machine may have.
ensure_shellcheck
status=0
"$actionlint" -no-color -shellcheck "$(command -v shellcheck)" "${workflows[@]}" || status=1
"$yamlcheck" "${yamls[@]}" || status=1
[ "$status" -eq 0 ] || { echo "lint-ci: the CI files above have problems" >&2; exit 1; }
echo "actionlint $ACTIONLINT_VERSION: ${#workflows[@]} workflow files clean, with shellcheck $SHELLCHECK_DEB_VERSION; yaml: ${#yamls[@]} files parse"
