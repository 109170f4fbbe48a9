"""Celery app and tasks (Pycroft's `pycroft.task`); run a worker with `celery -A pycroft.task worker`."""
from celery import Celery
from example_widgets import badge

from pycroft.config import env

app = Celery(
    "pycroft",
    broker=env("PYCROFT_CELERY_BROKER_URI"),
    backend=env("PYCROFT_CELERY_RESULT_BACKEND_URI"),
)


@app.task
def render_badge(label: str, value: str) -> str:
    """Render a widget in the worker (which needs the local example-widgets package too)."""
    return str(badge(label, value))


@app.task(bind=True)
def whoami(self) -> str:
    """The Celery node that ran this task (`NAME@HOST`): which worker a queue reaches."""
    return str(self.request.hostname)
