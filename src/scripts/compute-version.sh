#!/bin/bash
# Prints the version the project's own build backend computes (`uv build --sdist`, from its files and
# git data, laid out under WORK) as its sdist's PKG-INFO says it (src/images/vcs.ts):
#   compute-version.sh WORK DIR NAME PLUGIN
# When there is none, fails with one line on stderr: the backend's reason and what to do about the git
# data the project (NAME, in DIR of the source, versioned through PLUGIN) lacks.
set -u
work=$1 dir=$2 name=$3 plugin=$4
cd "$work/$dir" || exit 1
# The files are the app user's; a .git file's target or a copied index may not look so to git.
export GIT_CONFIG_COUNT=1 GIT_CONFIG_KEY_0=safe.directory GIT_CONFIG_VALUE_0='*'
out=$(mktemp -d) log=$(mktemp)
if uv build --sdist --out-dir "$out" . >"$log" 2>&1; then
  version=$(tar -xzOf "$out"/*.tar.gz --wildcards '*/PKG-INFO' | sed -n 's/^Version: *//p' | head -n 1)
  [ -n "$version" ] && { printf '%s' "$version"; exit 0; }
fi
# The backend's exception (RuntimeError: …, LookupError: …), else uv's own error line.
reason=$(grep -E '^\s*[A-Za-z_][A-Za-z0-9_.]*(Error|Exception): ' "$log" | tail -n 1)
[ -n "$reason" ] || reason=$(grep -E '(error|×)' "$log" | head -n 1)
# Paths as in the source; the full stop is the message's own.
reason=$(printf '%s' "$reason" | sed -e 's/^[[:space:]×]*//' -e "s#$work/##g" -e "s#$work#the source#g" -e 's/[.[:space:]]*$//')
where=$([ "$dir" = . ] && echo "the source" || echo "$dir")
if [ ! -e .git ]; then
  hint="$where has no .git: pass a git checkout as --source (submodules checked out with 'git submodule update --init'), or put a PKG-INFO file with its version there"
elif ! git rev-parse --git-dir >/dev/null 2>&1; then
  hint="$where/.git leads to no git data within the directory passed as --source (gitdir: $(sed -n 's/^gitdir: *//p' .git 2>/dev/null)): pass the whole checkout that holds it (a submodule's is in its superproject's .git/modules)"
elif ! git describe --tags >/dev/null 2>&1; then
  hint="no tag is reachable from its commit $(git rev-parse --short HEAD 2>/dev/null) (a shallow clone, or tags not fetched): fetch them with 'git fetch --tags' in $where"
else
  hint="see the backend's configuration in $where/pyproject.toml"
fi
echo "$name ($where) takes its version from git through $plugin, and its build could not compute one: ${reason:-no reason given}. Fix: $hint" >&2
exit 1
