#!/bin/sh
# Serves the Sphinx docs of DOCS_DIR on PORT, rebuilt on every change (src/dev/servers.ts):
#   serve-docs.sh DOCS_DIR PORT
# Without sphinx-autobuild in the source, they are built once.
docs=$1 port=$2
if command -v sphinx-autobuild >/dev/null; then
  exec sphinx-autobuild -v "$docs" "$docs/_build/html" --host 0.0.0.0 --port "$port"
fi
echo "docs: sphinx-autobuild is not installed, so the docs are built once, not on each change" >&2
sphinx-build -q -b html "$docs" "$docs/_build/html"
exec python -m http.server "$port" --directory "$docs/_build/html"
