"""Celery app and tasks; run a worker with `celery -A pycroft_example.tasks worker`."""
from celery import Celery
from example_widgets import badge

from .config import env

app = Celery(
    "pycroft_example",
    broker=env("PYCROFT_CELERY_BROKER_URI"),
    backend=env("PYCROFT_CELERY_RESULT_BACKEND_URI"),
)


@app.task
def render_badge(label: str, value: str) -> str:
    """Render a widget in the worker (which needs the local example-widgets package too)."""
    return str(badge(label, value))
