"""The receiver's own logic (pycroft-sync.py): what a tar of edits writes into the app dir, what a
removal removes, and that nothing outside the app dir is ever touched; its token, over HTTP."""

import io
import os
import tarfile
import urllib.error
import urllib.request

import pytest
from conftest import SCRIPTS, load


@pytest.fixture
def app(tmp_path):
    """The receiver's functions on an app dir of their own (as main sets it), and that dir."""
    receiver = load(SCRIPTS / "pycroft-sync.py", "pycroft_sync")
    root = tmp_path / "app"
    root.mkdir()
    receiver.root = os.path.realpath(root)
    return receiver, root


def tar(*members):
    """A tar as the watcher sends it: (name, data, mode) files, or (name, None, "dir"/"link")."""
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w") as t:
        for name, data, mode in members:
            info = tarfile.TarInfo(name)
            if mode == "dir":
                info.type = tarfile.DIRTYPE
            elif mode == "link":
                info.type, info.linkname = tarfile.SYMTYPE, "/etc/passwd"
            else:
                info.size, info.mode = len(data), mode
            t.addfile(info, io.BytesIO(data) if data is not None else None)
    return buffer.getvalue()


def test_write_writes_files_with_their_directories_and_their_mode_made_readable_and_writable(app):
    receiver, root = app
    assert receiver.write(tar(("pkg/sub/a.py", b"a = 1\n", 0o644), ("run.sh", b"#!/bin/sh\n", 0o755), ("ro.txt", b"x", 0o400))) == 3
    assert (root / "pkg/sub/a.py").read_bytes() == b"a = 1\n"
    assert oct((root / "run.sh").stat().st_mode & 0o7777) == oct(0o755)
    assert oct((root / "ro.txt").stat().st_mode & 0o7777) == oct(0o600)
    assert sorted(os.listdir(root)) == ["pkg", "ro.txt", "run.sh"]


def test_write_leaves_a_file_that_is_already_as_sent_alone_and_does_not_count_it(app):
    receiver, root = app
    (root / "same.py").write_bytes(b"same\n")
    os.chmod(root / "same.py", 0o644)
    os.utime(root / "same.py", ns=(1_000_000_000, 1_000_000_000))
    (root / "mode.py").write_bytes(b"m\n")
    os.chmod(root / "mode.py", 0o644)
    sent = tar(("same.py", b"same\n", 0o644), ("other.py", b"new\n", 0o644), ("mode.py", b"m\n", 0o755))
    assert receiver.write(sent) == 2
    assert (root / "same.py").stat().st_mtime_ns == 1_000_000_000
    assert (root / "mode.py").stat().st_mode & 0o777 == 0o755
    assert receiver.write(sent) == 0


def test_write_takes_only_regular_files_inside_the_app_dir(app, tmp_path):
    receiver, root = app
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / "escape").symlink_to(outside)
    sent = tar(
        ("../evil.py", b"x", 0o644),
        (f"{outside}/abs.py", b"x", 0o644),
        ("escape/through-link.py", b"x", 0o644),
        ("a-dir", None, "dir"),
        ("a-link", None, "link"),
        ("ok.py", b"ok", 0o644),
    )
    assert receiver.write(sent) == 1
    assert os.listdir(outside) == []
    assert not (tmp_path / "evil.py").exists()
    assert sorted(os.listdir(root)) == ["escape", "ok.py"]


def test_delete_removes_files_links_and_whole_directories_and_counts_what_was_there(app, tmp_path):
    receiver, root = app
    target = tmp_path / "target.py"
    target.write_text("kept")
    (root / "pkg/__pycache__").mkdir(parents=True)
    (root / "pkg/__pycache__/a.pyc").write_bytes(b"")
    (root / "pkg/a.py").write_text("a")
    (root / "b.py").write_text("b")
    (root / "link.py").symlink_to(target)
    assert receiver.delete(b"pkg\nb.py\nlink.py\nnever-there.py") == 3
    assert os.listdir(root) == []
    assert target.read_text() == "kept"


def test_delete_removes_nothing_outside_the_app_dir_nor_the_app_dir_itself(app, tmp_path):
    receiver, root = app
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "x.py").write_text("x")
    (root / "escape").symlink_to(outside)
    (root / "kept.py").write_text("k")
    body = "\n".join(["../outside/x.py", str(outside / "x.py"), "escape/x.py", "", ".", "..", "pkg/.."]).encode()
    assert receiver.delete(body) == 0
    assert (outside / "x.py").exists()
    assert sorted(os.listdir(root)) == ["escape", "kept.py"]
    # The link itself is the app's to remove.
    assert receiver.delete(b"escape") == 1
    assert (outside / "x.py").exists()


def post(port, path, body, token):
    request = urllib.request.Request(f"http://127.0.0.1:{port}{path}", data=body, headers={"Authorization": f"Bearer {token}"})
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def test_every_request_needs_the_token_and_a_known_path(receiver):
    root, port, token = receiver()
    assert post(port, "/files", tar(("a.py", b"a", 0o644)), "wrong") == (401, "wrong or missing sync token\n")
    assert not (root / "a.py").exists()
    assert post(port, "/files", tar(("a.py", b"a", 0o644)), token) == (200, "1\n")
    assert post(port, "/delete", b"a.py", token) == (200, "1\n")
    assert post(port, "/run", b"", token) == (404, "POST /files (a tar) or /delete (paths, one a line)\n")


def test_a_run_answers_with_the_output_and_a_last_line_with_the_exit_code(receiver):
    root, port, token = receiver("sh", "-c", 'pwd; echo "$@"; printf partial; exit 4', "sh")
    status, text = post(port, "/run", b"-x\ntests/a b\n", token)
    assert (status, text) == (200, f"{root}\n-x tests/a b\npartial\nexit-code: 4\n")
