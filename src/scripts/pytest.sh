#!/bin/bash
# pytest with JUnit XML, coverage when asked, its log and its exit code in REPORTS (src/testing/pytest.ts):
#   pytest.sh RUNNER REPORTS COVER PYTEST_ARG...
# RUNNER: pycroft-pytest.py, pytest that exits once it has returned; COVER: 1 when the arguments ask
# for coverage, else empty.
set -o pipefail
runner=$1 reports=$2 cover=$3; shift 3
mkdir -p "$reports"
# A shard keeps only its coverage data: the merge reports all of them at once.
if [ -z "$cover" ]; then
  cov_reports=()
elif [ -n "${PYCROFT_SHARD:-}" ]; then
  cov_reports=(--cov-report=)
else
  cov_reports=(--cov-report="xml:$reports/coverage.xml" --cov-report="html:$reports/htmlcov")
fi
python "$runner" -v --junitxml="$reports/junit.xml" "${cov_reports[@]}" "$@" 2>&1 | tee "$reports/pytest.log"
code=$?
echo "$code" > "$reports/exit-code"
exit "$code"
