"""pytest, started ahead of its run (src/testing/ahead.ts), in the app dir:

python pycroft-pytest-ahead.py RECORD [AGAIN]   (the run's arguments on stdin, one a line)
"""

import atexit
import importlib
import json
import os
import shutil
import sys
import types
import warnings

app = os.path.realpath(os.getcwd())
record = sys.argv[1]
# How many times this process has started again with more left to the run.
again = int(sys.argv[2]) if len(sys.argv) > 2 else 0


def under_app(path):
    return bool(path) and os.path.realpath(path).startswith(app + os.sep)


def plugin_packages():
    """The top-level packages and modules of the distributions that have pytest plugins."""
    from importlib.metadata import distributions

    names = set()
    for dist in distributions():
        if any(ep.group == "pytest11" for ep in dist.entry_points):
            for f in dist.files or []:
                top = f.parts[0]
                if len(f.parts) == 1 and top.endswith(".py"):
                    names.add(top[:-3])
                elif len(f.parts) > 1 and not top.endswith((".dist-info", ".data")) and top != "..":
                    names.add(top)
    return names


class NotAhead:
    """Refuses, while importing ahead, what the run must import itself; counts its refusals."""

    def __init__(self, packages, names):
        self.packages, self.names, self.refused = packages, names, 0

    def refuse(self, why):
        self.refused += 1
        raise ImportError(why)

    def find_spec(self, name, path=None, target=None):
        if name.partition(".")[0] in self.packages or any(name == n or name.startswith(n + ".") for n in self.names):
            self.refuse(f"{name} is left to the run")
        for finder in sys.meta_path:
            if finder is not self and hasattr(finder, "find_spec"):
                spec = finder.find_spec(name, path, target)
                if spec is not None:
                    break
        else:
            return
        places = [spec.origin] if spec.has_location else list(spec.submodule_search_locations or [])
        if any(under_app(p) for p in places):
            self.refuse(f"{name} is in the app dir")
        return


def save(modules, plugins, left):
    with open(record + ".new", "w") as f:
        json.dump({"modules": modules, "plugins": plugins, "left": left}, f)
    os.replace(record + ".new", record)


try:
    with open(record) as f:
        last = json.load(f)
except (OSError, ValueError):
    last = {}
modules, plugins, left = last.get("modules", []), last.get("plugins", []), last.get("left", [])

import pytest

refuse = NotAhead(plugin_packages(), set(plugins) | set(left))
sys.meta_path.insert(0, refuse)
newly_left = []
with warnings.catch_warnings(record=True) as raised:
    warnings.simplefilter("always")
    for name in modules:
        if name in sys.modules:
            continue
        warned, refused = len(raised), refuse.refused
        try:
            importlib.import_module(name)
            imported = True
        except BaseException:  # noqa: BLE001
            # Whatever stops an import here (even SystemExit) is the run's to meet, if it imports it.
            imported = False
        if len(raised) > warned or (imported and refuse.refused > refused):
            newly_left.append(name)
sys.meta_path.remove(refuse)
if newly_left:
    save(modules, plugins, left + newly_left)
    if again < 5:
        sys.stdout.flush()
        os.execv(sys.executable, [sys.executable, sys.argv[0], record, str(again + 1)])


class Plugins:
    """Notes the plugin modules the run loads: the next runs leave them to pytest."""

    def __init__(self):
        self.names = []

    def pytest_configure(self, config):
        # pytest's own are imported with it; conftests are the app's.
        self.names = [
            p.__name__
            for p in config.pluginmanager.get_plugins()
            if isinstance(p, types.ModuleType)
            and p.__name__.partition(".")[0] not in ("pytest", "_pytest")
            and not under_app(getattr(p, "__file__", None))
        ]


args = [a for a in sys.stdin.read().split("\n") if a]
os.dup2(os.open(os.devnull, os.O_RDONLY), 0)
# As the pytest script runs: its path first in argv and in sys.path.
script = shutil.which("pytest") or "pytest"
if newly_left:
    os.execvp(script, [script, *args])
sys.argv = [script, *args]
sys.path[0] = os.path.dirname(script)
importlib.invalidate_caches()
loaded = Plugins()
try:
    code = pytest.main(args, plugins=[loaded])
    sys.stdout.flush()
except BrokenPipeError:
    os.dup2(os.open(os.devnull, os.O_WRONLY), 1)
    code = 1
save([n for n, m in list(sys.modules.items()) if getattr(m, "__file__", None) and not under_app(m.__file__) and n != "__main__"], loaded.names, left)
# As pycroft-pytest.py ends pytest: without the interpreter's teardown, which the run's result waits for.
atexit._run_exitfuncs()  # what a normal exit runs
for stream in (sys.stdout, sys.stderr):
    try:
        stream.flush()
    except (OSError, ValueError):
        pass
os._exit(int(code))
