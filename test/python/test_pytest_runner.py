"""src/scripts/pycroft-pytest.py: pytest as its console script runs it, the process ended once pytest returns."""

import os
import sys

import pytest
from conftest import SCRIPTS, run_python

RUNNER = SCRIPTS / "pycroft-pytest.py"


@pytest.fixture
def project(tmp_path):
    (tmp_path / "helper.py").write_text("VALUE = 1\n")
    tests = tmp_path / "tests"
    tests.mkdir()
    (tests / "test_one.py").write_text(
        "import atexit, importlib.util, os, threading, time\n"
        "def test_passes():\n"
        "    # The console script leaves the current dir off sys.path: its modules are not importable.\n"
        "    assert importlib.util.find_spec('helper') is None\n"
        "def test_registers_an_exit_handler():\n"
        "    atexit.register(lambda: open(os.environ['EXIT_MARK'], 'w').write('ran'))\n"
        "def test_leaves_a_thread_running():\n"
        "    threading.Thread(target=time.sleep, args=(60,)).start()\n"
    )
    (tests / "test_two.py").write_text("def test_fails():\n    assert 1 == 2\n")
    return tmp_path


def run(project, *args):
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}", "EXIT_MARK": str(project / "exit-mark")}
    return run_python([str(RUNNER), "-p", "no:cacheprovider", *args], project, env, timeout=30)


def test_passes_pytests_exit_code_and_whole_output_through_a_pipe(project):
    ran = run(project, "tests/test_one.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stdout.rstrip().splitlines()[-1].startswith("=")
    assert "3 passed" in ran.stdout.rstrip().splitlines()[-1]
    failed = run(project, "tests")
    assert failed.returncode == 1
    assert "1 failed, 3 passed" in failed.stdout
    assert run(project, "--no-such-option").returncode == 4
    assert run(project, "tests/nothing_here.py").returncode == 4


def test_runs_the_exit_handlers_and_does_not_wait_for_threads_left_running(project):
    # The test's thread sleeps 60 s: the 30 s timeout of run() would end a process that waited for it.
    ran = run(project, "tests/test_one.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert (project / "exit-mark").read_text() == "ran"


def test_writes_the_reports_asked_for(project):
    ran = run(project, "tests", f"--junitxml={project / 'junit.xml'}")
    assert ran.returncode == 1
    assert 'failures="1"' in (project / "junit.xml").read_text()
