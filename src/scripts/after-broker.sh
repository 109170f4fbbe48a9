#!/bin/bash
# Runs COMMAND once the broker at HOST:PORT answers AMQP (AMQP_READY: amqp-ready.sh's text), asking
# every 0.1 s: a Celery worker started beside its broker (src/dev/servers.ts), as Celery itself retries
# a refused connection only 2, 4, 6… s apart. Waits as long as it takes: the run's own wait names a
# broker that never answers.
#   after-broker.sh AMQP_READY HOST PORT COMMAND...
check=$1 host=$2 port=$3
shift 3
until bash -c "$check" amqp-ready "$port" "$host" 2>/dev/null; do sleep 0.1; done
exec "$@"
