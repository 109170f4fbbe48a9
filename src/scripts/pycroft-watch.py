#!/usr/bin/env python3
"""pycroft's watcher: live edits for a pycroft stack started with a sync token (see --help)."""

import argparse
import ctypes
import fnmatch
import http.client
import io
import os
import re
import select
import sys
import tarfile
import textwrap
import time
import urllib.parse

# >>> settings: the module's own, written into the file it exports (`dagger call watcher`, see
# src/live/watcher.ts; its source has stand-ins): this file's name, the stack's port for edits, what
# never enters an image (as for --source) and the files that decide the dependencies.
NAME = "pycroft-watch.py"
PORT = 0
EXCLUDES = []
MANIFESTS = []
PATH_DEPENDENCY = "(?!)"
# <<< settings


def wrapped(text):
    """Text in lines of at most 100 characters, indented by two spaces."""
    return textwrap.fill(text, width=100, initial_indent="  ", subsequent_indent="  ", break_on_hyphens=False, break_long_words=False)


HELP = f"""Live edits for a pycroft stack started with a sync token: dev-stack, or test-stack with --run.

Watches a checkout and sends each saved edit to the stack's port {PORT}, as compose's
bind mount would have shown it: changed files are written there, removed files and directories
removed. At its start it sends the whole checkout, of which the stack writes what differs, so an
edit made while the stack was starting is not lost. With --run, the stack is a test-stack: pytest
runs there with the given arguments at once and after each edit, its output printed as it comes.

  export PYCROFT_SYNC_TOKEN=$(python3 -c 'import secrets; print(secrets.token_hex(16))')
  dagger call test-stack --sync-token env://PYCROFT_SYNC_TOKEN up --ports {PORT}:{PORT} &
  python3 {NAME} --run -x tests/model

With --once it sends the checkout, runs pytest once and exits with pytest's exit code: a test run of
the working tree on the kept services, for a script or a git hook.

The token is read from PYCROFT_SYNC_TOKEN. Never sent: symbolic links, and what never enters the
images (as for --source):
{wrapped(", ".join(EXCLUDES))}
Standard library only. The checkout is scanned every --interval seconds, so it runs on Linux, macOS
and WSL alike; on Linux, inotify also wakes it as soon as a file is saved.
"""


class Refused(Exception):
    """The stack answered, and said no: waiting will not help."""


# The "**/" patterns match a path's names, the others the path from the top.
NAMES = re.compile("|".join(fnmatch.translate(p[3:]) for p in EXCLUDES if p.startswith("**/")) or "(?!)")
ROOTED = {p for p in EXCLUDES if not p.startswith("**/")}
DEPENDENCY_PATH = re.compile(PATH_DEPENDENCY)


def scan(top, rel="", found=None):
    """Each regular file and directory below top that may leave the machine: path -> what it is now."""
    found = {} if found is None else found
    try:
        entries = list(os.scandir(os.path.join(top, rel) if rel else top))
    except OSError:
        return found
    for entry in entries:
        path = rel + "/" + entry.name if rel else entry.name
        # Its parent is not left out, so only its own name and its own path can be.
        if NAMES.match(entry.name) or path in ROOTED:
            continue
        try:
            if entry.is_dir(follow_symlinks=False):
                found[path] = "dir"
                scan(top, path, found)
            elif entry.is_file(follow_symlinks=False):
                st = entry.stat(follow_symlinks=False)
                found[path] = (st.st_mtime_ns, st.st_size, st.st_mode, st.st_ino)
        except OSError:
            pass
    return found


def settled(top, before):
    """The checkout once a scan finds what the one 30 ms before found (an editor's save is several writes)."""
    now = scan(top)
    while now != before:
        time.sleep(0.03)
        before, now = now, scan(top)
    return now


class Wake:
    """Waits for the next scan: an interval, or less on Linux, where inotify watches each directory
    scanned and a save ends the wait at once. Elsewhere, or without inotify, the interval alone."""

    # IN_MODIFY, IN_ATTRIB, IN_CLOSE_WRITE, IN_MOVED_FROM, IN_MOVED_TO, IN_CREATE, IN_DELETE, IN_DELETE_SELF
    MASK = 0x2 | 0x4 | 0x8 | 0x40 | 0x80 | 0x100 | 0x200 | 0x400

    def __init__(self, top):
        self.top, self.fd, self.watched = top, None, set()
        try:
            self.libc = ctypes.CDLL(None, use_errno=True)
            fd = self.libc.inotify_init1(os.O_NONBLOCK | os.O_CLOEXEC)
            self.fd = fd if fd >= 0 else None
        except (OSError, AttributeError):
            pass

    def follow(self, snapshot):
        """Watches the top and each directory of the snapshot (a removed one's watch ends by itself)."""
        if self.fd is None:
            return
        dirs = {""} | {p for p, what in snapshot.items() if what == "dir"}
        for rel in dirs - self.watched:
            if self.libc.inotify_add_watch(self.fd, os.fsencode(os.path.join(self.top, rel)), self.MASK) >= 0:
                self.watched.add(rel)
        self.watched &= dirs

    def wait(self, timeout):
        if self.fd is None:
            return time.sleep(timeout)
        select.select([self.fd], [], [], timeout)
        try:
            while os.read(self.fd, 65536):
                pass
        except BlockingIOError:
            pass


def changes(sent, now):
    """Files to send, and paths to remove: only the topmost of a removed tree, a type change too."""
    files = [p for p, what in now.items() if what != "dir" and sent.get(p) != what]
    gone = {p for p, what in sent.items() if p not in now or (what == "dir") != (now[p] == "dir")}
    top = [p for p in gone if not any("/".join(p.split("/")[:i]) in gone for i in range(1, p.count("/") + 1))]
    return sorted(files), sorted(top)


class Stack:
    def __init__(self, url, token):
        parts = urllib.parse.urlsplit(url)
        if parts.scheme != "http" or not parts.hostname:
            raise SystemExit(f"{url}: the stack's URL must be http://HOST[:PORT]")
        self.url, self.host, self.port, self.token = url, parts.hostname, parts.port or 80, token

    def post(self, path, body):
        """The answer to a POST; raises Refused on a refusal, OSError if nobody answers."""
        connection = http.client.HTTPConnection(self.host, self.port)
        try:
            connection.request("POST", path, body=body, headers={"Authorization": "Bearer " + self.token})
            answer = connection.getresponse()
        except http.client.HTTPException as e:
            raise ConnectionError(f"no answer: {e!r}") from e
        if answer.status == 401:
            raise Refused("the stack refused the token: PYCROFT_SYNC_TOKEN is not the one it was started with")
        if answer.status == 404 and path == "/run":
            raise Refused("this stack takes edits but runs nothing (dev-stack): --run needs a test-stack")
        if answer.status != 200:
            raise Refused(f"POST {path}: {answer.status} {answer.read().decode(errors='replace').strip()}")
        return answer

    def count(self, path, body):
        return int(self.post(path, body).read())


def wait_for(stack):
    """Until the stack answers (a removal of nothing): dagger call takes a while to start it."""
    said = False
    while True:
        try:
            return stack.count("/delete", b"")
        except OSError as e:
            if not said:
                print(f"waiting for the stack at {stack.url} ({e.strerror or e})", flush=True)
                said = True
            time.sleep(1)


def send(stack, top, files, gone):
    """Removes, then writes: the number of paths the stack removed or wrote (a file it had as it is is not written)."""
    count = stack.count("/delete", "\n".join(gone).encode()) if gone else 0
    if files:
        buffer = io.BytesIO()
        with tarfile.open(fileobj=buffer, mode="w") as tar:
            for rel in files:
                try:
                    tar.add(os.path.join(top, rel), arcname=rel, recursive=False)
                except OSError:
                    pass  # gone since the scan: the next scan says so
        count += stack.count("/files", buffer.getvalue())
    return count


def stale(paths):
    """What to say when an edit changes what the test stack installed, which it keeps."""
    changed = [p for p in paths if p in MANIFESTS or DEPENDENCY_PATH.match(p)]
    if changed:
        return f"{', '.join(changed)} changed: the test stack keeps the dependencies it was built with; stop it and start it again to install the new ones"


def run(stack, args):
    """pytest in the stack with these arguments, its output written as it comes: its exit code."""
    answer = stack.post("/run", "\n".join(args).encode())
    out = sys.stdout.buffer
    held = b""  # the last line seen, which may be the exit code
    while True:
        chunk = answer.read1(65536)
        if not chunk:
            break
        text = held + chunk
        cut = text.rfind(b"\n", 0, len(text) - 1) + 1
        out.write(text[:cut])
        out.flush()
        held = text[cut:]
    code = re.fullmatch(rb"exit-code: (\d+)\n", held)
    if not code:
        out.write(held)
        raise ConnectionError("the run ended without its exit code: the test stack went away")
    return int(code[1])


def watch(stack, top, interval, pytest_args, once=False):
    """Sends the checkout, then each change, each followed by a run with --run: until Ctrl-C, or once."""
    sent = {}  # what the stack has, as far as this knows: nothing yet, so the first send is everything
    first = True
    wake = Wake(top)
    while True:
        now = settled(top, sent) if not first else scan(top)
        wake.follow(now)
        files, gone = changes(sent, now)
        if first or files or gone:
            started = time.monotonic()
            count = send(stack, top, files, gone)
            took = (time.monotonic() - started) * 1000
            if first:
                print(f"sent the checkout in {took:.0f} ms: the stack wrote the {count} files that differed from its own", flush=True)
            else:
                print(f"synced {count} of {len(files) + len(gone)} changed paths in {took:.0f} ms", flush=True)
            sent = now
            if pytest_args is not None:
                notice = None if first else stale(files + gone)
                if notice:
                    print(notice, flush=True)
                started = time.monotonic()
                code = run(stack, pytest_args)
                if once:
                    print(f"pytest exit code {code} in {time.monotonic() - started:.1f} s", flush=True)
                    return code
                print(f"pytest exit code {code} in {time.monotonic() - started:.1f} s; watching {top} (Ctrl-C stops)", flush=True)
            if once:
                return 0
            first = False
        wake.wait(interval)


def main(argv):
    parser = argparse.ArgumentParser(prog=NAME, description=HELP, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--source", "-C", default=".", metavar="DIR", help="the checkout to watch (default: the current directory)")
    parser.add_argument("--url", default=f"http://localhost:{PORT}", help=f"where the stack's port {PORT} is published (default: %(default)s)")
    parser.add_argument("--interval", type=float, default=0.2, metavar="SECONDS", help="how often the checkout is scanned (default: %(default)s)")
    parser.add_argument(
        "--once", action="store_true", help="send the checkout, run pytest once (with --run), and exit with its exit code, without watching"
    )
    parser.add_argument(
        "--run",
        nargs=argparse.REMAINDER,
        metavar="PYTEST_ARG",
        help="run pytest in the test stack with these arguments (the rest of the line) at once and after each edit",
    )
    options = parser.parse_args(argv)
    token = os.environ.get("PYCROFT_SYNC_TOKEN", "")
    if not token:
        parser.error("PYCROFT_SYNC_TOKEN is not set: set it to the token the stack was started with (--sync-token env://PYCROFT_SYNC_TOKEN)")
    if not options.interval > 0:
        parser.error(f"--interval must be more than 0 seconds, got {options.interval}")
    top = os.path.realpath(options.source)
    if not os.path.isdir(top):
        parser.error(f"{options.source}: not a directory")
    stack = Stack(options.url, token)
    try:
        wait_for(stack)
        return watch(stack, top, options.interval, options.run, options.once)
    except Refused as e:
        print(f"{NAME}: {e}", file=sys.stderr)
        return 2
    except OSError as e:
        print(f"{NAME}: the stack at {stack.url} went away: {e}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
