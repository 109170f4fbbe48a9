#!/bin/sh
# Fails with the fix when pyproject.toml does not parse or uv.lock is out of date with it
# (src/images/dev.ts): check-lock.sh "$(cat check-pyproject.py)"
python -c "$1" || exit 1
uv lock --check || {
  echo "uv.lock is out of date with pyproject.toml: run 'uv lock' in the source and commit uv.lock" >&2
  exit 1
}
