#!/bin/bash
# Runs an install command; when it fails on a git dependency, names the package and the option that
# leaves it out (src/images/dev.ts): install-naming-git-deps.sh "$(cat name-git-deps.py)" COMMAND...
set -o pipefail
name_git_deps=$1; shift
# stderr to the log and to a file of its own (the pipeline ends only when tee has written it all),
# which goes with the shell: it is no part of the layer.
err=$(mktemp)
trap 'rm -f "$err"' EXIT
{ "$@" 2>&1 1>&3 | tee "$err" >&2; } 3>&1 && exit 0
code=$?
python -c "$name_git_deps" "$err" >&2
exit "$code"
