"""Against the dummy hades worker (helpers/dummy_celery_worker.py), which must be running: as in
Pycroft, nothing here starts it, and without it these tests fail."""
import time
from concurrent.futures import ThreadPoolExecutor

import pytest

from hades_logs import HadesLogs, HadesTimeout

SLOW_SECONDS = 3  # helpers/dummy_celery_worker.py's SLOW_SECONDS


@pytest.fixture(scope="module")
def hades_logs():
    return HadesLogs(timeout=10)


def test_logs_of_a_port(hades_logs):
    logs = hades_logs.fetch_logs("10.160.0.1", "A23")
    assert [log.accepted for log in logs] == [False, True, True]
    assert logs[1].groups == ["member"]


def test_limit(hades_logs):
    assert len(hades_logs.fetch_logs("10.160.0.1", "A23", limit=1)) == 1


def test_unknown_port_has_no_logs(hades_logs):
    assert hades_logs.fetch_logs("", "") == []


def test_slow_answer_times_out():
    with pytest.raises(HadesTimeout):
        HadesLogs(timeout=1).fetch_logs("", "slow")


def test_slow_tasks_run_side_by_side(hades_logs):
    # One worker process would take 3 × SLOW_SECONDS (plus whatever the last test left running).
    start = time.monotonic()
    with ThreadPoolExecutor(3) as pool:
        results = list(pool.map(lambda _: HadesLogs(timeout=10).fetch_logs("", "slow"), range(3)))
    assert results == [[], [], []]
    assert time.monotonic() - start < 2 * SLOW_SECONDS
