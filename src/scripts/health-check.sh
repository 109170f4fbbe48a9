#!/bin/sh
# One health check of a service (src/services/service.ts):
#   health-check.sh READY LOG TAIL_LINES POLLS POLL_SECONDS
# Runs the shell command READY quietly every POLL_SECONDS until it passes; the POLLS-th time with its
# error shown, then fails with the last TAIL_LINES lines of the service's LOG: a service that never
# gets ready fails with its own last words rather than a bare timeout. Polling within one check sees a
# ready service at once; the engine runs the next check only an interval after a failed one.
ready=$1 log=$2 tail=$3 polls=$4 pause=$5
i=1
while [ "$i" -lt "$polls" ]; do
  sh -c "$ready" 2>/dev/null && exit 0
  i=$((i + 1))
  sleep "$pause"
done
sh -c "$ready" || { tail -n "$tail" "$log" >&2; exit 1; }
