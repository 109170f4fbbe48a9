# shellcheck shell=bash
# Shared helpers for the test/engine provisioning scripts (sourced, not run).
# Everything built or downloaded lives outside the repo, in $CACHE, so reruns reuse it.
CACHE="${PYCROFT_ENGINE_CACHE:-/var/cache/pycroft-engine}"
ENGINE_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_DIR="$(cd "$ENGINE_DIR/../.." && pwd)"
mkdir -p "$CACHE"

# The Dagger version is whatever the npm SDK is pinned to: engine, CLI and SDK must match.
dagger_version() {
  (cd "$REPO_DIR" && node -p 'require("./package-lock.json").packages["node_modules/@dagger.io/dagger"].version')
}

# Whether the caller brings its own engine (`dagger run …`, or up.sh's client env already loaded);
# otherwise test/run.sh starts the one up.sh makes here.
engine_given() {
  [ -n "${DAGGER_SESSION_PORT:-}${_EXPERIMENTAL_DAGGER_CLI_BIN:-}" ]
}

# phase NAME CMD...: run one step and print how long it took (cold CI must stay well under 30 min).
phase() {
  local name="$1" start=$SECONDS; shift
  echo "==> $name" >&2
  "$@"
  echo "<== $name: $((SECONDS - start))s" >&2
}

# The label carrying the hash of an image's inputs: an image is rebuilt only when that hash changes.
INPUTS_LABEL=org.pycroft.inputs

# inputs_hash PREFIX DIR: hash of PREFIX (say, the base image's ID) and of every file under DIR.
inputs_hash() {
  { echo "$1"; cd "$2" && find . -type f -print0 | sort -z | xargs -0 sha256sum; } | sha256sum | cut -c1-32
}

# build_image TAG CONTEXT_DIR BASE_IMAGE: docker build, unless TAG already has these inputs' hash.
build_image() {
  local tag="$1" ctx="$2" hash
  hash=$(inputs_hash "$(docker image inspect -f '{{.Id}}' "$3")" "$ctx")
  if [ "$(docker image inspect -f "{{index .Config.Labels \"$INPUTS_LABEL\"}}" "$tag" 2>/dev/null)" = "$hash" ]; then
    echo "$tag: up to date ($hash)" >&2; return 0
  fi
  echo "$tag: building" >&2
  docker build --label "$INPUTS_LABEL=$hash" -t "$tag" "$ctx" >&2
}

# apt_install PKG...: install only the packages that are missing; `apt-get update` at most once per run.
apt_install() {
  local missing=() p
  for p in "$@"; do dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p"); done
  [ ${#missing[@]} -eq 0 ] && return 0
  if [ -z "${_PYCROFT_APT_UPDATED:-}" ]; then apt-get update -qq; _PYCROFT_APT_UPDATED=1; fi
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

# remove_container NAME: stop it with SIGTERM and time to finish, then remove it. A killed engine
# finds its cache index marked unclean on the next start and deletes the whole cache.
remove_container() {
  docker stop -t "${PYCROFT_ENGINE_STOP_TIMEOUT:-300}" "$1" >/dev/null 2>&1 || true
  docker rm -f "$1" >/dev/null 2>&1 || true
}

# --- Go -------------------------------------------------------------------------------------------
# The Go that ensure_go fetches when the machine has none recent enough (a go.mod may ask for newer).
GO_VERSION="${PYCROFT_GO_VERSION:-1.26.8}"
# Where a Go installed by hand lives; PYCROFT_GO_LOCAL_ROOT= (empty) ignores it.
GO_LOCAL_ROOT="${PYCROFT_GO_LOCAL_ROOT-/usr/local/go}"

# go_env NAME DEFAULT: a Go setting as `go` sees it: the environment, else `go env` of any Go here,
# else the go env file (`go env -w`), else DEFAULT.
go_env() {
  local v="${!1:-}" g f
  [ -n "$v" ] || for g in "$(command -v go)" "${GO_LOCAL_ROOT:+$GO_LOCAL_ROOT/bin/go}"; do
    [ -n "$g" ] && [ -x "$g" ] && v=$(cd / && GOTOOLCHAIN=local "$g" env "$1" 2>/dev/null) && break
  done
  f="${GOENV:-${XDG_CONFIG_HOME:-${HOME:-/nonexistent}/.config}/go/env}"
  if [ -z "$v" ] && [ "$f" != off ] && [ -f "$f" ]; then v=$(sed -n "s/^$1=//p" "$f" | tail -1); fi
  echo "${v:-$2}"
}

# go_path_matches PATTERNS PATH: whether a glob in the comma-separated PATTERNS (GONOSUMDB, GOPRIVATE)
# matches PATH or a leading part of it made of whole elements, as module.MatchPrefixPatterns.
go_path_matches() {
  local - pat n IFS=,
  set -f   # split $1 on commas only, no file name expansion
  for pat in $1; do
    [ -n "$pat" ] || continue
    n=$(tr -cd / <<<"$pat" | wc -c)
    # shellcheck disable=SC2053   # the pattern is a glob
    [[ "$(cut -d/ -f1-$((n + 1)) <<<"$2")" == $pat && $(tr -cd / <<<"$2" | wc -c) -ge $n ]] && return 0
  done
  return 1
}

# _go_version_key V: V (1.N, 1.N.P, 1.NrcK, 1.NbetaK, with or without "go") as a sortable string;
# 1.N (a language version) < 1.NbetaK < 1.NrcK < 1.N.0, as in cmd/go's gover.
_go_version_key() {
  [[ "${1#go}" =~ ^([0-9]+)\.([0-9]+)(\.([0-9]+)|(beta|rc)([0-9]+))?$ ]] || return 1
  local kind=0 num=0
  if [ -n "${BASH_REMATCH[4]}" ]; then kind=3 num=${BASH_REMATCH[4]}
  elif [ -n "${BASH_REMATCH[5]}" ]; then num=${BASH_REMATCH[6]}; [ "${BASH_REMATCH[5]}" = rc ] && kind=2 || kind=1; fi
  printf '%04d.%04d.%d.%04d' "${BASH_REMATCH[1]}" "${BASH_REMATCH[2]}" "$kind" "$num"
}

# go_version_ge A B: whether Go version A is at least B.
go_version_ge() {
  local a b
  a=$(_go_version_key "$1") && b=$(_go_version_key "$2") || return 1
  [[ ! "$a" < "$b" ]]
}

# go_mod_min MODULE VERSION: the `go` line of MODULE@VERSION's go.mod (the oldest Go that builds it
# with GOTOOLCHAIN=local), from the module cache or the Go module proxy; empty if neither has it.
go_mod_min() {
  local - esc p mod="" IFS=',|'
  set -f
  # Go's module cache escapes each capital as ! and the lower case letter (GNU sed's \L).
  # shellcheck disable=SC2001
  esc=$(sed 's/[A-Z]/!\L&/g' <<<"$1")
  local cached="${GOMODCACHE:-$CACHE/go/mod}/cache/download/$esc/@v/$2.mod"
  if [ -f "$cached" ]; then mod=$(cat "$cached")
  else
    for p in $(go_env GOPROXY https://proxy.golang.org,direct); do
      case "$p" in off) break ;; direct|noproxy|"") continue ;; esac
      mod=$(curl -fsSL --retry 2 "${p%/}/$esc/@v/$2.mod" 2>/dev/null) && break
    done
  fi
  sed -n 's/^go[[:space:]]\{1,\}\([^[:space:]]*\).*/\1/p' <<<"$mod" | head -1
  [ -n "$mod" ] || echo "go_mod_min: cannot read the go.mod of $1@$2" >&2
}

# ensure_go [MIN...]: put a Go of at least every MIN (default $GO_VERSION) first on PATH: `go` from
# PATH, else $GO_LOCAL_ROOT/bin/go, else Go $GO_VERSION (MIN if newer) from the Go module proxy, checked
# against the Go checksum database and kept in $CACHE/go-toolchain (go-toolchain.sh). Says which.
ensure_go() {
  local need="" m g v root want
  for m in "${@:-$GO_VERSION}"; do
    [ -n "$m" ] && { [ -z "$need" ] || ! go_version_ge "$need" "$m"; } && need="$m"
  done
  need="${need:-$GO_VERSION}"
  for g in "$(command -v go)" "${GO_LOCAL_ROOT:+$GO_LOCAL_ROOT/bin/go}"; do
    { [ -n "$g" ] && [ -x "$g" ]; } || continue
    v=$(cd / && GOTOOLCHAIN=local "$g" env GOVERSION 2>/dev/null) || v="?"
    if go_version_ge "${v%% *}" "$need"; then
      PATH="$(dirname "$g"):$PATH"
      echo "go: ${v%% *} at $g (found on this machine; go$need or newer needed)" >&2
      return 0
    fi
    echo "go: not using $g: ${v%% *} is older than the go$need needed" >&2
  done
  want="$GO_VERSION"
  if ! go_version_ge "$want" "$need"; then   # a go.mod wants a newer Go than the pin
    want="${need#go}"; [[ "$want" =~ ^1\.[0-9]+$ ]] && want="$want.0"
  fi
  root=$("$ENGINE_DIR/go-toolchain.sh" "$want") || { echo "go: no Go $want (see above)" >&2; return 1; }
  export GOROOT="$root" PATH="$root/bin:$PATH"
  echo "go: go$want at $root/bin/go ($(sed -n 1p "$root.verified") from the Go module proxy, $(sed -n 2p "$root.verified"))" >&2
}

# --- One Go build at a time -----------------------------------------------------------------------
# The Go builds here (build-dagger.sh, test/ci/lint-ci.sh, the bench's compose/tools.sh) share $CACHE/go,
# and build-dagger.sh replaces its source tree in $CACHE/gomod wholesale: they run one at a time, so no
# build reads a tree that another is rewriting (test/run.sh starts up.sh beside lint-ci.sh).
GO_LOCK_FILE="$CACHE/go/.lock"

# go_lock: hold $GO_LOCK_FILE until go_unlock or the script ends, waiting (and saying for whom) while
# another build holds it. A script started by the holder shares its hold (it inherits the descriptor).
go_lock() {
  if [ -n "${_PYCROFT_GO_LOCK_FD:-}" ] && [ "$(readlink "/proc/$BASHPID/fd/$_PYCROFT_GO_LOCK_FD")" = "$GO_LOCK_FILE" ]; then
    return 0
  fi
  local fd
  mkdir -p "$CACHE/go"
  exec {fd}>>"$GO_LOCK_FILE"
  if ! flock -n "$fd"; then
    echo "go_lock: waiting for the Go build holding $GO_LOCK_FILE ($(cat "$GO_LOCK_FILE" 2>/dev/null)) to end" >&2
    flock "$fd"
  fi
  echo "pid $$, ${0##*/}" >"$GO_LOCK_FILE"   # who holds it, for the message above
  export _PYCROFT_GO_LOCK_FD="$fd"
}

# go_unlock: let the next Go build go on (the script's later steps need no Go).
go_unlock() {
  [ -n "${_PYCROFT_GO_LOCK_FD:-}" ] || return 0
  exec {_PYCROFT_GO_LOCK_FD}>&-
  unset _PYCROFT_GO_LOCK_FD
}

# tree_missing LIST DIR: the paths in the file LIST (one a line, relative to DIR) that are not files
# under DIR.
tree_missing() {
  comm -23 <(grep -v -e '/$' -e '^$' "$1" | LC_ALL=C sort -u) <(cd "$2" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
}

# _say_missing WHAT MISSING: one line naming how many files are missing and the first few.
_say_missing() {
  echo "$1: $(wc -l <<<"$2") files missing ($(head -3 <<<"$2" | paste -sd ' ')$([ "$(wc -l <<<"$2")" -gt 3 ] && echo " …"))" >&2
}

# copy_module_checked DIR ZIP DEST: copy a module's directory from the module cache (DIR, extracted
# from ZIP) to DEST, checked against the zip's listing: `go build` of a copy that lacks a file fails
# with "open …: no such file or directory". A short copy is made again once, then refused.
copy_module_checked() {
  local src="$1" zip="$2" dest="$3" list missing try
  list=$(mktemp)
  # Module zips hold MODULE@VERSION/PATH entries, files only.
  unzip -Z1 "$zip" | sed 's|^[^@]*@[^/]*/||' >"$list" || { rm -f "$list"; echo "cannot list $zip" >&2; return 1; }
  for try in 1 2; do
    rm -rf "$dest"
    if ! { cp -a "$src" "$dest" && chmod -R u+w "$dest"; }; then rm -f "$list"; return 1; fi
    missing=$(tree_missing "$list" "$dest")
    [ -n "$missing" ] || { rm -f "$list"; return 0; }
    _say_missing "copy of $src in $dest, against $zip" "$missing"
    [ "$try" = 1 ] && echo "copying $src again" >&2
  done
  rm -f "$list"
  echo "the module cache's $src lacks files of its zip: \`go clean -modcache\` (GOMODCACHE=${GOMODCACHE:-}) and run again" >&2
  return 1
}

# build_checked LIST DIR REMAKE BUILD...: BUILD; if it fails and files that LIST names are gone from
# DIR (the sources it read), say which, REMAKE them and BUILD once more. The first BUILD runs where
# `set -e` does not apply (it must fail by itself); REMAKE and the second BUILD run where it does.
build_checked() {
  local list="$1" dir="$2" remake="$3" missing; shift 3
  "$@" && return 0
  missing=$(tree_missing "$list" "$dir")
  [ -n "$missing" ] || return 1
  _say_missing "the build failed, and its sources in $dir have" "$missing"
  echo "making the sources again ($remake) and building once more" >&2
  "$remake"
  "$@"
}

# --- Linters and test tools of the module's scripts (src/scripts) ----------------------------------
# Debian 12's ShellCheck, unpacked from its package into $CACHE/ci-tools rather than installed: the
# machine's own tools stay as they were (actionlint, say, runs it only when given it).
SHELLCHECK_DEB_VERSION=0.9.0-1

# ensure_shellcheck: puts that ShellCheck first on PATH (apt verifies the package it downloads).
ensure_shellcheck() {
  local dir="$CACHE/ci-tools/shellcheck-$SHELLCHECK_DEB_VERSION" tmp
  if [ ! -x "$dir/usr/bin/shellcheck" ]; then
    echo "unpacking Debian's shellcheck $SHELLCHECK_DEB_VERSION" >&2
    tmp=$(mktemp -d)
    # The download writes where the sandbox user _apt cannot: this temp dir.
    local get=(apt-get download -qq -o APT::Sandbox::User=root "shellcheck=$SHELLCHECK_DEB_VERSION")
    (cd "$tmp" && { "${get[@]}" 2>/dev/null || { apt-get update -qq && "${get[@]}"; }; }) >&2
    rm -rf "$dir" && dpkg -x "$tmp"/shellcheck_*.deb "$dir"
    rm -rf "$tmp"
  fi
  PATH="$dir/usr/bin:$PATH"
}

# ensure_python_tools: puts a venv with test/python/requirements.txt (ruff, pytest, coverage) first on
# PATH; made once per requirements file and Python, in $CACHE/ci-tools.
ensure_python_tools() {
  local req="$REPO_DIR/test/python/requirements.txt" hash dir
  hash=$({ python3 -VV; cat "$req"; } | sha256sum | cut -c1-16)
  dir="$CACHE/ci-tools/python-$hash"
  if [ ! -f "$dir/.complete" ]; then
    echo "installing the Python tools of $req" >&2
    rm -rf "$dir"
    python3 -m venv "$dir" >&2 || { rm -rf "$dir" && apt_install python3-venv && python3 -m venv "$dir" >&2; }
    "$dir/bin/python" -m pip install --quiet --disable-pip-version-check --no-deps -r "$req" >&2
    "$dir/bin/python" -m pip check >&2
    touch "$dir/.complete"
    find "$CACHE/ci-tools" -maxdepth 1 -name 'python-*' ! -name "python-$hash" -exec rm -rf {} +
  fi
  PATH="$dir/bin:$PATH"
}
