// Checks of the prod image that the e2e suite and the Pycroft run share.

/** Starts the prod image's `worker` command and waits (at most 120 s) for it to report ready; prints that line, or its log. */
export const WORKER_READY_CHECK = `/usr/local/bin/pycroft-entrypoint worker --loglevel=info > /tmp/worker.log 2>&1 &
for _ in $(seq 120); do
  grep -qE 'celery@[^ ]+ ready\\.' /tmp/worker.log && break
  kill -0 $! 2>/dev/null || break
  sleep 1
done
kill -9 $! 2>/dev/null
grep -m1 -E 'celery@[^ ]+ ready\\.' /tmp/worker.log || { tail -n 40 /tmp/worker.log; exit 1; }`;
