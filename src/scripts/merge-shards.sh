#!/bin/bash
# One report from N shards (src/testing/shards.ts), in the layout of a single run:
#   bash merge-shards.sh SHARDS_DIR REPORTS COUNT
# Coverage through merge-coverage.py when the shards measured it (PYCROFT_COVERAGE_PACKAGES is set),
# then JUnit, logs and the exit code through merge-junit.py (both beside this script). A shard
# without coverage data (e.g. one that never started pytest) is named, not skipped silently; coverage
# data that cannot be combined fails the run, once the rest is merged.
set -u
exec 2>&1
here=$(dirname "$0")
shards=$1 reports=$2 count=$3
mkdir -p "$reports"
data=()
if [ -n "${PYCROFT_COVERAGE_PACKAGES+set}" ]; then
  for i in $(seq 1 "$count"); do
    if [ -f "$shards/$i/.coverage" ]; then data+=("$shards/$i/.coverage"); else echo "shard $i/$count left no coverage data"; fi
  done
fi
failed=()
if [ "${#data[@]}" -gt 0 ]; then
  if ! python "$here/merge-coverage.py" "$reports" "${data[@]}"; then
    echo "the shards' coverage data could not be combined"
    failed=(--coverage-failed)
  fi
  rm -f "$reports/.coverage"
fi
exec python "$here/merge-junit.py" "$shards" "$reports" "$count" "${failed[@]}"
