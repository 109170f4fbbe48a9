"""The watcher's own logic (pycroft-watch.py): what a scan finds and leaves out, what it sends after
an edit, which edits it names as dependency changes, its help; and its sends and runs against the
stack's real receiver (pycroft-sync.py)."""

import json
import os
import subprocess
import sys

import pytest
from conftest import load, with_settings

EXCLUDES = ["**/.git", "**/__pycache__", "**/*.egg-info", "htmlcov", "web/static/dist"]
MANIFESTS = ["pyproject.toml", "uv.lock"]
PATH_DEPENDENCY = r"^deps/[^/]+/(pyproject\.toml|setup\.py)$"


def exported(tmp_path, excludes=EXCLUDES):
    """The watcher as `dagger call watcher` exports it, with these settings, as a file."""
    path = tmp_path / "pycroft-watch.py"
    path.write_text(
        with_settings(
            "pycroft-watch.py",
            [
                'NAME = "pycroft-watch.py"',
                "PORT = 5099",
                f"EXCLUDES = {json.dumps(excludes)}",
                f"MANIFESTS = {json.dumps(MANIFESTS)}",
                f"PATH_DEPENDENCY = {json.dumps(PATH_DEPENDENCY)}",
            ],
        )
    )
    return path


@pytest.fixture
def watcher(tmp_path):
    return load(exported(tmp_path), "pycroft_watch")


def tree(top, paths):
    for rel in paths:
        path = top / rel
        if rel.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(rel)


def files_of(found):
    return sorted(p for p, what in found.items() if what != "dir")


def test_scan_leaves_out_what_never_leaves_the_machine_by_name_anywhere_and_by_path_from_the_top(watcher, tmp_path):
    top = tmp_path / "checkout"
    kept = ["app.py", "pkg/mod.py", "pkg/htmlcov/x.html", "web/static/css/a.css", "web/dist/b.js", "gitignore", "egg-info.py"]
    left = [".git/HEAD", "pkg/.git/config", "pkg/__pycache__/a.pyc", "a.egg-info/PKG-INFO", "htmlcov/index.html", "web/static/dist/app.js"]
    tree(top, kept + left)
    found = watcher.scan(str(top))
    assert files_of(found) == sorted(kept)
    # Nor is a directory left out listed; the others are, as directories.
    assert sorted(p for p, what in found.items() if what == "dir") == ["pkg", "pkg/htmlcov", "web", "web/dist", "web/static", "web/static/css"]


def test_scan_never_follows_nor_sends_a_link_and_records_a_file_as_it_is(watcher, tmp_path):
    top = tmp_path / "checkout"
    tree(top, ["real/a.py"])
    (top / "link.py").symlink_to(top / "real/a.py")
    (top / "linked-dir").symlink_to(top / "real")
    found = watcher.scan(str(top))
    assert sorted(found) == ["real", "real/a.py"]
    st = os.stat(top / "real/a.py")
    assert found["real/a.py"] == (st.st_mtime_ns, st.st_size, st.st_mode, st.st_ino)


def test_scan_of_a_missing_checkout_finds_nothing(watcher, tmp_path):
    assert watcher.scan(str(tmp_path / "gone")) == {}


def test_with_no_name_pattern_nothing_is_left_out_by_name(tmp_path):
    watcher = load(exported(tmp_path, excludes=["htmlcov"]), "pycroft_watch_rooted")
    top = tmp_path / "checkout"
    tree(top, [".git/HEAD", "htmlcov/x", "pkg/htmlcov/y"])
    assert files_of(watcher.scan(str(top))) == [".git/HEAD", "pkg/htmlcov/y"]


FILE = (1, 10, 0o100644, 7)


def test_changes_sends_new_and_edited_files_and_removes_only_the_top_of_a_removed_tree(watcher):
    edited = (2, 10, 0o100644, 7)
    sent = {"a": "dir", "a/b": "dir", "a/b/c.py": FILE, "a-b": "dir", "a-b/x.py": FILE, "ab": FILE, "kept": FILE, "edited": FILE}
    now = {"a-b": "dir", "a-b/x.py": FILE, "kept": FILE, "edited": edited, "fresh": FILE}
    assert watcher.changes(sent, now) == (["edited", "fresh"], ["a", "ab"])


def test_changes_removes_a_path_whose_type_changed_before_it_is_written_again(watcher):
    assert watcher.changes({"thing": "dir", "thing/x.py": FILE}, {"thing": FILE}) == (["thing"], ["thing"])
    assert watcher.changes({"thing": FILE}, {"thing": "dir", "thing/y.py": FILE}) == (["thing/y.py"], ["thing"])


def test_changes_of_the_first_send_is_the_whole_checkout_and_of_an_unchanged_one_nothing(watcher):
    now = {"pkg": "dir", "pkg/a.py": FILE, "b.py": FILE}
    assert watcher.changes({}, now) == (["b.py", "pkg/a.py"], [])
    assert watcher.changes(now, dict(now)) == ([], [])


def test_stale_names_the_changed_manifests_and_path_dependencies_only(watcher):
    assert watcher.stale(["web/app.py", "docs/pyproject.toml", "deps/w/w/base.py"]) is None
    assert watcher.stale(["uv.lock", "web/app.py", "deps/w/setup.py"]) == (
        "uv.lock, deps/w/setup.py changed: the test stack keeps the dependencies it was built with; stop it and start it again to install the new ones"
    )


def test_help_shows_the_port_and_the_excludes_in_lines_of_at_most_100_characters(tmp_path):
    many = [f"**/directory-number-{i}" for i in range(12)]
    ran = subprocess.run([sys.executable, exported(tmp_path, excludes=many), "--help"], capture_output=True, text=True, check=True)
    assert "--ports 5099:5099 &" in ran.stdout
    assert "default: http://localhost:5099" in " ".join(ran.stdout.split())
    listed = [line for line in ran.stdout.splitlines() if "directory-number-" in line]
    assert len(listed) > 1
    assert all(line.startswith("  **/") and len(line) <= 100 for line in listed)
    assert " ".join(line.strip() for line in listed) == ", ".join(many)


def test_a_url_that_is_not_plain_http_is_refused(watcher):
    with pytest.raises(SystemExit, match="must be http://HOST"):
        watcher.Stack("https://localhost:5099", "t")


def test_send_writes_and_removes_in_the_stack_and_counts_only_what_it_changed(watcher, receiver, tmp_path):
    root, port, token = receiver()
    stack = watcher.Stack(f"http://127.0.0.1:{port}", token)
    top = tmp_path / "checkout"
    tree(top, ["pkg/a.py", "b.py"])
    (root / "old").mkdir()
    (root / "old/x.py").write_text("x")
    assert watcher.wait_for(stack) == 0
    files, gone = watcher.changes({"old": "dir", "old/x.py": FILE}, watcher.scan(str(top)))
    assert watcher.send(stack, str(top), files, gone) == 3
    assert (root / "pkg/a.py").read_text() == "pkg/a.py"
    assert not (root / "old").exists()
    # The same files again: the stack has them as they are, and writes none.
    assert watcher.send(stack, str(top), files, []) == 0


def test_send_refuses_with_the_wrong_token(watcher, receiver, tmp_path):
    _, port, _ = receiver()
    with pytest.raises(watcher.Refused, match="refused the token"):
        watcher.send(watcher.Stack(f"http://127.0.0.1:{port}", "wrong"), str(tmp_path), [], ["x"])


def test_run_writes_the_output_as_it_comes_and_returns_the_exit_code_of_the_last_line(watcher, receiver, capsysbinary):
    _, port, token = receiver("sh", "-c", 'echo "ran with $*"; printf "no newline"; exit 3', "sh")
    assert watcher.run(watcher.Stack(f"http://127.0.0.1:{port}", token), ["-k", "db"]) == 3
    assert capsysbinary.readouterr().out == b"ran with -k db\nno newline\n"


def test_run_on_a_stack_that_runs_nothing_says_it_needs_a_test_stack(watcher, receiver):
    _, port, token = receiver()
    with pytest.raises(watcher.Refused, match="--run needs a test-stack"):
        watcher.run(watcher.Stack(f"http://127.0.0.1:{port}", token), [])
