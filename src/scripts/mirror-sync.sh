#!/bin/sh
# Installs exactly the locked files from the Python index configured (src/images/dev.ts):
#   mirror-sync.sh COMPILE_FLAG [UV_SYNC_FLAG...]
set -e
compile=$1; shift
# uv export spells "leave this package out" --no-emit-package.
# shellcheck disable=SC2046 # the flags are words without spaces: split them again
set -- $(printf '%s\n' "$@" | sed 's/^--no-install-package$/--no-emit-package/')
uv export --frozen --quiet --format requirements-txt --no-emit-project "$@" -o /tmp/uv-locked.txt
uv pip sync "$compile" /tmp/uv-locked.txt
rm /tmp/uv-locked.txt
