"""Combines the shards' coverage data and reports it as pytest-cov does at the end of one run
(src/testing/shards.ts): the measured packages (PYCROFT_COVERAGE_PACKAGES, comma-separated; the
coverage configuration's when empty) as sources, the project's coverage configuration, coverage.xml
and htmlcov/ in REPORTS. Fails (exit code 1, coverage's error on stderr) when a shard's data cannot
be read, or the data cannot be combined or reported.

  python merge-coverage.py REPORTS DATA_FILE...
"""

import os
import sys

import coverage


def main(reports, data):
    packages = [p for p in os.environ["PYCROFT_COVERAGE_PACKAGES"].split(",") if p] or None
    # combine only warns about a data file it cannot read, and reports without that shard's lines.
    for path in data:
        coverage.CoverageData(basename=path).read()
    cov = coverage.Coverage(data_file=os.path.join(reports, ".coverage"), source=packages, config_file=True)
    cov.combine(data, strict=True, keep=True)
    cov.save()
    cov.xml_report(outfile=os.path.join(reports, "coverage.xml"))
    cov.html_report(directory=os.path.join(reports, "htmlcov"))


if __name__ == "__main__":
    try:
        main(sys.argv[1], sys.argv[2:])
    except coverage.CoverageException as e:
        sys.exit(f"merge-coverage: {e}")
