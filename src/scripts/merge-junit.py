"""Merges N shards' reports into one (src/testing/shards.ts): JUnit, logs and the exit code.

  python merge-junit.py SHARDS_DIR REPORTS COUNT [--coverage-failed]

Reads SHARDS_DIR/1 … SHARDS_DIR/COUNT (each a shard's junit.xml, pytest.log and exit-code) and
writes REPORTS/junit.xml, pytest.log and exit-code; exits with the suite's exit code. With
--coverage-failed (the shards' coverage data could not be combined), the run fails as pytest does
on an internal error.
"""

import os
import sys
import xml.etree.ElementTree as ET

# pytest's exit code for an internal error: what a coverage report that fails makes of a single run.
INTERNAL_ERROR = 3


def exit_code(codes, coverage_failed=False):
    """The shards' exit codes as one pytest process's: a usage, internal or interrupt error first,
    then failures; "no tests" (5) only when no shard ran any."""
    serious = [code for code in codes if code not in (0, 1, 5)] + ([INTERNAL_ERROR] if coverage_failed else [])
    return max(serious) if serious else 1 if 1 in codes else 5 if all(c == 5 for c in codes) else 0


def outcome(case):
    """A test case's outcome: passed, failed, error, skipped or xfailed."""
    found = next((child for child in case if child.tag in ("failure", "error", "skipped")), None)
    # pytest's JUnit writes an expected failure as a skip of type pytest.xfail.
    if found is not None and found.get("type") == "pytest.xfail":
        return "xfailed"
    return "passed" if found is None else "failed" if found.tag == "failure" else found.tag


def main(shards_dir, reports, count, coverage_failed):
    root = ET.Element("testsuites", name="pytest")
    totals = {"passed": 0, "failed": 0, "error": 0, "skipped": 0, "xfailed": 0}
    longest = 0.0
    codes = []
    short = []
    with open(os.path.join(reports, "pytest.log"), "w") as log:
        for index in range(1, count + 1):
            shard = os.path.join(shards_dir, str(index))
            with open(os.path.join(shard, "exit-code")) as f:
                codes.append(int(f.read().strip() or 3))
            header = f"===== shard {index}/{count} (exit code {codes[-1]}) =====\n"
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
                    totals[outcome(case)] += 1
        counts = {
            "tests": sum(totals.values()),
            "failures": totals["failed"],
            "errors": totals["error"],
            "skipped": totals["skipped"] + totals["xfailed"],
        }
        for attr, value in counts.items():
            root.set(attr, str(value))
        root.set("time", f"{longest:.3f}")
        ET.ElementTree(root).write(os.path.join(reports, "junit.xml"), encoding="utf-8", xml_declaration=True)

        code = exit_code(codes, coverage_failed)
        with open(os.path.join(reports, "exit-code"), "w") as f:
            f.write(f"{code}\n")
        words = (("failed", "failed"), ("passed", "passed"), ("skipped", "skipped"), ("xfailed", "xfailed"), ("error", "errors"))
        parts = [f"{totals[key]} {word}" for key, word in words if totals[key]]
        total = f"{', '.join(parts) or 'no tests ran'} in {longest:.2f}s ({count} shards, the longest one's time)"
        lines = ["", "=" * 29 + " all shards: short test summary info " + "=" * 29, *short] if short else [""]
        if coverage_failed:
            lines.append(f"the shards' coverage data could not be combined (its error is above the shards' logs): exit code {INTERNAL_ERROR}")
        lines.append(f"===== {total} =====")
        log.write("\n".join(lines) + "\n")
    print("\n".join(lines))
    return code


if __name__ == "__main__":
    sys.exit(main(sys.argv[1], sys.argv[2], int(sys.argv[3]), "--coverage-failed" in sys.argv[4:]))
