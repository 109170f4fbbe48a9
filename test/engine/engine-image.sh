#!/bin/bash
# Build the two images the engine setup runs (no registry is reachable, so both start from the
# debootstrap'd Debian base made by rootfs.sh):
#   pycroft-dagger-engine:v<version>  the Dagger engine, laid out like upstream's image
#   pycroft-registry:2.8              Debian's docker-registry, the engine's docker.io mirror
# Each is rebuilt only when its inputs change (lib.sh build_image).
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

VERSION="v$(dagger_version)"
BASE=pycroft-standin/debian-rootfs:bookworm
ENGINE_IMAGE="pycroft-dagger-engine:$VERSION"
REGISTRY_IMAGE=pycroft-registry:2.8

engine_image() {
  local ctx="$CACHE/ctx/engine"
  rm -rf "$ctx"; mkdir -p "$ctx/bin/cni" "$ctx/certs"
  cp -a "$CACHE"/bin/{dagger,dagger-engine,dagger-init,dial-stdio,dnsname,runc} "$ctx/bin/"
  cp -a "$CACHE"/bin/cni/. "$ctx/bin/cni/"
  cp "$ENGINE_DIR/engine.json" "$ENGINE_DIR/engine.toml" "$ctx/"
  # This machine's extra CAs (HTTPS here is re-signed), for the engine's own trust only. Certs in
  # the engine's /usr/local/share/ca-certificates it installs into every container it runs, by
  # running update-ca-certificates before and after each exec: 1-2 s of CPU per container start
  # natively, 55-60 s per exec under qemu. The stand-in images already trust these CAs (rootfs.sh
  # bakes them in), so they go to the system bundle through /usr/share/ca-certificates instead.
  cp /usr/local/share/ca-certificates/*.crt "$ctx/certs/" 2>/dev/null || true
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
# Tools the engine shells out to (upstream's image has the same set, from Wolfi): git/ssh for git
# sources, iptables+dnsmasq for its CNI network, pigz/xz for layers, e2fsprogs, mount,
# update-ca-certificates + c_rehash (openssl) for CAs, tini as PID 1, ripgrep for Directory.search.
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
      ca-certificates openssl git openssh-client iptables nftables dnsmasq-base pigz xz-utils \\
      e2fsprogs mount util-linux tini ripgrep >/dev/null \\
 && rm -rf /var/lib/apt/lists/* \\
 && ln -sf /usr/bin/tini /usr/local/bin/tini \\
 && ln -s /usr/sbin/xtables-legacy-multi /usr/sbin/xtables-nft-multi /usr/bin/ \\
 && cd /usr/sbin && rm -f iptables iptables-save iptables-restore ip6tables ip6tables-save ip6tables-restore
# ^ The engine points /usr/bin/iptables* at /usr/bin/xtables-{legacy,nft}-multi (Wolfi's layout),
#   whichever the kernel supports; Debian keeps them in /usr/sbin, and its /usr/sbin/iptables
#   alternatives (nft by default) would shadow the engine's choice on PATH.
COPY bin/dagger-engine bin/dagger-init bin/runc bin/dagger /usr/local/bin/
COPY bin/dial-stdio /usr/bin/dial-stdio
COPY bin/dnsname /opt/cni/bin/dnsname
COPY bin/cni/ /opt/cni/bin/
COPY certs/ /usr/share/ca-certificates/pycroft-host/
COPY engine.json engine.toml /etc/dagger/
# The base rootfs has the CAs in /usr/local/share/ca-certificates too: moved next to the others.
RUN ln -s /usr/bin/dial-stdio /usr/bin/buildctl && mkdir -p /var/lib/dagger \\
 && find /usr/local/share/ca-certificates -name '*.crt' -exec mv -t /usr/share/ca-certificates/pycroft-host/ {} + \\
 && (cd /usr/share/ca-certificates && find pycroft-host -name '*.crt' >> /etc/ca-certificates.conf) \\
 && update-ca-certificates --fresh >/dev/null \\
 && [ -z "\$(ls -A /usr/local/share/ca-certificates)" ]
LABEL org.opencontainers.image.version=$VERSION
VOLUME /var/lib/dagger
ENTRYPOINT ["tini", "--", "dagger-engine", "--config", "/etc/dagger/engine.toml"]
DOCKERFILE
  build_image "$ENGINE_IMAGE" "$ctx" "$BASE"
}

registry_image() {
  local ctx="$CACHE/ctx/registry"
  rm -rf "$ctx"; mkdir -p "$ctx"
  cp "$ENGINE_DIR/registry.yml" "$ctx/config.yml"
  cat > "$ctx/Dockerfile" <<DOCKERFILE
FROM $BASE
RUN apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \\
      docker-registry >/dev/null && rm -rf /var/lib/apt/lists/*
COPY config.yml /etc/docker/registry/config.yml
VOLUME /var/lib/docker-registry
EXPOSE 5000
ENTRYPOINT ["/usr/bin/docker-registry", "serve", "/etc/docker/registry/config.yml"]
DOCKERFILE
  build_image "$REGISTRY_IMAGE" "$ctx" "$BASE"
}

[ -x "$CACHE/bin/dagger-engine" ] || { echo "run build-dagger.sh first" >&2; exit 1; }
phase "engine-image: base rootfs" "$ENGINE_DIR/rootfs.sh"
phase "engine-image: $REGISTRY_IMAGE" registry_image
phase "engine-image: $ENGINE_IMAGE" engine_image
