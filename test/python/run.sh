#!/usr/bin/env bash
# The tests of the module's scripts' own logic (src/scripts), with the pinned pytest and coverage of
# test/python/requirements.txt (test/engine/lib.sh's ensure_python_tools):
#   bash test/python/run.sh [PYTEST_ARG…]
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. test/engine/lib.sh
ensure_python_tools
exec python -m pytest -p no:cacheprovider test/python "$@"
