"""Receives live edits in an app container, and runs a command on demand (src/live/receiver.ts).

python pycroft-sync.py PORT APP_DIR [--ahead] [COMMAND...]
"""

import hmac
import io
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

# Set by main: the app dir, whether the command is started ahead of its run, the command, and the
# Authorization header every request must carry.
root = None
ahead = False
command = []
token = b""
one_run = threading.Lock()
spare = None


def start(args=()):
    """The command with these arguments; ahead, without: it reads them on stdin (see `hand`)."""
    stdin = subprocess.PIPE if ahead else subprocess.DEVNULL
    # A session of its own: ending the run ends what it started too (a Celery worker of the tests).
    return subprocess.Popen([*command, *args], cwd=root, stdin=stdin, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, start_new_session=True)


def end(proc):
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def start_spare():
    global spare
    if ahead:
        spare = start()


def hand(proc, args):
    """Gives a process started ahead its arguments, one a line; False if it no longer takes them."""
    try:
        proc.stdin.write("".join(arg + "\n" for arg in args).encode())
        proc.stdin.close()
        return True
    except BrokenPipeError:
        return False


def take(args):
    """The run's process: the one started ahead, given its arguments, or a new one."""
    global spare
    if not ahead:
        return start(args)
    proc, spare = spare, None
    if proc is not None and proc.poll() is None and hand(proc, args):
        return proc
    proc = start()
    hand(proc, args)
    return proc


def inside(rel):
    path = os.path.realpath(os.path.join(root, rel))
    return path if path.startswith(root + os.sep) else None


def write(body):
    count = 0
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        for member in tar:
            path = inside(member.name)
            if not member.isfile() or path is None:
                continue
            with tar.extractfile(member) as src:
                data = src.read()
            mode = member.mode & 0o755 | 0o600
            if unchanged(path, data, mode):
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".pycroft-sync"
            with open(tmp, "wb") as dst:
                dst.write(data)
            os.chmod(tmp, mode)
            os.replace(tmp, path)
            count += 1
    return count


def unchanged(path, data, mode):
    """Whether the file is already so: then it is left alone, its mtime too (no reload, no recompile)."""
    try:
        if os.lstat(path).st_mode & 0o7777 != mode or os.path.getsize(path) != len(data):
            return False
        with open(path, "rb") as f:
            return f.read() == data
    except OSError:
        return False


def entry(rel):
    """rel's own path in the app dir, its directory resolved: a link there is the link, not its target."""
    parent = os.path.realpath(os.path.join(root, os.path.dirname(rel)))
    name = os.path.basename(rel)
    if name in ("", ".", "..") or not (parent == root or parent.startswith(root + os.sep)):
        return None
    return os.path.join(parent, name)


def delete(body):
    # A directory goes with everything in it (its __pycache__ too: an empty package directory left
    # behind would still import, as a namespace package).
    count = 0
    for rel in body.decode().splitlines():
        path = entry(rel)
        if path is None:
            continue
        if os.path.islink(path) or os.path.isfile(path):
            os.remove(path)
        elif os.path.isdir(path):
            shutil.rmtree(path)
        else:
            continue
        count += 1
    return count


def kill_on_hang_up(connection, proc):
    # The client sends nothing after its request: the socket ends only when the client goes away (or
    # the answer is over, when the run has ended too).
    try:
        while connection.recv(4096):
            pass
    except OSError:
        pass
    if proc.poll() is None:
        end(proc)


def end_with(proc):
    # What a run leaves running ends with it, as it would with `test`'s container; it would also keep
    # the output open, and the answer with it.
    proc.wait()
    end(proc)


class Sync(BaseHTTPRequestHandler):
    def do_POST(self):
        if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), token):
            return self.answer(401, "wrong or missing sync token")
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        if self.path == "/run" and command:
            return self.run([arg for arg in body.decode().split("\n") if arg])
        actions = {"/files": write, "/delete": delete}
        if self.path not in actions:
            runs = " or /run (arguments, one a line)" if command else ""
            return self.answer(404, f"POST /files (a tar) or /delete (paths, one a line){runs}")
        count = actions[self.path](body)
        print(f"sync: {self.path[1:]} {count}", flush=True)
        self.answer(200, str(count))

    def run(self, args):
        with one_run:
            self.send_response(200)
            self.send_header("Content-Type", "text/plain")
            self.end_headers()
            print(f"run: {' '.join(command + args)}", flush=True)
            proc = take(args)
            threading.Thread(target=kill_on_hang_up, args=(self.connection, proc), daemon=True).start()
            threading.Thread(target=end_with, args=(proc,), daemon=True).start()
            last = b"\n"
            try:
                for chunk in iter(lambda: proc.stdout.read1(65536), b""):
                    self.wfile.write(chunk)
                    self.wfile.flush()
                    last = chunk[-1:]
                code = proc.wait()
                # On a line of its own, also after output without a last newline.
                self.wfile.write((b"" if last == b"\n" else b"\n") + f"exit-code: {code}\n".encode())
            except (BrokenPipeError, ConnectionResetError):
                end(proc)
                proc.wait()
            finally:
                start_spare()

    def answer(self, code, text):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(text.encode() + b"\n")

    def log_message(self, *args):
        pass


def main(argv):
    global root, ahead, command, token
    root = os.path.realpath(argv[1])
    ahead = argv[2:3] == ["--ahead"]
    command = argv[3:] if ahead else argv[2:]
    token = ("Bearer " + os.environ["PYCROFT_SYNC_TOKEN"]).encode()
    start_spare()
    ThreadingHTTPServer(("0.0.0.0", int(argv[0])), Sync).serve_forever()


if __name__ == "__main__":
    main(sys.argv[1:])
