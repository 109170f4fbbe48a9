#!/bin/bash
# Entrypoint of the rabbitmq stand-in, doing what the official image's does for the
# documented interface: RABBITMQ_DEFAULT_USER/PASS/VHOST, data in /var/lib/rabbitmq (which
# may be a fresh root-owned tmpfs), and running the server as user rabbitmq.
set -euo pipefail

# `docker run IMAGE -flag` means flags for rabbitmq-server.
if [ "${1:0:1}" = '-' ]; then set -- rabbitmq-server "$@"; fi

if [ "$1" = rabbitmq-server ]; then
  if [ "$(id -u)" = 0 ]; then
    # Default user: written as a conf file (first boot of an empty data dir uses it).
    conf=/etc/rabbitmq/conf.d/05-default-user.conf
    : > "$conf"
    [ -z "${RABBITMQ_DEFAULT_USER:-}" ] || echo "default_user = $RABBITMQ_DEFAULT_USER" >> "$conf"
    [ -z "${RABBITMQ_DEFAULT_PASS:-}" ] || echo "default_pass = $RABBITMQ_DEFAULT_PASS" >> "$conf"
    [ -z "${RABBITMQ_DEFAULT_VHOST:-}" ] || echo "default_vhost = $RABBITMQ_DEFAULT_VHOST" >> "$conf"
    chown rabbitmq:rabbitmq "$conf"
    # The erlang cookie (shared by server and CLI tools through HOME). Created here, before
    # the server starts, so a CLI call racing the boot can't create a root-owned one.
    cookie="$HOME/.erlang.cookie"
    if [ -n "${RABBITMQ_ERLANG_COOKIE:-}" ]; then
      printf '%s' "$RABBITMQ_ERLANG_COOKIE" > "$cookie"
    elif [ ! -s "$cookie" ]; then
      od -An -N20 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f0-9' 'A-P' > "$cookie"
    fi
    chmod 600 "$cookie"
    mkdir -p "$RABBITMQ_DATA_DIR" /var/log/rabbitmq
    # Like the official image: make everything in the data dir the rabbitmq user's.
    find "$RABBITMQ_DATA_DIR" /var/log/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
    chmod 400 "$cookie"
    # Drop to rabbitmq (setpriv is in util-linux; keeps the environment, so HOME stays).
    exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
  fi
fi

exec "$@"
