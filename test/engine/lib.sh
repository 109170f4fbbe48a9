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
