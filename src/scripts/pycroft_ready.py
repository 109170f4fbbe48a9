"""Waits, once pytest has collected, until the services started beside it answer (src/testing/ready.ts).

PYCROFT_READY='[{"host": "db", "kind": "postgres", "port": 5432, "user": "postgres", "seconds": 120}, …]'

A check with "tests" (paths from the dir pytest started in) is for a service only those tests use:
the run waits for it before the first of them, and not at all if none of them runs.

The services of a test run start with its pytest process instead of before it, so pytest's imports and
collection overlap their starts; no test runs before every one of them answers as its client would
see it. One that does not within its seconds ends the run (exit code 3) with a line that starts
with NOT_READY and names it; the run then starts them again, checked, for their own last words.
A run that collects no test, or only collects, does not wait.
Also a program: `python pycroft_ready.py celery-ping BROKER_ENV SECONDS NODE…` (the Celery check).
"""

import json
import os
import socket
import struct
import subprocess
import sys
import threading
import time
import urllib.request

NOT_READY = "pycroft-ready: not ready:"
POLL_SECONDS = 0.1
IO_SECONDS = 2


def _answer(host, port, request, complete):
    """Sends request on a new connection and reads the answer until complete(answer) says it is whole,
    or the server hangs up (a server that answers waits for the client's next word)."""
    with socket.create_connection((host, port), timeout=IO_SECONDS) as conn:
        conn.sendall(request)
        data = b""
        while not complete(data):
            chunk = conn.recv(4096)
            if not chunk:
                break
            data += chunk
        return data


def _message(data):
    """Whether data holds a whole PostgreSQL message: a type byte, then its length (itself included)."""
    return len(data) >= 5 and len(data) >= 1 + struct.unpack("!i", data[1:5])[0]


def postgres_ready(check):
    """pg_isready's rule: any answer to a startup message but "the database system is starting up" (57P03)."""
    params = b"user\0" + check["user"].encode() + b"\0database\0postgres\0\0"
    body = struct.pack("!i", 196608) + params
    answer = _answer(check["host"], check["port"], struct.pack("!i", len(body) + 4) + body, _message)
    if answer[:1] == b"R":
        return True
    return answer[:1] == b"E" and b"C57P03\0" not in answer and b"C57P01\0" not in answer


# An anonymous simple bind (message 1, LDAPv3): any BindResponse means slapd serves requests.
LDAP_BIND = bytes.fromhex("300c020101600702010304008000")
# Message 1 and the BindResponse's tag, as they follow the LDAPMessage's sequence header.
BIND_RESPONSE = b"\x02\x01\x01\x61"


def ldap_ready(check):
    return BIND_RESPONSE in _answer(check["host"], check["port"], LDAP_BIND, lambda data: BIND_RESPONSE in data or len(data) >= 64)


def amqp_ready(check):
    """The broker answers AMQP 0-9-1's protocol header with Connection.Start (src/scripts/amqp-ready.sh)."""
    answer = _answer(check["host"], check["port"], b"AMQP\x00\x00\x09\x01", lambda data: len(data) >= 11)
    return len(answer) >= 11 and answer[:3] == b"\x01\x00\x00" and answer[7:11] == b"\x00\x0a\x00\x0a"


def http_ready(check):
    url = f"http://{check['host']}:{check['port']}{check['path']}"
    with urllib.request.urlopen(url, timeout=IO_SECONDS) as response:
        return response.status == 200


def celery_ready(check, seconds):
    """A worker that answers a ping: asked by a process of its own, which Celery's imports stay in."""
    command = [sys.executable, __file__, "celery-ping", check["brokerEnv"], str(seconds), check["node"]]
    return subprocess.run(command, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False).returncode == 0


PROBES = {"postgres": postgres_ready, "ldap": ldap_ready, "amqp": amqp_ready, "http": http_ready}


def wait_for(check, deadline):
    """Whether the service answered before the deadline (its errors until then count as "not yet")."""
    if check["kind"] == "celery":
        return celery_ready(check, max(deadline - time.monotonic(), 0))
    probe = PROBES[check["kind"]]
    while True:
        try:
            if probe(check):
                return True
        except OSError:
            pass
        if time.monotonic() >= deadline:
            return False
        time.sleep(POLL_SECONDS)


def start_waits(checks):
    """Waits for each check in a thread of its own, all at once: a function that gives a check's
    seconds to answer (None where it did not in its seconds), once it has them."""
    start = time.monotonic()
    answered, threads = {}, {}

    def run(check):
        ok = wait_for(check, start + check["seconds"])
        answered[check["host"]] = time.monotonic() - start if ok else None

    for check in checks:
        threads[check["host"]] = threading.Thread(target=run, args=(check,), daemon=True)
        threads[check["host"]].start()

    def result(check):
        threads[check["host"]].join()
        return answered[check["host"]]

    return result


def answers(checks, result):
    """Each check's host and the seconds it took to answer, or None where it did not in its seconds
    (`result`: start_waits'), in the checks' order, once each has its result."""
    return {check["host"]: result(check) for check in checks}


def settled(answered):
    """The answers as `host N s, …`; a run in which one did not answer in its seconds ends here
    (exit code 3), with a NOT_READY line naming each such one."""
    import pytest

    failed = sorted(host for host, seconds in answered.items() if seconds is None)
    if failed:
        pytest.exit(f"{NOT_READY} {', '.join(failed)}", returncode=3)
    return ", ".join(f"{host} {seconds:.1f} s" for host, seconds in answered.items())


def _under(path, tests):
    return any(path == t or path.startswith(t.rstrip("/") + "/") for t in tests)


def later(session, checks, result):
    """A plugin for the services only some tests use (a check's `tests`: paths from the dir pytest
    started in): it waits for each before the first of those tests, not before the first test, and
    not at all if none of them runs."""
    import pytest

    base = str(session.config.invocation_params.dir)
    paths = [os.path.relpath(str(item.path), base) for item in session.items]
    before = {}
    for check in checks:
        first = next((item for item, path in zip(session.items, paths) if _under(path, check["tests"])), None)
        if first is not None:
            before.setdefault(first.nodeid, []).append(check)

    class Later:
        @pytest.hookimpl(tryfirst=True)
        def pytest_runtest_setup(self, item):
            waiting = before.pop(item.nodeid, [])
            if not waiting:
                return
            began = time.monotonic()
            each = settled(answers(waiting, result))
            reporter = item.config.pluginmanager.get_plugin("terminalreporter")
            capture = item.config.pluginmanager.get_plugin("capturemanager")
            if reporter is not None and capture is not None:
                # A test's set-up output is captured: the line goes to the terminal, as --setup-show's do.
                with capture.global_and_fixture_disabled():
                    reporter.write_line(f"pycroft-ready: waited {time.monotonic() - began:.1f} s before {item.nodeid} ({each} after collection)")

    return Later()


def pytest_collection_finish(session):
    checks = json.loads(os.environ.get("PYCROFT_READY", "[]"))
    if not checks or not session.items or session.config.option.collectonly:
        return
    start = time.monotonic()
    now = [check for check in checks if "tests" not in check]
    later_checks = [check for check in checks if "tests" in check]
    result = start_waits(checks)
    if later_checks:
        session.config.pluginmanager.register(later(session, later_checks, result), "pycroft-ready-later")
    each = settled(answers(now, result))
    reporter = session.config.pluginmanager.get_plugin("terminalreporter")
    if reporter is not None and now:
        # Each one's seconds say which start a run waited on.
        reporter.write_line(f"pycroft-ready: answered {time.monotonic() - start:.1f} s after collection ({each})")


def celery_ping(broker_env, seconds, nodes):
    """Exits 0 once a worker named after each of nodes (NODE@host) answers a ping on the broker."""
    from celery import Celery

    app = Celery(broker=os.environ[broker_env])
    app.conf.broker_connection_timeout = IO_SECONDS
    app.conf.broker_connection_max_retries = 1
    deadline = time.monotonic() + seconds
    while True:
        try:
            replies = app.control.ping(timeout=0.5)
            answered = {name.partition("@")[0] for reply in replies for name in reply}
            if set(nodes) <= answered:
                return 0
        except Exception:  # noqa: BLE001, S110 - the broker itself may not answer yet
            pass
        if time.monotonic() >= deadline:
            return 1
        time.sleep(POLL_SECONDS)


if __name__ == "__main__" and sys.argv[1:2] == ["celery-ping"]:
    sys.exit(celery_ping(sys.argv[2], float(sys.argv[3]), sys.argv[4:]))
