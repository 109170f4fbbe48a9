#!/bin/bash
# Docker's default runtime on the CI VM (installed by docker.sh).
# The VM's capability bounding set lacks CAP_SYS_RESOURCE, but Docker asks for every capability for
# `--privileged` containers, so the real runc fails with "unable to apply caps: operation not permitted".
# We delete CAP_SYS_RESOURCE from the OCI bundle's config.json and exec the real runc unchanged.
set -euo pipefail
REAL_RUNC="${PYCROFT_REAL_RUNC:-/usr/sbin/runc}"
[ -x "$REAL_RUNC" ] || REAL_RUNC=/usr/bin/runc

bundle="" cmd="" prev=""
for a in "$@"; do
  case "$prev" in --bundle|-b) bundle="$a" ;; esac
  case "$a" in --bundle=*|-b=*) bundle="${a#*=}" ;; create|run) [ -z "$cmd" ] && cmd="$a" ;; esac
  prev="$a"
done
if [ -n "$cmd" ]; then
  cfg="${bundle:-.}/config.json"
  if [ -f "$cfg" ] && grep -q CAP_SYS_RESOURCE "$cfg"; then
    jq '.process.capabilities |= (if . == null then . else map_values(map(select(. != "CAP_SYS_RESOURCE"))) end)' \
      "$cfg" > "$cfg.tmp" && mv "$cfg.tmp" "$cfg"
  fi
fi
exec "$REAL_RUNC" "$@"
