#!/bin/bash
# Pycroft's CI runs mypy through this script (its files and settings are in pyproject.toml).
set -uo pipefail

mypy --version
mypy
