#!/bin/bash
# Docker's default runtime on the CI VM (installed by docker.sh).
# The VM's capability bounding set lacks CAP_SYS_RESOURCE, but Docker asks for every capability for
# `--privileged` containers (and for `docker exec` into them), so the real runc fails with "unable
# to apply caps: operation not permitted". We delete CAP_SYS_RESOURCE from the OCI bundle's
# config.json (create/run) or from the process spec (exec --process FILE), then exec the real runc.
set -euo pipefail
REAL_RUNC="${PYCROFT_REAL_RUNC:-/usr/sbin/runc}"
[ -x "$REAL_RUNC" ] || REAL_RUNC=/usr/bin/runc

bundle="" process="" cmd="" prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle="$a" ;; --process|-p) process="$a" ;; esac
  case "$a" in
    --bundle=*|-b=*) bundle="${a#*=}" ;;
    --process=*|-p=*) process="${a#*=}" ;;
    create|run|exec) [ -z "$cmd" ] && cmd="$a" ;;
  esac
  prev="$a"
done
drop_cap() { # drop_cap FILE JQ_PATH
  if [ -f "$1" ] && grep -q CAP_SYS_RESOURCE "$1"; then
    jq "$2 |= (if . == null then . else map_values(map(select(. != \"CAP_SYS_RESOURCE\"))) end)" "$1" > "$1.tmp"
    mv "$1.tmp" "$1"
  fi
}
case "$cmd" in
  create|run) drop_cap "${bundle:-.}/config.json" .process.capabilities ;;
  exec) [ -n "$process" ] && drop_cap "$process" .capabilities ;;
esac
exec "$REAL_RUNC" "$@"
