# shellcheck shell=bash
# Registry API helpers for the stand-in scripts (sourced, not run). REGISTRY: host:port, plain HTTP.
REGISTRY=${REGISTRY:-127.0.0.1:5000}
# Every manifest kind: the registry hands a list to a client that accepts none by picking one entry.
ACCEPT="application/vnd.docker.distribution.manifest.list.v2+json,application/vnd.oci.image.index.v1+json,\
application/vnd.docker.distribution.manifest.v2+json,application/vnd.oci.image.manifest.v1+json"

# manifest_digest REPO REF ARCH: the digest of REF's ARCH image when REF is a list (empty without
# one), REF's own digest otherwise; empty when REF is absent.
manifest_digest() {
  local body own
  body=$(mktemp)
  own=$(curl -fsS -H "Accept: $ACCEPT" -D - -o "$body" "http://$REGISTRY/v2/$1/manifests/$2" 2>/dev/null \
        | tr -d '\r' | awk 'tolower($1) == "docker-content-digest:" {print $2}') || true
  [ -s "$body" ] && jq -r --arg arch "$3" --arg own "$own" \
    'if .manifests then (.manifests[] | select(.platform.architecture == $arch) | .digest) else $own end' "$body"
  rm -f "$body"
}

# config_digest REPO DIGEST: the config digest (= docker's image ID) of the image manifest DIGEST.
config_digest() {
  curl -fsS -H "Accept: $ACCEPT" "http://$REGISTRY/v2/$1/manifests/$2" | jq -r .config.digest
}

# image_config REPO DIGEST: the config (JSON) of the image manifest DIGEST.
image_config() {
  curl -fsSL "http://$REGISTRY/v2/$1/blobs/$(config_digest "$1" "$2")"
}
