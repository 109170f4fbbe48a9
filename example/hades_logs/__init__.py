"""Authentication logs from hades, the RADIUS system, fetched through its Celery app (Pycroft's `hades_logs`).

The tasks run on hades' own workers, so they are sent by name: `<HADES_CELERY_APP_NAME>.<task>`.
In tests, `helpers/dummy_celery_worker.py` plays hades.
"""
import os
from dataclasses import dataclass

from celery import Celery
from celery.exceptions import TimeoutError as CeleryTimeout


class HadesTimeout(Exception):
    """hades did not answer in time."""


@dataclass(frozen=True)
class AuthAttempt:
    mac: str
    reply: str
    groups: list[str]
    time: float

    @property
    def accepted(self) -> bool:
        return self.reply == "Access-Accept"


class HadesLogs:
    def __init__(self, timeout: float = 5):
        self.app_name = os.environ["HADES_CELERY_APP_NAME"]
        self.celery = Celery(
            self.app_name,
            broker=os.environ["HADES_BROKER_URI"],
            backend=os.environ["HADES_RESULT_BACKEND_URI"],
        )
        # The queue hades' workers consume (the dummy worker's in tests), not the app's own.
        self.celery.conf.task_default_queue = self.app_name
        self.timeout = timeout

    def fetch_logs(self, nas_ip: str, nas_port: str, limit: int = 100) -> list[AuthAttempt]:
        task = self.celery.send_task(
            f"{self.app_name}.get_auth_attempts_at_port", args=(nas_ip, nas_port), kwargs={"limit": limit}
        )
        try:
            rows = task.get(timeout=self.timeout)
        except CeleryTimeout:
            raise HadesTimeout(f"no answer from hades within {self.timeout} s") from None
        return [AuthAttempt(*row) for row in rows]
