import { Container, Directory, ReturnType } from "@dagger.io/dagger";

import { Settings } from "../config.js";
import { reportDir } from "./pytest.js";

/** One of N pytest processes, each with its own stack of services: index counts from 1. */
export interface Shard {
  index: number;
  count: number;
}

/** Where the shard plugin lives in the test container; on PYTHONPATH so `PYTEST_PLUGINS` can load it. */
const PLUGIN_DIR = "/usr/local/lib/pycroft-shard";

/**
 * A pytest plugin that keeps this shard's test files and deselects the rest. Every shard collects the
 * whole suite (after -k/-m and the caller's paths), so all of them agree on the split without talking
 * to each other: whole files, largest first, go to the shard with the fewest tests so far. Files stay
 * whole because module-scoped fixtures would otherwise run in several shards.
 */
export const SHARD_PLUGIN = `import os

import pytest


def split(sizes, count):
    """Test file -> shard (1-based): largest first, each to the least-loaded shard (ties: lowest)."""
    loads = [0] * count
    owners = {}
    for name, size in sorted(sizes.items(), key=lambda kv: (-kv[1], kv[0])):
        shard = min(range(count), key=lambda k: (loads[k], k))
        loads[shard] += size
        owners[name] = shard + 1
    return owners


def _file(item):
    return item.nodeid.split("::", 1)[0]


def _shard():
    index, count = (int(part) for part in os.environ["PYCROFT_SHARD"].split("/"))
    return index, count


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config, items):
    index, count = _shard()
    sizes = {}
    for item in items:
        sizes[_file(item)] = sizes.get(_file(item), 0) + 1
    owners = split(sizes, count)
    keep = [item for item in items if owners[_file(item)] == index]
    drop = [item for item in items if owners[_file(item)] != index]
    if drop:
        config.hook.pytest_deselected(items=drop)
        items[:] = keep
    config._pycroft_shard_files = sorted(name for name, owner in owners.items() if owner == index)


def pytest_report_collectionfinish(config, items):
    index, count = _shard()
    files = getattr(config, "_pycroft_shard_files", [])
    return f"shard {index}/{count}: {len(items)} tests in {len(files)} files"
`;

/**
 * Makes a pytest run one shard of the suite: the plugin, which shard it is, and coverage data kept
 * in the reports directory, where the merge finds it.
 */
export function inShard(s: Settings, shard: Shard) {
  return (c: Container): Container =>
    c
      .withNewFile(`${PLUGIN_DIR}/pycroft_shard.py`, SHARD_PLUGIN)
      .withEnvVariable("PYTHONPATH", PLUGIN_DIR)
      .withEnvVariable("PYTEST_PLUGINS", "pycroft_shard")
      .withEnvVariable("PYCROFT_SHARD", `${shard.index}/${shard.count}`)
      .withEnvVariable("COVERAGE_FILE", `${reportDir(s)}/.coverage`);
}

/** Where the merge reads each shard's reports directory: `${SHARDS_DIR}/1`, `/2`, … */
const SHARDS_DIR = "/tmp/pycroft-shards";

/**
 * Merges the shards' JUnit files into one (every test case, counts summed), their logs into one
 * (each under a header), and decides the exit code as one pytest process would: a usage, internal or
 * interrupt error first, then failures; "no tests" (5) only when no shard ran any. Prints the merged
 * log, every shard's FAILED/ERROR lines and a pytest-style total line.
 */
export const MERGE_JUNIT = `import os
import sys
import xml.etree.ElementTree as ET

shards_dir, reports, count = sys.argv[1], sys.argv[2], int(sys.argv[3])
root = ET.Element("testsuites", name="pytest")
totals = {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "xfailed": 0}
longest = 0.0
codes = []
short = []
log = open(os.path.join(reports, "pytest.log"), "w")
for index in range(1, count + 1):
    shard = os.path.join(shards_dir, str(index))
    with open(os.path.join(shard, "exit-code")) as f:
        codes.append(int(f.read().strip() or 3))
    header = f"===== shard {index}/{count} (exit code {codes[-1]}) =====\\n"
    with open(os.path.join(shard, "pytest.log")) as f:
        text = f.read()
    log.write(header + text)
    sys.stdout.write(header + text)
    short += [line for line in text.splitlines() if line.startswith(("FAILED ", "ERROR "))]
    junit = os.path.join(shard, "junit.xml")
    if not os.path.exists(junit):
        continue
    parsed = ET.parse(junit).getroot()
    for suite in [parsed] if parsed.tag == "testsuite" else parsed.findall("testsuite"):
        suite.set("name", f"{suite.get('name', 'pytest')} (shard {index}/{count})")
        longest = max(longest, float(suite.get("time", "0")))
        root.append(suite)
        for case in suite.iter("testcase"):
            outcome = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
            # pytest's JUnit writes an expected failure as a skip of type pytest.xfail.
            xfail = outcome is not None and outcome.get("type") == "pytest.xfail"
            tag = "xfailed" if xfail else "passed" if outcome is None else outcome.tag
            totals["failed" if tag == "failure" else tag] += 1
for attr, value in (("tests", sum(totals.values())), ("failures", totals["failed"]), ("errors", totals["error"]), ("skipped", totals["skipped"] + totals["xfailed"])):
    root.set(attr, str(value))
root.set("time", f"{longest:.3f}")
ET.ElementTree(root).write(os.path.join(reports, "junit.xml"), encoding="utf-8", xml_declaration=True)

serious = [code for code in codes if code not in (0, 1, 5)]
code = max(serious) if serious else 1 if 1 in codes else 5 if all(c == 5 for c in codes) else 0
with open(os.path.join(reports, "exit-code"), "w") as f:
    f.write(f"{code}\\n")
words = (("failed", "failed"), ("passed", "passed"), ("skipped", "skipped"), ("xfailed", "xfailed"), ("error", "errors"))
parts = [f"{totals[key]} {word}" for key, word in words if totals[key]]
total = f"{', '.join(parts) or 'no tests ran'} in {longest:.2f}s ({count} shards, the longest one's time)"
lines = ["", "=" * 29 + " all shards: short test summary info " + "=" * 29, *short] if short else [""]
lines.append(f"===== {total} =====")
log.write("\\n".join(lines) + "\\n")
print("\\n".join(lines))
sys.exit(code)
`;

/**
 * Combines the shards' coverage data and reports it as pytest-cov does at the end of one run: the
 * same measured packages as sources (`--cov=PKG`'s; the coverage configuration's when none), the
 * project's coverage configuration, coverage.xml and htmlcov/.
 */
export const MERGE_COVERAGE = `import os
import sys

import coverage

reports, data = sys.argv[1], sys.argv[2:]
packages = [p for p in os.environ["PYCROFT_COVERAGE_PACKAGES"].split(",") if p] or None
cov = coverage.Coverage(data_file=os.path.join(reports, ".coverage"), source=packages, config_file=True)
cov.combine(data, strict=True, keep=True)
cov.save()
cov.xml_report(outfile=os.path.join(reports, "coverage.xml"))
cov.html_report(directory=os.path.join(reports, "htmlcov"))
`;

/**
 * The merge's shell half: coverage through MERGE_COVERAGE when the shards measured it
 * (PYCROFT_COVERAGE_PACKAGES is set), then JUnit, logs and the exit code through MERGE_JUNIT. A
 * shard without coverage data (e.g. one that never started pytest) is named, not skipped silently.
 */
const MERGE = `set -u
exec 2>&1
shards=$1 reports=$2 count=$3
mkdir -p "$reports"
data=()
if [ -n "\${PYCROFT_COVERAGE_PACKAGES+set}" ]; then
  for i in $(seq 1 "$count"); do
    if [ -f "$shards/$i/.coverage" ]; then data+=("$shards/$i/.coverage"); else echo "shard $i/$count left no coverage data"; fi
  done
fi
if [ "\${#data[@]}" -gt 0 ]; then
  python -c "$MERGE_COVERAGE" "$reports" "\${data[@]}" || echo "the shards' coverage data could not be combined"
  rm -f "$reports/.coverage"
fi
python -c "$MERGE_JUNIT" "$shards" "$reports" "$count"`;

/**
 * One report from N shards, in the layout of a single run (junit.xml, coverage.xml and htmlcov/ when
 * the shards measured the coverage of `coverage`'s packages, pytest.log, exit-code), in a container
 * of the app's image without services. Its stdout is the merged log and total; its exit code is the suite's.
 */
export function mergeShards(s: Settings, coverage: string[] | undefined, reports: Directory[]) {
  return (c: Container): Container => {
    const shards = reports.reduce((acc, dir, i) => acc.withDirectory(`${SHARDS_DIR}/${i + 1}`, dir), c);
    return (coverage ? shards.withEnvVariable("PYCROFT_COVERAGE_PACKAGES", coverage.join(",")) : shards)
      .withEnvVariable("MERGE_COVERAGE", MERGE_COVERAGE)
      .withEnvVariable("MERGE_JUNIT", MERGE_JUNIT)
      .withExec(["bash", "-c", MERGE, "merge-shards", SHARDS_DIR, reportDir(s), String(reports.length)], { expect: ReturnType.Any });
  };
}
