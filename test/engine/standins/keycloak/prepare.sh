#!/usr/bin/env bash
# Puts the Keycloak server distribution into this build context as keycloak-quarkus-dist.tar.gz
# (git-ignored; build.sh runs this before hashing the context). It comes from Maven Central
# through mvn, since GitHub release downloads are not reachable here; mvn reuses ~/.m2 when the
# artifact is already there. Idempotent: nothing happens when the right file is in place.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
# The version is the Dockerfile's (which checks version.txt against it).
VERSION=$(sed -n 's/^ARG KEYCLOAK_VERSION=//p' "$HERE/Dockerfile")
# sha256 of keycloak-quarkus-dist-26.0.8.tar.gz as Maven Central serves it (its .sha1 is
# d6939c3b290bd900a5cd7d3dfa2f4c95b6bce558); update both lines together.
SHA256=8cf143b894afcf7d3be4549dc5af4790bda63bd471a5ac8e384094fb729e4b15
[ "$VERSION" = 26.0.8 ] || { echo "prepare.sh: set SHA256 for keycloak $VERSION" >&2; exit 1; }
OUT=$HERE/keycloak-quarkus-dist.tar.gz

ok() { [ -s "$OUT" ] && echo "$SHA256  $OUT" | sha256sum -c --status; }
ok && exit 0
command -v mvn >/dev/null || { echo "prepare.sh: mvn is needed to fetch keycloak $VERSION" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# dependency:copy needs no pom; -B/-q keep the output to errors.
(cd "$tmp" && mvn -B -q dependency:copy \
  "-Dartifact=org.keycloak:keycloak-quarkus-dist:$VERSION:tar.gz" -DoutputDirectory="$tmp/out" >&2)
mv "$tmp/out/keycloak-quarkus-dist-$VERSION.tar.gz" "$OUT"
ok || { echo "prepare.sh: $OUT does not have sha256 $SHA256" >&2; rm -f "$OUT"; exit 1; }
echo "prepare.sh: fetched keycloak-quarkus-dist $VERSION" >&2
