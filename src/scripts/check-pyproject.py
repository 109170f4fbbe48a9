"""Fails with the fix when pyproject.toml does not parse (check-lock.sh)."""

import sys

import tomllib

try:
    with open("pyproject.toml", "rb") as f:
        tomllib.load(f)
except tomllib.TOMLDecodeError as e:
    sys.exit(f"pyproject.toml does not parse ({e}): fix it, then run 'uv lock' and commit uv.lock")
