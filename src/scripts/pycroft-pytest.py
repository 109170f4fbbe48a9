"""pytest as its console script runs it, the process ended as soon as pytest returns (src/testing/pytest.ts):

python pycroft-pytest.py PYTEST_ARG...

After its run, a pytest process spends a second or more tearing down what it imported (on Pycroft,
1.4 s after collecting the whole suite), when its reports are written already. This ends it once
pytest has returned, with pytest's exit code, as a normal exit would otherwise: the atexit handlers
run and the output is flushed. What it skips is the interpreter's teardown and the wait for
non-daemon threads still running.
"""

import atexit
import os
import shutil
import sys

script = shutil.which("pytest")
if script is None:
    sys.exit("pycroft-pytest: no pytest on PATH")
# As the console script runs: its path first in argv and in sys.path, not the current dir.
sys.argv[0] = script
sys.path[0] = os.path.dirname(script)

from pytest import console_main  # pytest from the path set above

code = int(console_main())
atexit._run_exitfuncs()  # what a normal exit runs
for stream in (sys.stdout, sys.stderr):
    try:
        stream.flush()
    except (OSError, ValueError):
        pass  # a reader that has gone (pytest's own output already says how the run ended)
os._exit(code)
