#!/bin/bash
# Makes a scratch copy of a Pycroft checkout that Pycroft's own docker setup (docker-compose.*.yml,
# docker/*.Dockerfile, `docker buildx bake`) can build and run on this machine, changing only what
# cannot work here; the checkout itself is only read.
#   bash test/bench/pycroft/prepare.sh PYCROFT_CHECKOUT DEST
# The changes (docs/measurements.md lists them; test/unit/bench-pycroft.test.ts checks that a fixture
# gets exactly these):
#   1. docker/base/etc/apt/sources.list: the main archive's lines (…/debian) point at the Debian mirror
#      this machine's apt uses (Pycroft's mirror is unreachable here); the security lines stay;
#   2. docker/{base,db,dev}.Dockerfile: the first line's `# syntax=docker/dockerfile:…` is dropped (that
#      frontend image is on Docker Hub): the builder's own Dockerfile frontend parses them;
#   3. docker/base.Dockerfile: ENV UV_NATIVE_TLS=1 and NODE_EXTRA_CA_CERTS (this machine's HTTPS is
#      re-signed by a CA that only the system store holds: uv and bun trust their bundled roots);
#   4. docker/dev.Dockerfile: the `bunzipper` stage takes bun 1.1.26 from its npm package
#      (@oven/bun-linux-x64-baseline, the same binary: Pycroft's sha256 check is kept as is) on
#      debian:bookworm-slim with curl, instead of the GitHub release on alpine with apk;
#   5. docker/dev/container/hooks/init/10_venv: `uv sync` leaves out guzzle-sphinx-theme (a docs-only
#      git dependency on GitHub), as the module's --no-install-package does;
#   6. docker-compose.base.yml: db is built with POSTGRES_TAG=15, the major the module runs;
#   7. docker-compose.base.yml: keycloak's health check has a start period of 120 s instead of 30 s
#      (its start-dev takes 53 s and more on this 2-core machine, past 30 s and the 5 retries 10 s
#      apart), db's one of 60 s instead of none (its initdb, beside keycloak's start, took longer than
#      3 checks 2 s apart); failures in a start period do not count, a passing check counts at once.
# Env: PYCROFT_APT_MIRROR (default: the first non-security URI of this machine's apt sources),
#   PYCROFT_BUN_TARBALL (default: what `npm view` gives for the package's dist.tarball).
# The edits below are Perl expressions, in single quotes so that the shell leaves their $1 alone.
# shellcheck disable=SC2016
set -euo pipefail
[ $# -eq 2 ] || { echo "usage: prepare.sh PYCROFT_CHECKOUT DEST" >&2; exit 64; }
SRC=$1 DEST=$2
[ -f "$SRC/docker-compose.base.yml" ] || { echo "prepare.sh: $SRC is not a Pycroft checkout" >&2; exit 1; }
[ ! -e "$DEST" ] || { echo "prepare.sh: $DEST exists" >&2; exit 1; }

BUN_PACKAGE=@oven/bun-linux-x64-baseline@1.1.26
mirror() {
  [ -z "${PYCROFT_APT_MIRROR:-}" ] || { echo "$PYCROFT_APT_MIRROR"; return; }
  local m
  m=$(awk '$1=="URIs:" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$m" ] || m=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  echo "$m"
}
APT_MIRROR=$(mirror)
BUN_TARBALL=${PYCROFT_BUN_TARBALL:-$(npm view "$BUN_PACKAGE" dist.tarball)}
[[ $APT_MIRROR =~ ^https?://[^[:space:]]+/debian$ ]] || { echo "prepare.sh: not a Debian mirror: '$APT_MIRROR'" >&2; exit 1; }
[[ $BUN_TARBALL =~ ^https?://[^[:space:]\"]+\.tgz$ ]] || { echo "prepare.sh: not a tarball URL: '$BUN_TARBALL'" >&2; exit 1; }

cp -a "$SRC" "$DEST"
cd "$DEST"

# edit FILE PERL_EXPR: applies the substitution to FILE; fails when it changed nothing (Pycroft moved on).
# edit FILE PERL_EXPR
edit() {
  local file=$1 expr=$2 before
  before=$(sha256sum "$file")
  perl -0pi -e "$expr" "$file"
  [ "$(sha256sum "$file")" != "$before" ] || { echo "prepare.sh: $file: no match for $expr" >&2; exit 1; }
}

# 1
edit docker/base/etc/apt/sources.list "s#^(deb(?:-src)?\\s+)\\S+/debian(?=\\s)#\${1}$APT_MIRROR#mg"
# 2
for f in docker/base.Dockerfile docker/db.Dockerfile docker/dev.Dockerfile; do
  edit "$f" 's/\A# syntax=docker\/dockerfile:\S+\n//'
done
# 3
edit docker/base.Dockerfile 's/^(ENV LANG=C\.UTF-8 DEBIAN_FRONTEND=noninteractive)$/$1\nENV UV_NATIVE_TLS=1 NODE_EXTRA_CA_CERTS=\/etc\/ssl\/certs\/ca-certificates.crt/m'
# 4: the stage up to the next FROM, with Pycroft's checksum of the binary.
sha=$(perl -0ne 'print $1 if /^FROM alpine\S* AS bunzipper\n.*?echo "([0-9a-f]{64})  \/opt\/bun"/ms' docker/dev.Dockerfile)
[ -n "$sha" ] || { echo "prepare.sh: docker/dev.Dockerfile: no bunzipper stage with a sha256 of /opt/bun" >&2; exit 1; }
export STAGE="FROM debian:bookworm-slim AS bunzipper
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
    --mount=type=cache,target=/var/lib/apt,sharing=locked \\
    apt-get update && apt-get install -y --no-install-recommends curl ca-certificates
RUN <<EOF bash
    set -euo pipefail
    curl -sSfL $BUN_TARBALL | tar -xzf - -C /tmp package/bin/bun
    install -D /tmp/package/bin/bun /opt/bun
    echo \"$sha  /opt/bun\" \\
        | sha256sum -c -
EOF
"
edit docker/dev.Dockerfile 's/^FROM alpine\S* AS bunzipper\n.*?\nEOF\n/$ENV{STAGE}/ms'
# 5
edit docker/dev/container/hooks/init/10_venv 's/^(\s*uv sync --active --locked)$/$1 --no-install-package guzzle-sphinx-theme/m'
# 6
edit docker-compose.base.yml 's/^(      dockerfile: \.\.\/db\.Dockerfile\n)/$1      args:\n        - POSTGRES_TAG=15\n/m'
# 7
edit docker-compose.base.yml 's/(^  keycloak:\n(?:(?!  \S).*\n)*?      start_period: )30s$/${1}120s/m'
edit docker-compose.base.yml 's/^(      test: pg_isready -U postgres\n)/$1      start_period: 60s\n/m'
echo "prepare.sh: $DEST"
