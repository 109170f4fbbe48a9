#!/bin/bash
# check-go.sh [--lint-ci] [--keep]: proves that ensure_go (lib.sh) gets Go on a machine without one,
# in a scratch cache ($PYCROFT_CHECK_GO_DIR, default /tmp/pycroft-check-go; the real cache is not
# touched) and a clean environment (env -i, PATH=/usr/sbin:/usr/bin:/sbin:/bin, Go settings and
# proxy variables passed through, PYCROFT_GO_LOCAL_ROOT= so /usr/local/go is ignored):
#   1. an old `go` on PATH (a go1.19.8 stand-in, Debian 12's) is passed over and Go $GO_VERSION is
#      downloaded from the Go module proxy, checked against the checksum database; `go version`;
#   2. the second call uses the cache, without downloading;
#   3. a cached zip with corrupt bytes, and one that unpacks but is not Go (a fake bin/go), are
#      detected and downloaded again (here from a local copy of the good zip);
#   4. a proxy serving that fake zip is refused, and so is a forged checksum database answer for
#      it (record changed: inclusion proof; tree head changed: signature); GOSUMDB=off is refused;
#   --lint-ci: then test/ci/lint-ci.sh builds actionlint and yamlcheck with that Go, from scratch.
# Prints PASS/FAIL per check; exits 1 if any failed. Downloads ~70 MB: not part of CI.
set -uo pipefail
ENGINE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$ENGINE_DIR/../.." && pwd)"
SCRATCH="${PYCROFT_CHECK_GO_DIR:-/tmp/pycroft-check-go}"
lint_ci=0 keep=0
for a in "$@"; do case "$a" in --lint-ci) lint_ci=1 ;; --keep) keep=1 ;; *) echo "usage: $0 [--lint-ci] [--keep]" >&2; exit 2 ;; esac; done
[ "$SCRATCH" != / ] && rm -rf "$SCRATCH" && mkdir -p "$SCRATCH" || exit 2
PYCROFT_ENGINE_CACHE="$SCRATCH/unused" . "$ENGINE_DIR/lib.sh"; rm -rf "$SCRATCH/unused"
case "$(uname -m)" in x86_64) arch=amd64 ;; aarch64|arm64) arch=arm64 ;; *) arch=$(uname -m) ;; esac
MODVER="v0.0.1-go$GO_VERSION.linux-$arch"
REAL_PROXY=$(go_env GOPROXY https://proxy.golang.org,direct)

failed=0
pass() { echo "PASS: $*"; }
fail() { echo "FAIL: $*"; failed=1; }
# pathless CACHE_DIR EXTRA_PATH SCRIPT [VAR=VALUE...]: bash -c SCRIPT in the repo, in a clean environment.
pathless() {
  local cache="$1" extra="$2" script="$3" v pass_env=(); shift 3
  for v in GOPROXY GOSUMDB GONOSUMDB GOPRIVATE GOENV GOFLAGS http_proxy https_proxy HTTP_PROXY HTTPS_PROXY \
           no_proxy NO_PROXY SSL_CERT_FILE CURL_CA_BUNDLE PYCROFT_GO_VERSION; do
    [ -n "${!v:-}" ] && pass_env+=("$v=${!v}")
  done
  (cd "$REPO_DIR" && env -i PATH="${extra:+$extra:}/usr/sbin:/usr/bin:/sbin:/bin" HOME="${HOME:-/root}" \
     PYCROFT_ENGINE_CACHE="$cache" PYCROFT_GO_LOCAL_ROOT= "${pass_env[@]}" "$@" bash -c "$script")
}
ENSURE='. test/engine/lib.sh && ensure_go && go version && command -v go'
C="$SCRATCH/cache"; T="$C/go-toolchain"; ROOT="$T/go$GO_VERSION.linux-$arch"

# 1. fresh machine: only Debian's old Go on PATH.
mkdir -p "$SCRATCH/oldgo"
cat >"$SCRATCH/oldgo/go" <<OLDGO
#!/bin/sh
# stand-in for Debian 12's golang-go: go1.19.8, no settings of its own (go env prints empty values)
case "\$1 \$2" in "env GOVERSION") echo go1.19.8 ;; env*) echo ;; *) echo "go version go1.19.8 linux/$arch" ;; esac
OLDGO
chmod +x "$SCRATCH/oldgo/go"
start=$SECONDS
out=$(pathless "$C" "$SCRATCH/oldgo" "$ENSURE" 2>"$SCRATCH/1.err"); rc=$?
cat "$SCRATCH/1.err"; echo "$out"
if [ $rc -eq 0 ] && grep -qx "go version go$GO_VERSION linux/$arch" <<<"$out" && grep -qx "$ROOT/bin/go" <<<"$out" &&
   grep -q "not using $SCRATCH/oldgo/go: go1.19.8 is older" "$SCRATCH/1.err" &&
   grep -q "downloading .*/golang.org/toolchain/@v/$MODVER.zip" "$SCRATCH/1.err" &&
   grep -q "checked against" "$SCRATCH/1.err"; then
  pass "no usable Go: go$GO_VERSION downloaded, checked and used ($((SECONDS - start))s, $(du -sh "$T" | cut -f1) in $T)"
else fail "fresh download (exit $rc)"; fi
[ -x "$ROOT/bin/go" ] || { echo "FAIL: nothing to go on with"; exit 1; }
[ "$keep" = 1 ] || trap 'rm -rf "$SCRATCH"' EXIT

# 2. cached.
start=$SECONDS
out=$(pathless "$C" "" "$ENSURE" 2>"$SCRATCH/2.err"); rc=$?
cat "$SCRATCH/2.err"
if [ $rc -eq 0 ] && grep -qx "go version go$GO_VERSION linux/$arch" <<<"$out" && ! grep -q downloading "$SCRATCH/2.err"; then
  pass "second call uses the cache ($((SECONDS - start))s)"
else fail "cached call (exit $rc)"; fi

# The good zip, served by a local proxy for the re-downloads; a fake one (unpacks, is not Go).
good="$SCRATCH/good/golang.org/toolchain/@v"; fake="$SCRATCH/fake/golang.org/toolchain/@v"
mkdir -p "$good" "$fake" && cp "$T/go$GO_VERSION.linux-$arch.zip" "$good/$MODVER.zip"
python3 - "$fake/$MODVER.zip" "golang.org/toolchain@$MODVER" "$GO_VERSION" "$arch" <<'PY'
import sys, zipfile
path, top, ver, arch = sys.argv[1:]
with zipfile.ZipFile(path, "w") as z:
    for name, body in [("bin/go", f"#!/bin/sh\necho go version go{ver} linux/{arch}\n"), ("pkg/tool/x", ""), ("src/_go.mod", "module std\n")]:
        info = zipfile.ZipInfo(f"{top}/{name}"); info.external_attr = 0o755 << 16
        z.writestr(info, body)
PY

# 3. corrupt cached zips: downloaded again.
for how in bytes fake; do
  rm -rf "$ROOT" "$ROOT.verified"
  if [ "$how" = bytes ]; then printf 'corrupt!' | dd of="$ROOT.zip" bs=1 seek=30000000 conv=notrunc status=none
  else cp "$fake/$MODVER.zip" "$ROOT.zip"; fi
  out=$(pathless "$C" "" "$ENSURE" GOPROXY="file://$SCRATCH/good,$REAL_PROXY" 2>"$SCRATCH/3.err"); rc=$?
  cat "$SCRATCH/3.err"
  if [ $rc -eq 0 ] && grep -qx "go version go$GO_VERSION linux/$arch" <<<"$out" &&
     grep -q "fails its check: deleting it, downloading again" "$SCRATCH/3.err" && grep -q "checked against" "$SCRATCH/3.err" &&
     { [ "$how" = bytes ] || grep -q "checksum mismatch" "$SCRATCH/3.err"; }; then
    pass "cached zip with $([ "$how" = bytes ] && echo "corrupt bytes" || echo "a fake bin/go"): detected, downloaded again"
  else fail "cached zip with $how (exit $rc)"; fi
done

# 4. refused: a proxy serving the fake zip, forged checksum database answers, GOSUMDB=off.
# refused NAME EXPECTED_MESSAGE GOPROXY [VAR=VALUE...]: no Go installed, and no zip kept if the zip was
# found bad (a zip that could not be checked is kept for the next try).
refused() {
  local name="$1" msg="$2" proxy="$3" c="$SCRATCH/$1"; shift 3
  out=$(pathless "$c" "" "$ENSURE" GOPROXY="$proxy" "$@" 2>"$SCRATCH/4.err"); rc=$?
  cat "$SCRATCH/4.err"
  if [ $rc -ne 0 ] && grep -q -- "$msg" "$SCRATCH/4.err" && [ -z "$out" ] &&
     [ ! -e "$c/go-toolchain/go$GO_VERSION.linux-$arch" ] && [ ! -e "$c/go-toolchain/go$GO_VERSION.linux-$arch.verified" ] &&
     { [ ! -e "$c/go-toolchain/go$GO_VERSION.linux-$arch.zip" ] || ! grep -q "checksum mismatch" "$SCRATCH/4.err"; }; then
    pass "$name: refused ($msg)"
  else fail "$name: not refused as expected (exit $rc, want \"$msg\")"; fi
}
refused fake-zip "checksum mismatch" "file://$SCRATCH/fake,$REAL_PROXY"
fake_h1=$(sed -n 's/.*the zip has \(h1:[^,]*\),.*/\1/p' "$SCRATCH/4.err" | head -1)
lookup="$T/sumdb/sum.golang.org/lookup/golang.org/toolchain@$MODVER"
if [ -n "$fake_h1" ] && [ -f "$lookup" ] && [ "$(go_env GOSUMDB sum.golang.org)" = sum.golang.org ]; then
  # A database answer saying the fake zip is Go, with the genuine signed tree head and tiles.
  db="$SCRATCH/forged/sumdb/sum.golang.org"; mkdir -p "$db/lookup/golang.org"
  cp -r "$T/sumdb/sum.golang.org/tile" "$db/" && echo ok >"$db/supported" && cp "$fake/$MODVER.zip" "$SCRATCH/forged/"
  mkdir -p "$SCRATCH/forged/golang.org/toolchain/@v" && mv "$SCRATCH/forged/$MODVER.zip" "$SCRATCH/forged/golang.org/toolchain/@v/"
  sed "s|^golang.org/toolchain $MODVER h1:.*|golang.org/toolchain $MODVER $fake_h1|" "$lookup" >"$db/lookup/golang.org/toolchain@$MODVER"
  refused forged-record "inclusion proof fails" "file://$SCRATCH/forged,$REAL_PROXY"
  # ... and with the tree head's root changed as well.
  sed -i '/^go\.sum database tree$/{n;n;s/^A/B/;t;s/^./A/}' "$db/lookup/golang.org/toolchain@$MODVER"
  refused forged-tree "not signed by sum.golang.org" "file://$SCRATCH/forged,$REAL_PROXY"
else
  echo "SKIP: forged checksum database answers (need GOSUMDB=sum.golang.org and case 4's output)"
fi
refused gosumdb-off "GOSUMDB=off" "$REAL_PROXY" GOSUMDB=off

# --lint-ci: a real build with the downloaded Go, in a clean environment and a scratch cache.
if [ "$lint_ci" = 1 ]; then
  start=$SECONDS
  out=$(pathless "$C" "" 'bash test/ci/lint-ci.sh' 2>"$SCRATCH/5.err"); rc=$?
  cat "$SCRATCH/5.err"; echo "$out"
  if [ $rc -eq 0 ] && grep -q "building actionlint" "$SCRATCH/5.err" && grep -q "building yamlcheck" "$SCRATCH/5.err" &&
     grep -q "go: go$GO_VERSION at $ROOT/bin/go" "$SCRATCH/5.err"; then
    pass "lint-ci.sh built actionlint and yamlcheck with it and passed ($((SECONDS - start))s)"
  else fail "lint-ci.sh (exit $rc)"; fi
fi

[ "$keep" = 1 ] && echo "kept $SCRATCH"
[ "$failed" = 0 ] && echo "PASS: check-go" || echo "FAIL: check-go"
exit "$failed"
