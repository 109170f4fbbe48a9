#!/bin/bash
# Runs a service as the child this shell waits for (src/services/service.ts):
#   run-service.sh LOG STOP_SIGNAL LOCK BUSY COMMAND...
# Its output goes to LOG too; with a LOCK file (else empty), a second one on the same lock ends at
# once with the message BUSY (exit code 75).
set -u
log=$1 stop=$2 lock=$3 busy=$4; shift 4
if [ -n "$lock" ]; then
  exec 9>"$lock"
  flock -n 9 || { echo "$busy" >&2; exit 75; }
fi
exec > >(trap '' TERM INT QUIT; exec tee "$log") 2>&1
tee=$!
"$@" &
child=$!
trap 'kill -s "$stop" "$child" 2>/dev/null' TERM INT
# wait returns early when a signal is trapped: wait again until the service has exited.
while :; do
  wait "$child"; status=$?
  kill -0 "$child" 2>/dev/null || break
done
# The container ends with this shell: let tee write the service's last words first.
exec >&- 2>&-
wait "$tee"
exit "$status"
