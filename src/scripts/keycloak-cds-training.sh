#!/bin/bash
# A start of keycloak, stopped once it is ready, for the JVM to write its class archive as it exits
# (src/services/keycloak.ts): keycloak-cds-training.sh SECONDS ARCHIVE READY COMMAND...
# Fails when keycloak exits first, is not ready (the shell command READY) within SECONDS, or no
# ARCHIVE was written.
limit=$1 archive=$2 ready=$3; shift 3
"$@" &
pid=$!
deadline=$((SECONDS + limit))
until eval "$ready" 2>/dev/null; do
  kill -0 "$pid" 2>/dev/null || { echo "keycloak exited before it was ready" >&2; exit 1; }
  [ "$SECONDS" -lt "$deadline" ] || { echo "keycloak was not ready within $limit s" >&2; kill -KILL "$pid"; exit 1; }
  sleep 0.5
done
kill -TERM "$pid"
wait "$pid"
[ -s "$archive" ] || { echo "the JVM wrote no class archive to $archive" >&2; exit 1; }
