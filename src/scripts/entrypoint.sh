#!/bin/bash
# The prod image's entrypoint (src/images/prod.ts): `uwsgi` (the default) serves the app on its port,
# `worker` runs its Celery worker with the beat scheduler, anything else runs as given.
set -euo pipefail
# >>> settings: the module's own, written into the image's copy (its source has stand-ins): the
# uwsgi socket's protocol and port, the WSGI app and the Celery app.
protocol=http
port=0
wsgi_app=app:app
celery_app=app
# <<< settings
command=${1:-uwsgi}
[ $# -eq 0 ] || shift
case "$command" in
  uwsgi) exec uwsgi --master "--$protocol-socket" ":$port" --module "$wsgi_app" --die-on-term "$@" ;;
  worker) exec celery -A "$celery_app" worker -B "$@" ;;
  *) exec "$command" "$@" ;;
esac
