#!/bin/bash
# Verify the engine started by up.sh: versions of CLI and engine, then engine-smoke.ts.
set -euo pipefail
. "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
eval "$("$ENGINE_DIR/up.sh")"
"$_EXPERIMENTAL_DAGGER_CLI_BIN" version
echo "engine: $("$_EXPERIMENTAL_DAGGER_CLI_BIN" --progress=plain core version 2>/dev/null)"
cd "$REPO_DIR" && phase "engine smoke test" npx tsx test/engine/engine-smoke.ts
