"""The wait for a test run's services (pycroft_ready.py): each probe against a server on this machine
that answers as the service would, or not yet; and the plugin in a real pytest run, which waits
after collecting, ends the run naming what never answered, and does not wait when nothing runs."""

import json
import os
import re
import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest
from conftest import SCRIPTS, load, run_python


@pytest.fixture(scope="module")
def ready():
    return load(SCRIPTS / "pycroft_ready.py", "pycroft_ready_plugin")


def serve(answer, delay=0.0, host="127.0.0.1"):
    """A server on a free port of host that, after delay seconds, answers each connection with
    answer(request) (bytes; None closes without a word) and, as a real server, then waits for the
    client's next word until the client hangs up. Returns its port."""
    listener = socket.socket()
    listener.bind((host, 0))
    port = listener.getsockname()[1]

    if not delay:
        listener.listen(8)

    def run():
        if delay:
            time.sleep(delay)
            listener.listen(8)
        while True:
            conn, _ = listener.accept()
            with conn:
                reply = answer(conn.recv(1024))
                if reply is not None:
                    # In two parts, as a network may deliver it.
                    conn.sendall(reply[:3])
                    time.sleep(0.05)
                    conn.sendall(reply[3:])
                    conn.settimeout(5)
                    while conn.recv(1024):
                        pass

    threading.Thread(target=run, daemon=True).start()
    return port


def closed_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def check(kind, port, host="127.0.0.1", **more):
    """A check as the module writes it; the host names the service in messages too (another loopback
    address tells two checks apart)."""
    return {"kind": kind, "host": host, "port": port, "seconds": 1, **more}


def pg_error(code):
    fields = b"SFATAL\0C" + code.encode() + b"\0Mthe database system is starting up\0\0"
    return b"E" + (len(fields) + 4).to_bytes(4, "big") + fields


def test_postgres_is_ready_on_any_answer_but_starting_up_as_pg_isready_says(ready):
    seen = []

    def answer(request):
        seen.append(request)
        # AuthenticationSASL, as a server with scram-sha-256 answers; then it waits for the client.
        mechanisms = b"SCRAM-SHA-256\0\0"
        return b"R" + (8 + len(mechanisms)).to_bytes(4, "big") + (10).to_bytes(4, "big") + mechanisms

    assert ready.postgres_ready(check("postgres", serve(answer), user="postgres"))
    # A protocol 3.0 startup message for the user given.
    assert seen[0][4:8] == (196608).to_bytes(4, "big") and b"user\0postgres\0" in seen[0]
    assert not ready.postgres_ready(check("postgres", serve(lambda _: pg_error("57P03")), user="postgres"))
    assert not ready.postgres_ready(check("postgres", serve(lambda _: pg_error("57P01")), user="postgres"))
    # A wrong password, say: the server answers, so it is up.
    assert ready.postgres_ready(check("postgres", serve(lambda _: pg_error("28P01")), user="postgres"))


def test_ldap_is_ready_once_an_anonymous_bind_gets_a_bind_response(ready):
    response = bytes.fromhex("300c02010161070a010004000400")
    assert ready.ldap_ready(check("ldap", serve(lambda req: response if req == ready.LDAP_BIND else None)))
    assert not ready.ldap_ready(check("ldap", serve(lambda _: None)))
    # Another protocol's answer, the server then waiting: not ready (one attempt, its time out an error).
    assert not ready.wait_for(check("ldap", serve(lambda _: b"HTTP/1.0 400 Bad Request\r\n\r\n")), time.monotonic())


def test_amqp_is_ready_once_the_header_gets_connection_start(ready):
    # Connection.Start and its arguments (RabbitMQ's frame is some 500 bytes, all sent at once).
    start = bytes.fromhex("0100000000019c000a000a0009") + bytes(400)
    assert ready.amqp_ready(check("amqp", serve(lambda req: start if req == b"AMQP\x00\x00\x09\x01" else None)))
    # A protocol header back (the version refused), or another method.
    assert not ready.wait_for(check("amqp", serve(lambda _: b"AMQP\x00\x00\x09\x01")), time.monotonic())
    assert not ready.amqp_ready(check("amqp", serve(lambda _: bytes.fromhex("0100000000019c000a0014"))))


@pytest.fixture
def http_status():
    """An HTTP server whose status for every GET is the list's first element (changed by the test)."""
    status = [503]
    paths = []

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            paths.append(self.path)
            self.send_response(status[0])
            self.end_headers()

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server.server_address[1], status, paths
    server.shutdown()


def test_http_is_ready_on_200_from_the_path_given(ready, http_status):
    port, status, paths = http_status
    probe = check("http", port, path="/health/ready", seconds=0.3)
    assert not ready.wait_for(probe, time.monotonic() + 0.3)
    status[0] = 200
    assert ready.wait_for(probe, time.monotonic() + 1)
    assert set(paths) == {"/health/ready"}


def test_waits_for_all_at_once_and_names_those_that_never_answered(ready):
    start = bytes.fromhex("0100000000019c000a000a0009")
    late = check("amqp", serve(lambda _: start, delay=0.5), seconds=5)
    never = check("amqp", closed_port(), host="127.0.0.3", seconds=1)
    also_never = check("amqp", closed_port(), host="127.0.0.2", seconds=1)
    began = time.monotonic()
    answered = ready.answers([late, never, also_never], ready.start_waits([late, never, also_never]))
    # Side by side: each within its own seconds, not one after another.
    assert 0.9 < time.monotonic() - began < 1.9
    assert list(answered) == ["127.0.0.1", "127.0.0.3", "127.0.0.2"]
    assert 0.5 <= answered["127.0.0.1"] < 0.9
    assert answered["127.0.0.3"] is None and answered["127.0.0.2"] is None
    soon = [check("amqp", serve(lambda _: start))]
    assert ready.answers(soon, ready.start_waits(soon))["127.0.0.1"] < 0.5


def test_a_worker_is_asked_by_a_process_of_its_own_that_fails_without_an_answer(ready, monkeypatch):
    # No broker, and here no Celery either: the check's process fails, and the worker is not ready.
    monkeypatch.setenv("PYCROFT_TEST_BROKER", "amqp://guest:guest@127.0.0.1:1//")
    began = time.monotonic()
    assert not ready.wait_for({"host": "w", "kind": "celery", "node": "w", "brokerEnv": "PYCROFT_TEST_BROKER", "seconds": 1}, time.monotonic() + 1)
    assert time.monotonic() - began < 10


@pytest.fixture
def project(tmp_path):
    (tmp_path / "test_one.py").write_text("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    return tmp_path


def run_pytest(project, checks, *args):
    env = {
        **os.environ,
        "PYTHONPATH": str(SCRIPTS),
        "PYTEST_ADDOPTS": "-p pycroft_ready",
        "PYCROFT_READY": json.dumps(checks),
    }
    began = time.monotonic()
    ran = run_python(["-m", "pytest", "-p", "no:cacheprovider", *args], project, env, timeout=60)
    return ran, time.monotonic() - began


def test_the_plugin_waits_after_collecting_then_runs_the_tests(project):
    start = bytes.fromhex("0100000000019c000a000a0009")
    ran, took = run_pytest(project, [check("amqp", serve(lambda _: start, delay=1.0), seconds=10)])
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "collected 2 items" in ran.stdout
    assert re.search(r"^pycroft-ready: answered \d+\.\d s after collection \(127\.0\.0\.1 \d+\.\d s\)$", ran.stdout, re.MULTILINE), ran.stdout
    assert "2 passed" in ran.stdout
    assert took > 1.0


def test_the_plugin_ends_the_run_naming_what_never_answered(project, ready):
    never = [check("amqp", closed_port(), host="127.0.0.3", seconds=0.5), check("ldap", closed_port(), host="127.0.0.2", seconds=0.5)]
    ran, _ = run_pytest(project, never)
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert f"{ready.NOT_READY} 127.0.0.2, 127.0.0.3" in ran.stdout + ran.stderr
    assert "passed" not in ran.stdout


def test_the_plugin_does_not_wait_when_no_test_runs(project):
    never = [check("amqp", closed_port(), seconds=30)]
    ran, took = run_pytest(project, never, "--collect-only")
    assert ran.returncode == 0 and "2 tests collected" in ran.stdout, ran.stdout + ran.stderr
    ran, took_deselected = run_pytest(project, never, "-k", "nothing_matches")
    assert ran.returncode == 5, ran.stdout + ran.stderr
    assert took < 20 and took_deselected < 20


@pytest.fixture
def two_dirs(tmp_path):
    """Tests in two places: tests/test_one.py, and tests/worker/test_two.py that only some service serves."""
    (tmp_path / "tests" / "worker").mkdir(parents=True)
    (tmp_path / "tests" / "test_one.py").write_text("def test_one():\n    pass\n\ndef test_two():\n    pass\n")
    (tmp_path / "tests" / "worker" / "test_two.py").write_text("def test_three():\n    pass\n")
    return tmp_path


START = bytes.fromhex("0100000000019c000a000a0009")


def test_a_service_of_some_tests_is_waited_for_before_the_first_of_them_only(two_dirs):
    now = check("amqp", serve(lambda _: START), seconds=10)
    later = check("amqp", serve(lambda _: START, delay=2.0, host="127.0.0.2"), host="127.0.0.2", seconds=10, tests=["tests/worker"])
    ran, took = run_pytest(two_dirs, [now, later], "-v", "tests")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    lines = ran.stdout.splitlines()
    # The first tests ran before the wait; the wait names the test it was for and the service.
    first = lines.index(next(line for line in lines if line.startswith("pycroft-ready: answered")))
    waited = lines.index(next(line for line in lines if line.startswith("pycroft-ready: waited")))
    assert re.fullmatch(r"pycroft-ready: answered \d+\.\d s after collection \(127\.0\.0\.1 \d+\.\d s\)", lines[first])
    answer = r"\(127\.0\.0\.2 \d+\.\d s after collection\)"
    assert re.fullmatch(rf"pycroft-ready: waited \d+\.\d s before tests/worker/test_two\.py::test_three {answer}", lines[waited])
    assert first < waited
    passed = [i for i, line in enumerate(lines) if "test_one.py::test_" in line and "PASSED" in line]
    assert len(passed) == 2 and max(passed) < waited
    assert "3 passed" in lines[-1]
    assert took > 2.0


def test_a_service_of_tests_that_do_not_run_is_not_waited_for(two_dirs):
    never = check("amqp", closed_port(), host="127.0.0.3", seconds=30, tests=["tests/worker"])
    ran, took = run_pytest(two_dirs, [check("amqp", serve(lambda _: START), seconds=10), never], "tests/test_one.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "pycroft-ready: waited" not in ran.stdout
    assert took < 20


def test_a_service_of_some_tests_that_never_answers_ends_the_run_before_them(two_dirs, ready):
    never = check("amqp", closed_port(), host="127.0.0.3", seconds=1, tests=["tests/worker"])
    ran, _ = run_pytest(two_dirs, [check("amqp", serve(lambda _: START), seconds=10), never], "-v", "tests")
    assert ran.returncode == 3, ran.stdout + ran.stderr
    assert f"{ready.NOT_READY} 127.0.0.3" in ran.stdout + ran.stderr
    assert ran.stdout.count("PASSED") == 2
    assert "test_three PASSED" not in ran.stdout
    assert "2 passed" in ran.stdout
