"""A stand-in for hades' Celery worker, for the tests of `hades_logs`.

Run it as a program, so that its tasks are registered as `dummy_tasks.<name>`, the names the
client sends (HADES_CELERY_APP_NAME=dummy_tasks):

    python helpers/dummy_celery_worker.py worker --loglevel=info
"""
import os
import sys
import time

from celery import Celery

app = Celery(
    "dummy_tasks",
    broker=os.environ["TEST_HADES_BROKER_URI"],
    backend=os.environ["TEST_HADES_RESULT_BACKEND_URI"],
)
# hades' tasks have a queue of their own: the app's worker on the same broker never takes them, nor
# this one the app's.
app.conf.task_default_queue = "dummy_tasks"

#: A port name that makes the task take this many seconds, for the tests of timeouts and concurrency.
SLOW_PORT = "slow"
SLOW_SECONDS = 3

ATTEMPTS = [
    ("00:de:ad:be:ef:00", "Access-Reject", ["unknown"], 1492712700.0),
    ("00:de:ad:be:ef:00", "Access-Accept", ["member"], 1492712400.0),
    ("00:de:ad:be:ef:01", "Access-Accept", ["unauth"], 1492711500.0),
]


@app.task
def get_auth_attempts_at_port(nas_ip, nas_port, limit=100):
    """The newest authentication attempts at a switch port; none for an unknown port."""
    if nas_port == SLOW_PORT:
        time.sleep(SLOW_SECONDS)
        return []
    if not nas_ip and not nas_port:
        return []
    return ATTEMPTS[:limit]


if __name__ == "__main__":
    if not sys.argv[0].endswith(".py"):
        raise SystemExit("run this file as a script, so its tasks are named dummy_tasks.*")
    app.start(argv=sys.argv[1:])
