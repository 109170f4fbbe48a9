"""The module's scripts (src/scripts), as the module hands them out, for their tests."""

import importlib.util
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

SCRIPTS = Path(__file__).resolve().parents[2] / "src" / "scripts"

# A script's settings block, as src/scripts/index.ts's withSettings finds it.
SETTINGS = re.compile(r"^(# >>> settings\b.*\n(?:#.*\n)*)[\s\S]*?(^# <<< settings$)", re.MULTILINE)


def with_settings(name, lines):
    """The script with these settings lines, as the module writes them into a script that leaves it."""
    text = (SCRIPTS / name).read_text()
    assert len(SETTINGS.findall(text)) == 1, f"{name} has not exactly one settings block"
    return SETTINGS.sub(lambda m: m[1] + "".join(line + "\n" for line in lines) + m[2], text)


def load(path, name):
    """The script at path imported as the module name (what runs under `if __name__ == "__main__"` does not)."""
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def run_python(args, project, env, timeout):
    """This Python with args in project, with env: its output captured as text, its exit code not checked."""
    return subprocess.run([sys.executable, *args], check=False, cwd=project, env=env, capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def tools_env():
    """The environment with this Python's tools (pytest, coverage) first on PATH, as in the app's image."""
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}"}


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def receiver(tmp_path):
    """Starts the receiver (pycroft-sync.py) as the stack does, on an app dir of its own: start(*command)
    gives (app dir, port, token); each one is ended after the test."""
    procs = []

    def start(*command, token="test-token"):
        root = tmp_path / f"app{len(procs)}"
        root.mkdir()
        port = free_port()
        env = {**os.environ, "PYCROFT_SYNC_TOKEN": token}
        procs.append(subprocess.Popen([sys.executable, str(SCRIPTS / "pycroft-sync.py"), str(port), str(root), *command], env=env))
        for _ in range(200):
            with socket.socket() as s:
                if s.connect_ex(("127.0.0.1", port)) == 0:
                    return root, port, token
            time.sleep(0.05)
        raise AssertionError(f"the receiver never listened on {port}")

    yield start
    for proc in procs:
        proc.kill()
        proc.wait()
