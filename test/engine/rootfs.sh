#!/usr/bin/env bash
# Makes the base image every stand-in is built FROM: a Debian bookworm minbase rootfs
# (debootstrap from the host's own apt mirror, since no container registry is reachable),
# imported into docker as pycroft-standin/debian-rootfs:bookworm.
# Idempotent: skips when the image exists; the rootfs tarball is cached across runs.
set -euo pipefail

IMAGE=${ROOTFS_IMAGE:-pycroft-standin/debian-rootfs:bookworm}
CACHE=${PYCROFT_ENGINE_CACHE:-/var/cache/pycroft-engine}
# Bump the suffix when what goes into the rootfs changes, to invalidate the cached tarball.
TARBALL=$CACHE/debian-rootfs-bookworm-v3.tar

if docker image inspect "$IMAGE" >/dev/null 2>&1; then
  echo "rootfs: $IMAGE exists"; exit 0
fi

if [ ! -s "$TARBALL" ]; then
  command -v debootstrap >/dev/null || { apt-get update -qq; apt-get install -y -qq debootstrap; }
  # Use the mirror the host's apt uses (deb822 sources first, classic sources.list as fallback).
  MIRROR=$(awk '$1=="URIs:" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)
  [ -n "$MIRROR" ] || MIRROR=$(awk '$1=="deb" && $2 !~ /security/ {print $2; exit}' /etc/apt/sources.list)
  DIR=$(mktemp -d /tmp/rootfs.XXXXXX)
  trap 'rm -rf "$DIR"' EXIT
  # ca-certificates: the official debian image lacks it, but everything here needs the
  # re-signing CA, and update-ca-certificates comes with that package.
  debootstrap --variant=minbase --include=ca-certificates bookworm "$DIR" "$MIRROR"

  # apt inside images must go where the host's apt goes, with the same config snippet.
  rm -f "$DIR/etc/apt/sources.list"
  cp /etc/apt/sources.list.d/*.sources /etc/apt/sources.list.d/*.list "$DIR/etc/apt/sources.list.d/" 2>/dev/null || true
  [ -f /etc/apt/sources.list ] && cp /etc/apt/sources.list "$DIR/etc/apt/"
  cp /etc/apt/apt.conf.d/99artifact-registry "$DIR/etc/apt/apt.conf.d/" 2>/dev/null || true
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
fi

docker import --change 'CMD ["bash"]' \
  --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  "$TARBALL" "$IMAGE"
echo "rootfs: imported $IMAGE"
