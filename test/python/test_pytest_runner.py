"""src/scripts/pycroft-pytest.py: pytest as its console script runs it, the process ended once pytest returns."""

import importlib.util
import marshal
import os
import shutil
import sys

import pytest
from conftest import SCRIPTS, load, run_python

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


def run(project, *args, store=None):
    env = {**os.environ, "PATH": f"{os.path.dirname(sys.executable)}{os.pathsep}{os.environ['PATH']}", "EXIT_MARK": str(project / "exit-mark")}
    env.pop("PYCROFT_BYTECODE", None)
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    if store is not None:
        env["PYCROFT_BYTECODE"] = str(store)
    return run_python([str(RUNNER), "-p", "no:cacheprovider", *args], project, env, timeout=30)


def test_passes_pytests_exit_code_and_whole_output_through_a_pipe(project):
    ran = run(project, "tests/test_one.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert ran.stderr == ""  # no warning: pytest's own entry point, not its deprecated console_main
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


# The bytecode store (PYCROFT_BYTECODE): compiled modules kept by their source's content.

runner = load(RUNNER, "pycroft_pytest_runner")


def compile_for(source, code_source):
    """A timestamp pyc at source's cache path, stamped for source's stat, holding code_source's bytecode."""
    data = importlib.util.MAGIC_NUMBER + b"\0\0\0\0" + runner.stamp(os.stat(source))
    cfile = importlib.util.cache_from_source(str(source))
    os.makedirs(os.path.dirname(cfile), exist_ok=True)
    with open(cfile, "wb") as f:
        f.write(data + marshal.dumps(compile(code_source, str(source), "exec")))
    return cfile


def value_of(root, module="mod"):
    """What `module.VALUE` is when a new Python imports it from root (its bytecode where valid)."""
    env = {**os.environ, "PYTHONPATH": str(root)}
    ran = run_python(["-c", f"import {module}; print({module}.VALUE)"], root, env, timeout=30)
    assert ran.returncode == 0, ran.stderr
    return ran.stdout.strip()


@pytest.fixture
def module_tree(tmp_path):
    root, store = tmp_path / "app", tmp_path / "store"
    (root / "pkg").mkdir(parents=True)
    (root / "mod.py").write_text("VALUE = 1\n")
    (root / "node_modules").mkdir()
    (root / "node_modules" / "skip.py").write_text("VALUE = 0\n")
    return root, store


def test_keep_stores_the_runs_bytecode_and_restore_brings_it_back_stamped_for_the_file_as_it_is(module_tree):
    root, store = module_tree
    source = root / "mod.py"
    # Bytecode that differs from what the source compiles to shows which of the two an import ran.
    compile_for(source, "VALUE = 2\n")
    runner.keep(str(root), str(store), set())
    kept = list(store.rglob("*.pyc"))
    assert [p.name for p in kept] == [f"mod.{sys.implementation.cache_tag}.pyc"]
    assert kept[0].parent.name == importlib.util.source_hash(source.read_bytes()).hex()
    shutil.rmtree(root / "__pycache__")
    os.utime(source, (1_000_000_000, 1_000_000_000))  # a new checkout: the same content, another mtime
    written = runner.restore(str(root), str(store))
    assert written == {importlib.util.cache_from_source(str(source))}
    assert value_of(root) == "2"


def test_restore_leaves_out_the_bytecode_of_other_content_with_the_same_size_and_mtime(module_tree):
    root, store = module_tree
    source = root / "mod.py"
    compile_for(source, "VALUE = 1\n")
    runner.keep(str(root), str(store), set())
    shutil.rmtree(root / "__pycache__")
    stat = os.stat(source)
    source.write_text("VALUE = 3\n")  # the same size, and set back to the same mtime below
    os.utime(source, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    assert runner.restore(str(root), str(store)) == set()
    assert value_of(root) == "3"


def test_keep_leaves_out_bytecode_that_no_longer_matches_its_source_and_what_it_restored(module_tree):
    root, store = module_tree
    source = root / "mod.py"
    compile_for(source, "VALUE = 1\n")
    source.write_text("VALUE = 10\n")  # changed after it was compiled: another size
    (root / "pkg" / "other.py").write_text("VALUE = 4\n")
    restored = {compile_for(root / "pkg" / "other.py", "VALUE = 4\n")}
    compile_for(root / "node_modules" / "skip.py", "VALUE = 0\n")
    runner.keep(str(root), str(store), restored)
    assert list(store.rglob("*.pyc")) == []


def test_a_second_run_uses_the_test_modules_rewritten_by_the_first(project, tmp_path):
    store = tmp_path / "store"
    first = run(project, "tests/test_two.py", store=store)
    assert first.returncode == 1
    rewritten = [p for p in store.rglob("*.pyc") if "-pytest-" in p.name]
    assert [p.parent.parent.name for p in rewritten] == ["test_two.py"]
    # Where the first run's rewritten module says the test passes, the second runs that module.
    header = rewritten[0].read_bytes()[:16]
    rewritten[0].write_bytes(
        header + marshal.dumps(compile("def test_fails():\n    assert 2 == 2\n", str(project / "tests" / "test_two.py"), "exec"))
    )
    shutil.rmtree(project / "tests" / "__pycache__")
    second = run(project, "tests/test_two.py", store=store)
    assert second.returncode == 0, second.stdout


def test_a_store_that_cannot_be_used_only_costs_the_compiling(project, tmp_path):
    store = tmp_path / "not-a-dir"
    store.write_text("")
    ran = run(project, "tests/test_two.py", store=store)
    assert ran.returncode == 1
    assert "1 failed" in ran.stdout
    assert "pycroft-pytest: stored bytecode not used:" in ran.stderr
    assert "pycroft-pytest: bytecode not stored:" in ran.stderr
