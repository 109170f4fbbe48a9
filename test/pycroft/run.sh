#!/usr/bin/env bash
# Runs the module on a Pycroft checkout, step by step, and prints what each gives and the counts:
#   bash test/pycroft/run.sh PATH_TO_PYCROFT [test|test-report|migrate|dev-env|shell|build-prod|lint|typecheck|docs|bundle …]
# PATH is a checkout of agdsn/pycroft with its deps/wtforms-widgets submodule. With Dagger installed,
# `dagger run bash test/pycroft/run.sh PATH` uses your engine; otherwise (Debian 12, root) the engine
# test/engine/up.sh makes here, with a python:3.12-slim-bookworm stand-in when this machine has a
# CPython 3.12.1 build (/root/.pyenv/versions/3.12.1 or $PYCROFT_PYTHON312_HOME), else a
# python:3.13-slim-trixie one (Pycroft needs Python >= 3.12).
# Module options: PYCROFT_PYTHON_IMAGE, PYCROFT_NO_INSTALL_PACKAGES (e.g. guzzle-sphinx-theme, on a
# runner that cannot reach GitHub), PYCROFT_REPORTS (where test-report's files go).
set -euo pipefail
{ [ $# -ge 1 ] && [ -f "$1/pyproject.toml" ]; } || { echo "usage: bash test/pycroft/run.sh PATH_TO_PYCROFT [STEP…]" >&2; exit 64; }
source_dir=$(cd "$1" && pwd); shift
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. test/engine/lib.sh
[ -f "$source_dir/deps/wtforms-widgets/setup.py" ] || [ -f "$source_dir/deps/wtforms-widgets/pyproject.toml" ] ||
  { echo "$source_dir/deps/wtforms-widgets is empty: git submodule update --init" >&2; exit 64; }

phase "npm ci" npm ci --no-audit --no-fund --prefer-offline --loglevel=error
if ! engine_given; then
  env_file="$CACHE/client.env"
  phase "engine" bash -c "bash test/engine/up.sh > '$env_file'"
  # up.sh's output, the client's settings: nothing to follow.
  # shellcheck source=/dev/null
  . "$env_file"
  # The engine made here has no official images. Pycroft's own is python:3.12-slim-bookworm: its
  # stand-in needs a CPython 3.12.1 build on this machine (standins/python312/prepare.sh). Without
  # one, Debian trixie's Python 3.13 stands in for python:3.13 (no `crypt`: one passlib test times out).
  if [ -x "${PYCROFT_PYTHON312_HOME:-/root/.pyenv/versions/3.12.1}/bin/python3.12" ]; then
    phase "python 3.12 stand-in" bash test/engine/standins/build.sh python312 >&2
    export PYCROFT_PYTHON_IMAGE="${PYCROFT_PYTHON_IMAGE:-python:3.12-slim-bookworm}"
  else
    phase "python 3.13 stand-in" bash test/engine/standins/build.sh python-trixie >&2
    export PYCROFT_PYTHON_IMAGE="${PYCROFT_PYTHON_IMAGE:-python:3.13-slim-trixie}"
  fi
fi
phase "pycroft" npx tsx test/pycroft/run.ts "$source_dir" "$@"
