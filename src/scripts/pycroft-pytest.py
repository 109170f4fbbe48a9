"""pytest as its console script runs it, the process ended as soon as pytest returns (src/testing/pytest.ts):

[PYCROFT_BYTECODE=STORE] python pycroft-pytest.py PYTEST_ARG...

After its run, a pytest process spends a second or more tearing down what it imported (on Pycroft,
1.4 s after collecting the whole suite), when its reports are written already. This ends it once
pytest has returned, with pytest's exit code, as a normal exit would otherwise: the atexit handlers
run and the output is flushed. What it skips is the interpreter's teardown and the wait for
non-daemon threads still running.

With PYCROFT_BYTECODE, the bytecode of the app's own modules outlives the container: a run starts
with the compiled files (Python's and pytest's rewritten test modules) of every source file in the
current dir whose content a run before has compiled, and leaves what it compiles itself in STORE.
Each of a container's runs would otherwise compile the app again (on Pycroft, 1 s for one test file,
2.5 s for the whole suite), where a bind-mounted checkout keeps its __pycache__ between runs.
"""

import atexit
import importlib.util
import os
import shutil
import struct
import sys
from importlib.metadata import entry_points

# A compiled file's header: the magic number, then flags 0 and the mtime and size of the source it
# was compiled from (what Python writes), or a flag bit 1 and the source's hash (what pytest 9 writes).
HEADER = struct.Struct("<4sI8s")
TIMESTAMPED = 0
HASHED = 1


def sources(root):
    """The Python source files under root, their __pycache__ dirs, hidden dirs and node_modules left out."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("__pycache__", "node_modules")]
        for name in filenames:
            if name.endswith(".py"):
                yield os.path.join(dirpath, name)


def cache_dir(source):
    return os.path.join(os.path.dirname(source), "__pycache__")


def compiled_names(source):
    """The names of source's compiled files in its __pycache__ (Python's, pytest's rewritten ones)."""
    stem = os.path.basename(source)[:-3] + "."
    try:
        return [n for n in os.listdir(cache_dir(source)) if n.startswith(stem) and n.endswith(".pyc")]
    except FileNotFoundError:
        return []


def stamp(stat):
    """The last 8 bytes of a timestamp-based pyc's header for a source with this stat: mtime and size."""
    return struct.pack("<II", int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)


def compiled_from(data, stat, content):
    """Whether the compiled file data says it was compiled from this source, as the one who reads it checks."""
    if len(data) < HEADER.size:
        return False
    _, flags, check = HEADER.unpack(data[: HEADER.size])
    return check == (importlib.util.source_hash(content) if flags & HASHED else stamp(stat))


def write_atomically(path, data):
    """Writes data at path through a file of its own: a reader (another shard) never sees half of it."""
    os.makedirs(os.path.dirname(path), exist_ok=True)
    part = f"{path}.{os.getpid()}.part"
    with open(part, "wb") as f:
        f.write(data)
    os.replace(part, path)


def entry(store, source, content):
    """Where the store keeps the compiled files of source with this content: by path and content hash."""
    return os.path.join(store, source.lstrip(os.sep), importlib.util.source_hash(content).hex())


def restore(root, store):
    """Puts each source's stored compiled files into its __pycache__, a timestamp-based one stamped
    with the source's own mtime and size: the store found them by the content's hash, so they are this
    content's bytecode whatever the file's mtime (an edit that keeps the size and the second is not
    taken for the old one). Returns the paths written."""
    written = set()
    for source in sources(root):
        with open(source, "rb") as f:
            content = f.read()
        kept = entry(store, source, content)
        try:
            names = os.listdir(kept)
        except FileNotFoundError:
            continue
        stamped = stamp(os.stat(source))
        for name in names:
            if not name.endswith(".pyc"):
                continue  # another run's file still being written
            with open(os.path.join(kept, name), "rb") as f:
                data = f.read()
            target = os.path.join(cache_dir(source), name)
            if len(data) >= HEADER.size and not HEADER.unpack(data[: HEADER.size])[1] & HASHED:
                data = HEADER.pack(data[:4], TIMESTAMPED, stamped) + data[HEADER.size :]
            write_atomically(target, data)
            written.add(target)
    return written


def keep(root, store, restored):
    """Stores the compiled files this run wrote, each under the hash of the source it was compiled from:
    those whose header still matches the source (one changed since is skipped)."""
    for source in sources(root):
        fresh = [n for n in compiled_names(source) if os.path.join(cache_dir(source), n) not in restored]
        if not fresh:
            continue
        stat = os.stat(source)
        with open(source, "rb") as f:
            content = f.read()
        for name in fresh:
            with open(os.path.join(cache_dir(source), name), "rb") as f:
                data = f.read()
            if compiled_from(data, stat, content):
                write_atomically(os.path.join(entry(store, source, content), name), data)


def main():
    script = shutil.which("pytest")
    if script is None:
        sys.exit("pycroft-pytest: no pytest on PATH")
    store = os.environ.get("PYCROFT_BYTECODE")
    root = os.getcwd()
    restored = set()
    if store:
        try:
            restored = restore(root, store)
        except OSError as e:  # a run without the stored bytecode only compiles more
            print(f"pycroft-pytest: stored bytecode not used: {e}", file=sys.stderr)
    # As the console script runs: its path first in argv and in sys.path, not the current dir.
    sys.argv[0] = script
    sys.path[0] = os.path.dirname(script)

    # What the console script calls (pytest 9.1 deprecated the public console_main for an internal one).
    (entry,) = entry_points(group="console_scripts", name="pytest")
    code = int(entry.load()())
    if store:
        try:
            keep(root, store, restored)
        except OSError as e:
            print(f"pycroft-pytest: bytecode not stored: {e}", file=sys.stderr)
    atexit._run_exitfuncs()  # what a normal exit runs
    for stream in (sys.stdout, sys.stderr):
        try:
            stream.flush()
        except (OSError, ValueError):
            pass  # a reader that has gone (pytest's own output already says how the run ended)
    os._exit(code)


if __name__ == "__main__":
    main()
