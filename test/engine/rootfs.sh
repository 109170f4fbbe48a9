#!/usr/bin/env bash
# Makes the base image every stand-in is built FROM: a Debian bookworm minbase rootfs
# (debootstrap from the host's own apt mirror, since no container registry is reachable).
#   rootfs.sh          the host's architecture, imported into docker as pycroft-standin/debian-rootfs:bookworm
#   rootfs.sh ARCH     another Debian architecture (arm64), run under qemu-user via binfmt_misc:
#                      written as an OCI image archive and its path printed on stdout (this docker
#                      cannot import an image for another platform; the Dagger engine can)
# Env ROOTFS_SUITE: another Debian release (trixie, for the on-demand python-trixie stand-in), from
# the same mirror, imported as pycroft-standin/debian-rootfs:SUITE; its apt sources name that suite.
# Idempotent: skips when the image or archive exists; the rootfs tarball is cached across runs.
set -euo pipefail

HOST_ARCH=$(dpkg --print-architecture)
ARCH=${1:-$HOST_ARCH}
SUITE=${ROOTFS_SUITE:-bookworm}
IMAGE=${ROOTFS_IMAGE:-pycroft-standin/debian-rootfs:$SUITE}
CACHE=${PYCROFT_ENGINE_CACHE:-/var/cache/pycroft-engine}
# Bump the suffix when what goes into the rootfs changes, to invalidate the cached tarball.
VERSION=v3
if [ "$ARCH" = "$HOST_ARCH" ]; then
  TARBALL=$CACHE/debian-rootfs-$SUITE-$VERSION.tar
else
  TARBALL=$CACHE/debian-rootfs-$SUITE-$ARCH-$VERSION.tar
  ARCHIVE=$CACHE/debian-rootfs-$SUITE-$ARCH-$VERSION.oci.tar
fi

if [ "$ARCH" = "$HOST_ARCH" ] && docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "rootfs: $IMAGE exists" >&2; exit 0
fi
if [ "$ARCH" != "$HOST_ARCH" ] && [ -s "$ARCHIVE" ]; then
  echo "rootfs: $ARCHIVE exists" >&2; echo "$ARCHIVE"; exit 0
fi

if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }
  # A foreign rootfs runs its maintainer scripts under qemu-user (docker.sh registers it).
  if [ "$ARCH" != "$HOST_ARCH" ]; then
    case $ARCH in arm64) qemu=aarch64 ;; armhf | armel) qemu=arm ;; ppc64el) qemu=ppc64le ;; *) qemu=$ARCH ;; esac
    grep -qs '^enabled' "/proc/sys/fs/binfmt_misc/qemu-$qemu" || {
      echo "rootfs: no binfmt_misc handler for $ARCH (qemu-$qemu): run test/engine/docker.sh first" >&2; exit 1; }
  fi
  # Use the mirror the host's apt uses (deb822 sources first, classic sources.list as fallback).
  MIRROR=$(awk '$1=="URIs:" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  DIR=$(mktemp -d /tmp/rootfs.XXXXXX)
  trap 'rm -rf "$DIR"' EXIT
  # ca-certificates: the official debian image lacks it, but everything here needs the
  # re-signing CA, and update-ca-certificates comes with that package.
  # (bookworm's debootstrap, 1.0.128+nmu2+deb12u2, has a script for trixie.)
  debootstrap --arch="$ARCH" --variant=minbase --include=ca-certificates "$SUITE" "$DIR" "$MIRROR" >&2

  # apt inside images must go where the host's apt goes, with the same config snippet.
  rm -f "$DIR/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$DIR/etc/apt/sources.list.d/" 2>/dev/null || true
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$DIR/etc/apt/"
  cp /etc/apt/apt.conf.d/99artifact-registry "$DIR/etc/apt/apt.conf.d/" 2>/dev/null || true
  # Another suite than the host's: the same sources, renamed (bookworm-security -> trixie-security).
  HOST_SUITE=$(. /etc/os-release && echo "$VERSION_CODENAME")
  if [ "$SUITE" != "$HOST_SUITE" ]; then
    find "$DIR/etc/apt" -maxdepth 2 \( -name sources.list -o -name '*.sources' -o -name '*.list' \) -type f \
      -exec sed -i "s/\b$HOST_SUITE\b/$SUITE/g" {} +
  fi
  # Same space-saving apt/dpkg settings the official debian images ship.
  cat > "$DIR/etc/apt/apt.conf.d/docker-clean" <<'CONF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache ""; Dir::Cache::srcpkgcache "";
Acquire::Languages "none"; Acquire::GzipIndexes "true";
APT::AutoRemove::SuggestsImportant "false";
CONF
  # Like debian:*-slim: no man pages, docs or translations (copyright files stay).
  cat > "$DIR/etc/dpkg/dpkg.cfg.d/docker-slim" <<'CONF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
CONF
  # Trust the host's extra CAs (HTTPS here is re-signed) and rebuild the bundle inside.
  cp -a /usr/local/share/ca-certificates/. "$DIR/usr/local/share/ca-certificates/"
  chroot "$DIR" update-ca-certificates --fresh >/dev/null
  # The excludes only act on later installs: drop what debootstrap already unpacked.
  find "$DIR/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete
  find "$DIR/usr/share/doc" -mindepth 1 -type d -empty -delete
  rm -rf "$DIR"/usr/share/man/* "$DIR"/usr/share/info/*
  find "$DIR/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} +
  # Host-specific files docker provides at run time; caches that only cost space.
  rm -rf "$DIR"/var/lib/apt/lists/* "$DIR"/var/cache/apt/archives/*.deb "$DIR"/var/log/*.log
  : > "$DIR/etc/resolv.conf"; : > "$DIR/etc/hostname"; : > "$DIR/etc/machine-id"

  mkdir -p "$CACHE"
  tar -C "$DIR" --numeric-owner -cf "$TARBALL.tmp" . && mv "$TARBALL.tmp" "$TARBALL"
  rm -rf "$DIR"; trap - EXIT
fi

PATH_ENV=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
if [ "$ARCH" = "$HOST_ARCH" ]; then
  docker import --change 'CMD ["bash"]' --change "ENV PATH=$PATH_ENV" "$TARBALL" "$IMAGE"
  echo "rootfs: imported $IMAGE" >&2; exit 0
fi

# An OCI image layout with the tarball as its one (uncompressed) layer, tarred.
LAYOUT=$(mktemp -d /tmp/rootfs-oci.XXXXXX)
trap 'rm -rf "$LAYOUT"' EXIT
mkdir -p "$LAYOUT/blobs/sha256"
# blob FILE: move FILE into the layout under its digest; print "digest size".
blob() {
  local d s
  d=$(sha256sum "$1" | cut -d' ' -f1); s=$(stat -c %s "$1")
  mv "$1" "$LAYOUT/blobs/sha256/$d"; echo "sha256:$d $s"
}
cp "$TARBALL" "$LAYOUT/layer"
read -r layer layer_size < <(blob "$LAYOUT/layer")
platform=$(jq -nc --arg arch "$ARCH" '{architecture: $arch, os: "linux"} + if $arch == "arm64" then {variant: "v8"} else {} end')
jq -n --argjson platform "$platform" --arg layer "$layer" --arg path "$PATH_ENV" \
  '$platform + {config: {Env: ["PATH=\($path)"], Cmd: ["bash"]}, rootfs: {type: "layers", diff_ids: [$layer]}}' \
  > "$LAYOUT/config"
read -r config config_size < <(blob "$LAYOUT/config")
jq -n --arg layer "$layer" --argjson layer_size "$layer_size" --arg config "$config" --argjson config_size "$config_size" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: {mediaType: "application/vnd.oci.image.config.v1+json", digest: $config, size: $config_size},
    layers: [{mediaType: "application/vnd.oci.image.layer.v1.tar", digest: $layer, size: $layer_size}]}' \
  > "$LAYOUT/manifest"
read -r manifest manifest_size < <(blob "$LAYOUT/manifest")
jq -n --arg manifest "$manifest" --argjson size "$manifest_size" --argjson platform "$platform" \
  '{schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [{mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $manifest, size: $size, platform: $platform}]}' \
  > "$LAYOUT/index.json"
echo '{"imageLayoutVersion":"1.0.0"}' > "$LAYOUT/oci-layout"
tar -C "$LAYOUT" -cf "$ARCHIVE.tmp" oci-layout index.json blobs && mv "$ARCHIVE.tmp" "$ARCHIVE"
echo "rootfs: wrote $ARCHIVE" >&2
echo "$ARCHIVE"
