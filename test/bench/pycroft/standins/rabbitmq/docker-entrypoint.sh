#!/bin/bash
# The official 3.8 image's start for its documented interface: RABBITMQ_DEFAULT_USER/PASS/VHOST
# written into rabbitmq.conf (with the image's defaults: guest from anywhere, logs to the console),
# the data dir (maybe a fresh root-owned tmpfs) made the rabbitmq user's, the server run as that user.
set -euo pipefail
if [ "${1:0:1}" = '-' ]; then set -- rabbitmq-server "$@"; fi
if [ "$1" = rabbitmq-server ] && [ "$(id -u)" = 0 ]; then
  conf=/etc/rabbitmq/rabbitmq.conf
  { echo "loopback_users.guest = false"; echo "listeners.tcp.default = 5672"; echo "management.tcp.port = 15672"
    [ -z "${RABBITMQ_DEFAULT_USER:-}" ] || echo "default_user = $RABBITMQ_DEFAULT_USER"
    [ -z "${RABBITMQ_DEFAULT_PASS:-}" ] || echo "default_pass = $RABBITMQ_DEFAULT_PASS"
    [ -z "${RABBITMQ_DEFAULT_VHOST:-}" ] || echo "default_vhost = $RABBITMQ_DEFAULT_VHOST"; } > "$conf"
  chown rabbitmq:rabbitmq "$conf"
  export RABBITMQ_LOGS=- RABBITMQ_SASL_LOGS=-
  cookie="$HOME/.erlang.cookie"
  [ -s "$cookie" ] || od -An -N20 -tx1 /dev/urandom | tr -d ' \n' | tr 'a-f0-9' 'A-P' > "$cookie"
  mkdir -p "$RABBITMQ_DATA_DIR" /var/log/rabbitmq
  find "$RABBITMQ_DATA_DIR" /var/log/rabbitmq \! -user rabbitmq -exec chown rabbitmq:rabbitmq '{}' +
  chmod 400 "$cookie"
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups "$0" "$@"
fi
exec "$@"
