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


def source_dirs(root):
    """Each dir under root with the names of its Python source files; __pycache__, hidden dirs and
    node_modules left out."""
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if not d.startswith(".") and d not in ("__pycache__", "node_modules")]
        names = [name for name in filenames if name.endswith(".py")]
        if names:
            yield dirpath, names


def stamp(stat):
    """The last 8 bytes of a timestamp-based pyc's header for a source with this stat: mtime and size."""
    return struct.pack("<II", int(stat.st_mtime) & 0xFFFFFFFF, stat.st_size & 0xFFFFFFFF)


def header(data):
    """A compiled file's flags and what it is checked against (its source's stamp or hash); None if it has no header."""
    return HEADER.unpack(data[: HEADER.size])[1:] if len(data) >= HEADER.size else None


def compiled_from(data, stat, content):
    """Whether the compiled file data says it was compiled from this source, as the one who reads it checks."""
    fields = header(data)
    if fields is None:
        return False
    flags, check = fields
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
    for dirpath, names in source_dirs(root):
        for name in names:
            source = os.path.join(dirpath, name)
            with open(source, "rb") as f:
                content = f.read()
            kept = entry(store, source, content)
            try:
                stored = os.listdir(kept)
            except FileNotFoundError:
                continue
            stamped = stamp(os.stat(source))
            for pyc in stored:
                if not pyc.endswith(".pyc"):
                    continue  # another run's file still being written
                with open(os.path.join(kept, pyc), "rb") as f:
                    data = f.read()
                target = os.path.join(dirpath, "__pycache__", pyc)
                fields = header(data)
                if fields is not None and not fields[0] & HASHED:
                    data = HEADER.pack(data[:4], TIMESTAMPED, stamped) + data[HEADER.size :]
                write_atomically(target, data)
                written.add(target)
    return written


def keep(root, store, restored):
    """Stores the compiled files this run wrote, each under the hash of the source it was compiled from:
    those whose header still matches the source (one changed since is skipped). Each __pycache__ is
    listed once."""
    for dirpath, names in source_dirs(root):
        cache = os.path.join(dirpath, "__pycache__")
        try:
            compiled = [n for n in os.listdir(cache) if n.endswith(".pyc") and os.path.join(cache, n) not in restored]
        except FileNotFoundError:
            continue
        for name in names:
            # Python's and pytest's rewritten ones: the module's name, then a dot.
            fresh = [n for n in compiled if n.startswith(name[:-3] + ".")]
            if not fresh:
                continue
            source = os.path.join(dirpath, name)
            stat = os.stat(source)
            with open(source, "rb") as f:
                content = f.read()
            for pyc in fresh:
                with open(os.path.join(cache, pyc), "rb") as f:
                    data = f.read()
                if compiled_from(data, stat, content):
                    write_atomically(os.path.join(entry(store, source, content), pyc), data)


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
    (console,) = entry_points(group="console_scripts", name="pytest")
    code = int(console.load()())
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
