#!/usr/bin/env bash
# Lints the scripts the module runs (src/scripts, and the slapd image's entrypoint): ruff (its checks
# and its format) on the Python, tests included (test/python); ShellCheck on every shell script of the
# repository (the module's, the engine's, the benches', CI's; .shellcheckrc). Both pinned: ruff in
# test/python/requirements.txt, ShellCheck Debian 12's (test/engine/lib.sh).
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/../.."
. test/engine/lib.sh
ensure_python_tools
ensure_shellcheck

python=(src/scripts/*.py test/python/*.py)
shopt -s globstar
shell=(src/scripts/*.sh dockerfiles/openldap/entrypoint.sh example/scripts/*.sh test/**/*.sh .ci/run)
status=0
ruff check --no-cache "${python[@]}" || status=1
ruff format --no-cache --check "${python[@]}" || status=1
shellcheck "${shell[@]}" || status=1
[ "$status" -eq 0 ] || { echo "lint-scripts: the scripts above have problems" >&2; exit 1; }
echo "$(ruff --version): ${#python[@]} Python files clean and formatted; shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${#shell[@]} shell files clean"
