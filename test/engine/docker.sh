#!/bin/bash
# Make a working Docker daemon on this machine (Debian 12 VM, no systemd needed).
# Idempotent: installs only what is missing, rewrites config only when it changed, starts dockerd only
# when `docker info` fails.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

install_packages() {
  # docker.io brings dockerd, containerd and runc 1.1.5; jq is used by the runc wrapper.
  # /usr/local/bin/docker may already be a newer CLI: it stays first in PATH and works as a client.
  apt_install docker.io jq iptables
}

# qemu-user for other architectures' binaries, so the engine can build and run arm64 images.
# Debian registers its handlers with the F flag: the kernel opens the interpreter at registration,
# so it works inside containers too, with nothing of qemu in their filesystems.
install_emulation() {
  apt_install qemu-user-static binfmt-support
  [ -e /proc/sys/fs/binfmt_misc/status ] || mount -t binfmt_misc binfmt_misc /proc/sys/fs/binfmt_misc
  grep -qs '^enabled' /proc/sys/fs/binfmt_misc/qemu-aarch64 || update-binfmts --enable qemu-aarch64
  grep -qs '^flags:.*F' /proc/sys/fs/binfmt_misc/qemu-aarch64 || {
    echo "binfmt_misc: qemu-aarch64 is not registered with the F flag" >&2; return 1; }
}

WRAPPER=/usr/local/libexec/pycroft-runc
install_config() {
  mkdir -p /usr/local/libexec /etc/docker
  cmp -s "$ENGINE_DIR/runc-wrapper.sh" "$WRAPPER" || install -m 0755 "$ENGINE_DIR/runc-wrapper.sh" "$WRAPPER"
  # mtu 1400: the host's network MTU; docker0's default 1500 stalls large transfers.
  local want
  want=$(jq -n --arg w "$WRAPPER" \
    '{"runtimes":{"pycroft-runc":{"path":$w}},"default-runtime":"pycroft-runc","mtu":1400,"storage-driver":"overlay2"}')
  if [ "$(jq -S . /etc/docker/daemon.json 2>/dev/null)" != "$(jq -S . <<<"$want")" ]; then
    echo "$want" > /etc/docker/daemon.json
    if [ "$(cat /proc/1/comm)" = systemd ] && systemctl is-active -q docker; then
      systemctl restart docker   # the package's unit started it before our config existed
    elif pid=$(pidof dockerd); then
      # Not ours to restart: runtimes/default-runtime reload on SIGHUP; mtu waits for a restart.
      echo "daemon.json changed: reloading dockerd ($pid); mtu applies on its next restart" >&2
      kill -HUP "$pid"
    fi
  fi
}

# A machine restored from a snapshot keeps /run but none of its processes. dockerd trusts a pid file
# whose pid is alive, so when that pid now belongs to some other process it waits for a containerd
# that never answers ("timeout waiting for containerd to start"). Drop pid files that name no daemon.
clear_stale_pidfiles() {
  local f pid
  for f in /var/run/docker.pid /var/run/docker/containerd/containerd.pid; do
    pid=$(cat "$f" 2>/dev/null) || continue
    case "$(cat "/proc/$pid/comm" 2>/dev/null)" in
      dockerd | containerd) ;;
      *) echo "removing stale $f (pid $pid is not a docker daemon)" >&2; rm -f "$f" ;;
    esac
  done
}

start_dockerd() {
  docker info >/dev/null 2>&1 && return 0
  if [ "$(cat /proc/1/comm)" = systemd ]; then
    systemctl start docker
  elif ! pidof dockerd >/dev/null; then
    clear_stale_pidfiles
    # No init system here: run dockerd detached (it starts its own containerd), log into the cache.
    nohup dockerd >>"$CACHE/dockerd.log" 2>&1 </dev/null &
    echo "started dockerd (pid $!), log: $CACHE/dockerd.log" >&2
  fi
  for _ in $(seq 60); do docker info >/dev/null 2>&1 && return 0; sleep 1; done
  echo "dockerd did not come up; tail of $CACHE/dockerd.log:" >&2; tail -20 "$CACHE/dockerd.log" >&2; return 1
}

phase "docker: packages" install_packages
phase "docker: qemu-user emulation" install_emulation
phase "docker: runc wrapper + daemon.json" install_config
phase "docker: daemon" start_dockerd
