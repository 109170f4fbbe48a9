"""The shard runner and the merge (pycroft_shard.py, pytest.sh, merge-shards.sh with merge-junit.py
and merge-coverage.py), run for real with pytest and coverage.py on a small project: how a run builds
pytest's coverage arguments, how the suite is split, and the merged reports and exit code; a merge
whose coverage data cannot be combined fails."""

import os
import subprocess
import xml.etree.ElementTree as ET

import pytest
from conftest import SCRIPTS, load


@pytest.fixture(scope="module")
def plugin():
    return load(SCRIPTS / "pycroft_shard.py", "pycroft_shard_plugin")


@pytest.fixture(scope="module")
def merge():
    return load(SCRIPTS / "merge-junit.py", "merge_junit")


def test_split_gives_whole_files_largest_first_to_the_least_loaded_shard_the_lowest_on_a_tie(plugin):
    sizes = {"test_a.py": 5, "test_b.py": 3, "test_c.py": 2, "test_d.py": 2}
    assert plugin.split(sizes, 2) == {"test_a.py": 1, "test_b.py": 2, "test_c.py": 2, "test_d.py": 1}
    assert plugin.split(sizes, 3) == {"test_a.py": 1, "test_b.py": 2, "test_c.py": 3, "test_d.py": 3}
    # Equal sizes: by name; more shards than files leave the last ones empty.
    assert plugin.split({"y": 1, "x": 1}, 4) == {"x": 1, "y": 2}
    assert plugin.split({}, 2) == {}


@pytest.mark.parametrize(
    ("codes", "coverage_failed", "expected"),
    [
        ([0, 0], False, 0),
        ([0, 5], False, 0),
        ([5, 5], False, 5),
        ([1, 0], False, 1),
        ([1, 5], False, 1),
        ([1, 4], False, 4),
        ([0, 2], False, 2),
        ([3, 1], False, 3),
        # Coverage data that cannot be combined is an internal error: the run fails, passed or not.
        ([0, 0], True, 3),
        ([5, 5], True, 3),
        ([1, 0], True, 3),
        ([4, 0], True, 4),
    ],
)
def test_exit_code_is_one_pytest_process_s(merge, codes, coverage_failed, expected):
    assert merge.exit_code(codes, coverage_failed) == expected


@pytest.fixture
def project(tmp_path):
    """A package and four test files (5, 3, 2 and 2 tests; test_b has a failure), each test calling a
    function of its own in the package, so every shard covers other lines."""
    root = tmp_path / "project"
    (root / "pkg").mkdir(parents=True)
    files = {"a": 5, "b": 3, "c": 2, "d": 2}
    (root / "pkg/__init__.py").write_text("".join(f"def {f}{i}():\n    return {i}\n\n\n" for f, n in files.items() for i in range(n)))
    for f, n in files.items():
        tests = [f"def test_{f}{i}():\n    assert pkg.{f}{i}() == {i + (1 if (f, i) == ('b', 2) else 0)}\n" for i in range(n)]
        (root / f"test_{f}.py").write_text("import pkg\n\n\n" + "\n\n".join(tests))
    return root


def run_pytest(project, reports, env, cover, *args, shard=None):
    """pytest.sh as the module runs it in a shard's container (src/testing/shards.ts's inShard)."""
    run_env = {**env, "PYTHONPATH": f"{project}{os.pathsep}{SCRIPTS}", "COVERAGE_FILE": f"{reports}/.coverage"}
    if shard:
        run_env.update(PYTEST_PLUGINS="pycroft_shard", PYCROFT_SHARD=shard)
    cov = ["1", "--cov=pkg"] if cover else [""]
    command = ["bash", SCRIPTS / "pytest.sh", SCRIPTS / "pycroft-pytest.py", reports, *cov, "-p", "no:cacheprovider", *args]
    return subprocess.run(command, check=False, cwd=project, env=run_env, capture_output=True, text=True)


def test_a_single_run_reports_its_coverage_and_writes_its_log_and_exit_code(project, tmp_path, tools_env):
    reports = tmp_path / "reports"
    ran = run_pytest(project, reports, tools_env, True)
    assert ran.returncode == 1, ran.stdout
    assert (reports / "exit-code").read_text() == "1\n"
    assert (reports / "pytest.log").read_text() == ran.stdout
    assert "FAILED test_b.py::test_b2" in ran.stdout
    assert (reports / "coverage.xml").exists() and (reports / "htmlcov/index.html").exists()
    assert ET.parse(reports / "junit.xml").getroot().find("testsuite").get("tests") == "12"


def test_a_shard_keeps_only_its_coverage_data_and_runs_only_its_files(project, tmp_path, tools_env):
    reports = tmp_path / "shard"
    ran = run_pytest(project, reports, tools_env, True, shard="1/2")
    assert ran.returncode == 0, ran.stdout
    assert "shard 1/2: 7 tests in 2 files" in ran.stdout
    assert (reports / ".coverage").exists()
    assert not (reports / "coverage.xml").exists() and not (reports / "htmlcov").exists()


def test_a_run_without_coverage_measures_nothing(project, tmp_path, tools_env):
    reports = tmp_path / "plain"
    ran = run_pytest(project, reports, tools_env, False, "-k", "a1 or c1")
    assert ran.returncode == 0, ran.stdout
    assert "2 passed, 10 deselected" in ran.stdout
    assert sorted(os.listdir(reports)) == ["exit-code", "junit.xml", "pytest.log"]


def shards(project, tmp_path, env, count=2):
    """Runs the suite in `count` shards with coverage; their reports dirs are tmp_path/shards/1…"""
    for i in range(1, count + 1):
        run_pytest(project, tmp_path / "shards" / str(i), env, True, shard=f"{i}/{count}")
    return tmp_path / "shards"


def merge_shards(project, shards_dir, reports, env, count=2):
    """merge-shards.sh as the merge container runs it, with the packages the shards measured."""
    command = ["bash", SCRIPTS / "merge-shards.sh", shards_dir, reports, str(count)]
    return subprocess.run(command, check=False, cwd=project, env={**env, "PYCROFT_COVERAGE_PACKAGES": "pkg"}, capture_output=True, text=True)


def covered_lines(xml):
    return sum(int(c.get("lines-covered")) for c in [ET.parse(xml).getroot()])


def test_the_merge_reports_every_shard_s_coverage_and_tests_as_one_run(project, tmp_path, tools_env):
    shards_dir = shards(project, tmp_path, tools_env)
    single = tmp_path / "single"
    run_pytest(project, single, tools_env, True)
    reports = tmp_path / "merged"
    merged = merge_shards(project, shards_dir, reports, tools_env)
    assert merged.returncode == 1, merged.stdout
    assert (reports / "exit-code").read_text() == "1\n"
    # Together the shards covered what one run covers; the data files were combined away.
    assert covered_lines(reports / "coverage.xml") == covered_lines(single / "coverage.xml")
    assert (reports / "htmlcov/index.html").exists()
    assert not (reports / ".coverage").exists()
    root = ET.parse(reports / "junit.xml").getroot()
    assert (root.get("tests"), root.get("failures")) == ("12", "1")
    assert merged.stdout.rstrip().splitlines()[-1].startswith("===== 1 failed, 11 passed in ")


def test_the_merge_fails_the_run_when_the_coverage_data_cannot_be_combined(project, tmp_path, tools_env):
    shards_dir = shards(project, tmp_path, tools_env)
    (shards_dir / "2/.coverage").write_bytes(b"not a coverage data file")
    reports = tmp_path / "merged"
    merged = merge_shards(project, shards_dir, reports, tools_env)
    assert merged.returncode == 3, merged.stdout
    assert (reports / "exit-code").read_text() == "3\n"
    assert "the shards' coverage data could not be combined" in merged.stdout
    assert not (reports / "coverage.xml").exists()
    # The rest is merged all the same, and the log says why the run failed.
    assert ET.parse(reports / "junit.xml").getroot().get("tests") == "12"
    assert "could not be combined (its error is above the shards' logs): exit code 3" in (reports / "pytest.log").read_text()


def test_the_merge_names_a_shard_without_coverage_data_and_combines_the_others(project, tmp_path, tools_env):
    shards_dir = shards(project, tmp_path, tools_env)
    (shards_dir / "1/.coverage").unlink()
    reports = tmp_path / "merged"
    merged = merge_shards(project, shards_dir, reports, tools_env)
    assert merged.returncode == 1, merged.stdout
    assert "shard 1/2 left no coverage data" in merged.stdout
    assert (reports / "coverage.xml").exists()
