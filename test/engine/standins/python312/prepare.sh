#!/usr/bin/env bash
# Puts a CPython 3.12.1 installation into this build context as cpython/{bin,include,lib}
# (git-ignored; build.sh runs this before hashing the context): the machine's pyenv build at
# /root/.pyenv/versions/3.12.1, or the --enable-shared build at $PYCROFT_PYTHON312_HOME. Left out,
# as the official slim image has none of it or it is large: site-packages (the Dockerfile installs
# pip from ensurepip's bundled wheel, with shebangs that point at /usr/local), test suites,
# idlelib/tkinter/turtledemo (and _tkinter, idle*), __pycache__, static libraries (*.a), the gdb
# helper and share/ (man pages).
# Idempotent and quick: the copy is redone only when the signature of what it takes (names, sizes,
# mtimes, modes, link targets, and this script) differs from cpython.stamp.
set -euo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
SRC=${PYCROFT_PYTHON312_HOME:-/root/.pyenv/versions/3.12.1}
# The version is the Dockerfile's (which checks it again in the image).
VERSION=$(sed -n 's/^ENV PYTHON_VERSION=//p' "$HERE/Dockerfile")
OUT=$HERE/cpython
STAMP=$HERE/cpython.stamp

{ [ -x "$SRC/bin/python3.12" ] && [ -f "$SRC/lib/libpython3.12.so.1.0" ]; } || {
  echo "prepare.sh: the python312 stand-in needs a CPython 3.12 (--enable-shared) at $SRC (set PYCROFT_PYTHON312_HOME to use another)" >&2
  exit 1; }
grep -q "^#define PY_VERSION *\"$VERSION\"" "$SRC/include/python3.12/patchlevel.h" || {
  echo "prepare.sh: $SRC is not CPython $VERSION (the Dockerfile's PYTHON_VERSION)" >&2; exit 1; }

# files FIND_ACTION...: what is copied, relative to $SRC (run there).
files() {
  find ./bin ./include ./lib \( \
    -name __pycache__ -o -name '*.a' \
    -o -path ./lib/python3.12/test -o -path ./lib/python3.12/lib2to3/tests \
    -o -path ./lib/python3.12/idlelib -o -path ./lib/python3.12/tkinter -o -path ./lib/python3.12/turtledemo \
    -o -path './lib/python3.12/lib-dynload/_tkinter.*' \
    -o -path './lib/python3.12/site-packages/*' \
    -o -path './bin/idle*' -o -path './bin/pip*' -o -path ./bin/python3.12-gdb.py \
    \) -prune -o "$@"
}
signature=$( { sha256sum < "$0"; cd "$SRC" && files -printf '%p %s %T@ %m %l\n' | LC_ALL=C sort; } | sha256sum | cut -c1-32)
[ -d "$OUT" ] && [ "$(cat "$STAMP" 2>/dev/null)" = "$signature" ] && exit 0

rm -rf "$OUT" "$OUT.tmp" "$STAMP"
mkdir "$OUT.tmp"
(cd "$SRC" && files -print0) | tar -C "$SRC" --null --no-recursion -T - -cf - | tar -C "$OUT.tmp" -xf -
mv "$OUT.tmp" "$OUT"
echo "$signature" > "$STAMP"
echo "prepare.sh: copied CPython $VERSION from $SRC ($(du -sh "$OUT" | cut -f1))" >&2
