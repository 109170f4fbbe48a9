// `test --shards N`: the pytest plugin and the merge run for real here on a small suite; the wiring
// (a stack per shard, one merge) through the fake engine.
import { spawnSync } from "node:child_process";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

import { ReturnType } from "@dagger.io/dagger";
import { describe, expect, it, vi } from "vitest";

import { checkShards, DEFAULTS, UsageError } from "../../src/config.js";
import { MERGE_COVERAGE, MERGE_JUNIT, SHARD_PLUGIN } from "../../src/testing/shards.js";
import { exampleSource, module } from "../support/example.js";
import { Chain, execError, serviceOf, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { tempDir } from "../support/run-script.js";

/** A suite of four files of 5, 3, 2 and 2 tests; test_b has one failure, test_d one expected failure. */
function suite(): string {
  const dir = tempDir("shard-suite");
  const files: Record<string, string[]> = {
    "test_a.py": ["a1", "a2", "a3", "a4", "a5"],
    "test_b.py": ["b1", "b2", "b3_fails"],
    "test_c.py": ["c1", "c2"],
    "test_d.py": ["d1", "d2_xfails"],
  };
  const body = (n: string) =>
    n.endsWith("xfails") ? `import pytest\n@pytest.mark.xfail\ndef test_${n}():\n    assert False\n` : `def test_${n}():\n    assert ${!n.endsWith("fails")}\n`.replace("true", "True").replace("false", "False");
  for (const [file, names] of Object.entries(files)) {
    writeFileSync(join(dir, file), names.map(body).join("\n"));
  }
  mkdirSync(join(dir, "plugin"));
  writeFileSync(join(dir, "plugin", "pycroft_shard.py"), SHARD_PLUGIN);
  return dir;
}

/** Runs pytest as a shard of the suite would run in the container: the plugin on, its reports in `reports`. */
function pytestShard(dir: string, shard: string | undefined, reports: string, args: string[] = []) {
  mkdirSync(reports, { recursive: true });
  const ran = spawnSync("python3", ["-m", "pytest", "-v", "-p", "no:cacheprovider", `--junitxml=${reports}/junit.xml`, ...args], {
    cwd: dir,
    encoding: "utf8",
    env: { ...process.env, PYTHONPATH: join(dir, "plugin"), ...(shard ? { PYTEST_PLUGINS: "pycroft_shard", PYCROFT_SHARD: shard } : {}) },
  });
  writeFileSync(join(reports, "pytest.log"), ran.stdout);
  writeFileSync(join(reports, "exit-code"), `${ran.status}\n`);
  return ran;
}

/** The tests pytest ran and their outcomes, from its -v lines. */
function outcomes(log: string): string[] {
  return [...log.matchAll(/^(test_\w+\.py::\w+) (PASSED|FAILED|ERROR|SKIPPED|XFAIL)/gm)].map((m) => `${m[1]} ${m[2]}`).sort();
}

/** Runs the merge's Python half over shard directories 1..N under `shards`. */
function merge(shards: string, count: number) {
  const reports = join(shards, "merged");
  mkdirSync(reports, { recursive: true });
  const ran = spawnSync("python3", ["-c", MERGE_JUNIT, shards, reports, String(count)], { encoding: "utf8" });
  return { ...ran, reports };
}

describe("shards", () => {
  it("split the suite by whole files, largest first, so the shards together run every test exactly once", () => {
    const dir = suite();
    const single = pytestShard(dir, undefined, join(dir, "single"));
    const one = pytestShard(dir, "1/2", join(dir, "shards", "1"));
    const two = pytestShard(dir, "2/2", join(dir, "shards", "2"));
    // test_a (5) to shard 1; test_b (3) to shard 2; test_c (2) to shard 2 (3 < 5); test_d (2) to shard 1 (5 = 5: the lower one).
    expect(one.stdout).toMatch(/^shard 1\/2: 7 tests in 2 files$/m);
    expect(two.stdout).toMatch(/^shard 2\/2: 5 tests in 2 files$/m);
    expect(new Set(outcomes(one.stdout).map((t) => t.split("::")[0]))).toEqual(new Set(["test_a.py", "test_d.py"]));
    expect([...outcomes(one.stdout), ...outcomes(two.stdout)].sort()).toEqual(outcomes(single.stdout));
    expect(outcomes(single.stdout)).toHaveLength(12);
    expect([single.status, one.status, two.status]).toEqual([1, 0, 1]);
  });

  it("split what -k leaves: a filter applies before the split, and a shard left with nothing says so (exit code 5)", () => {
    const dir = suite();
    const one = pytestShard(dir, "1/3", join(dir, "1"), ["-k", "c1 or d1"]);
    const two = pytestShard(dir, "2/3", join(dir, "2"), ["-k", "c1 or d1"]);
    const three = pytestShard(dir, "3/3", join(dir, "3"), ["-k", "c1 or d1"]);
    expect([...outcomes(one.stdout), ...outcomes(two.stdout), ...outcomes(three.stdout)].sort()).toEqual([
      "test_c.py::test_c1 PASSED",
      "test_d.py::test_d1 PASSED",
    ]);
    expect([one.status, two.status, three.status]).toEqual([0, 0, 5]);
  });

  it("merge into one JUnit file with every test case, one log, and the exit code of one process", () => {
    const dir = suite();
    pytestShard(dir, undefined, join(dir, "single"));
    pytestShard(dir, "1/2", join(dir, "shards", "1"));
    pytestShard(dir, "2/2", join(dir, "shards", "2"));
    const merged = merge(join(dir, "shards"), 2);
    expect(merged.status).toBe(1);
    expect(readFileSync(join(merged.reports, "exit-code"), "utf8")).toBe("1\n");

    const junit = readFileSync(join(merged.reports, "junit.xml"), "utf8");
    const cases = (xml: string) => [...xml.matchAll(/<testcase classname="([\w.]+)" name="(\w+)"/g)].map((m) => `${m[1]}.${m[2]}`).sort();
    expect(cases(junit)).toEqual(cases(readFileSync(join(dir, "single", "junit.xml"), "utf8")));
    expect(junit).toMatch(/<testsuites name="pytest" tests="12" failures="1" errors="0" skipped="1"/);
    expect(junit).toContain('name="pytest (shard 2/2)"');

    const log = readFileSync(join(merged.reports, "pytest.log"), "utf8");
    expect(log).toMatch(/^===== shard 1\/2 \(exit code 0\) =====$/m);
    expect(log).toMatch(/^===== shard 2\/2 \(exit code 1\) =====$/m);
    // The failures of every shard are gathered at the end, where `test`'s error message reads them.
    expect(merged.stdout.trimEnd().split("\n").slice(-3)).toEqual([
      expect.stringContaining("all shards: short test summary info"),
      expect.stringMatching(/^FAILED test_b\.py::test_b3_fails/),
      expect.stringMatching(/^===== 1 failed, 10 passed, 1 xfailed in [\d.]+s \(2 shards, the longest one's time\) =====$/),
    ]);
  });

  it.each([
    [[0, 0], 0],
    [[0, 5], 0],
    [[5, 5], 5],
    [[1, 0], 1],
    [[1, 5], 1],
    [[1, 4], 4],
    [[0, 2], 2],
    [[3, 1], 3],
  ])("merge exit codes %j to %i, as one pytest process would end", (codes, expected) => {
    const shards = tempDir("shard-codes");
    codes.forEach((code, i) => {
      mkdirSync(join(shards, String(i + 1)));
      writeFileSync(join(shards, String(i + 1), "exit-code"), `${code}\n`);
      writeFileSync(join(shards, String(i + 1), "pytest.log"), "");
    });
    const merged = merge(shards, codes.length);
    expect(merged.stderr).toBe("");
    expect(merged.status).toBe(expected);
    expect(readFileSync(join(merged.reports, "exit-code"), "utf8")).toBe(`${expected}\n`);
  });

  it("refuse a count that cannot run, naming the option and what it means", () => {
    for (const bad of [0, -1, 1.5, 17, Number.NaN]) {
      expect(() => checkShards(bad)).toThrow(UsageError);
    }
    expect(() => checkShards(0)).toThrow(
      "shards must be a whole number from 1 to 16, got 0: 1 runs the suite in one pytest process, N splits its files over N processes, each with its own services",
    );
    expect([checkShards(1), checkShards(16)]).toEqual([1, 16]);
  });
});

/** The value of an environment variable a pipeline sets, if it does. */
function env(chain: Chain, name: string): string | undefined {
  return steps(chain, "withEnvVariable").find((s) => s.args.name === name)?.args.value;
}

describe("test --shards", () => {
  it("runs a stack of services and a pytest per shard, then merges their reports in a container without services", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", "===== 5 passed in 1.00s (2 shards, the longest one's time) =====\n");
      const out = await module().test([], undefined, undefined, 2);
      expect(out).toContain("2 shards");

      // Five services each (db, ldap, mq, keycloak, dummy worker), started and stopped per shard.
      expect(engine.chains("start")).toHaveLength(10);
      expect(engine.chains("stop")).toHaveLength(10);
      const runs = engine.chains("exitCode");
      expect(runs).toHaveLength(3);
      const [first, second, mergeRun] = runs as [Chain, Chain, Chain];
      expect([env(first, "PYCROFT_SHARD"), env(second, "PYCROFT_SHARD")].sort()).toEqual(["1/2", "2/2"]);
      for (const shard of [first, second]) {
        expect(env(shard, "PYTEST_PLUGINS")).toBe("pycroft_shard");
        expect(env(shard, "COVERAGE_FILE")).toBe("/opt/pycroft/reports/.coverage");
        expect(step(shard, "withNewFile", { path: "/usr/local/lib/pycroft-pytest/pycroft_shard.py" }).args.contents).toBe(SHARD_PLUGIN);
        expect(steps(shard, "withServiceBinding").map((s) => s.args.alias)).toEqual(["db", "ldap", "mq", "keycloak", "dummy-worker"]);
      }
      // Each shard has services of its own: another run id, so no instance is shared.
      expect(env(first, "PYCROFT_TEST_RUN")).not.toBe(env(second, "PYCROFT_TEST_RUN"));
      const dbRun = (c: Chain) => env(step(c, "withServiceBinding", { alias: "db" }).args.service, "PYCROFT_SERVICE_RUN");
      expect(dbRun(first)).toBeDefined();
      expect(dbRun(first)).not.toBe(dbRun(second));

      // The merge reads both shards' reports directories and runs with nothing bound.
      expect(steps(mergeRun, "withServiceBinding")).toEqual([]);
      const inputs = steps(mergeRun, "withDirectory").filter((s) => String(s.args.path).startsWith("/tmp/pycroft-shards/"));
      expect(inputs.map((s) => s.args.path)).toEqual(["/tmp/pycroft-shards/1", "/tmp/pycroft-shards/2"]);
      expect(steps(mergeRun, "withExec").at(-1)!.args.args.slice(-3)).toEqual(["/tmp/pycroft-shards", "/opt/pycroft/reports", "2"]);
    });
  });

  /**
   * The merge's own command, run here on two shards' reports as its container runs it: with the paths
   * moved here, its variables but the image's PATH.
   */
  function runMerge(mergeRun: Chain) {
    const exec = steps(mergeRun, "withExec").at(-1)!.args;
    const dir = suite();
    pytestShard(dir, "1/2", join(dir, "shards", "1"));
    pytestShard(dir, "2/2", join(dir, "shards", "2"));
    const reports = join(dir, "merged");
    // The scripts it writes into its container, here.
    const scripts = join(dir, "merge-scripts");
    mkdirSync(scripts);
    for (const file of steps(mergeRun, "withNewFile")) {
      expect(dirname(String(file.args.path))).toBe("/usr/local/lib/pycroft-merge");
      writeFileSync(join(scripts, basename(String(file.args.path))), String(file.args.contents));
    }
    const here = (arg: string) =>
      arg.replace("/tmp/pycroft-shards", join(dir, "shards")).replace("/opt/pycroft/reports", reports).replace("/usr/local/lib/pycroft-merge", scripts);
    const vars = Object.fromEntries(steps(mergeRun, "withEnvVariable").filter((v) => v.args.name !== "PATH").map((v) => [v.args.name, v.args.value]));
    const [command, ...args] = (exec.args as string[]).map(here);
    return { ...spawnSync(command!, args, { encoding: "utf8", env: { ...process.env, ...vars } }), reports };
  }

  it("merges as its container runs the merge: that script, those variables and arguments, run here on two shards' reports", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().testReport([], undefined, undefined, 2);
      const mergeRun = engine.chains("exitCode").at(-1)!;
      const exec = steps(mergeRun, "withExec").at(-1)!.args;
      // The suite's exit code is read from the merge, so any exit code of it is a result, not an error.
      expect(exec.expect).toBe(ReturnType.Any);
      // The coverage half gets the packages pytest-cov measured, under the name its script reads.
      expect(step(mergeRun, "withNewFile", { path: "/usr/local/lib/pycroft-merge/merge-coverage.py" }).args.contents).toBe(MERGE_COVERAGE);
      expect(env(mergeRun, "PYCROFT_COVERAGE_PACKAGES")).toBe(DEFAULTS.coveragePackages.join(","));
      expect(MERGE_COVERAGE).toContain('os.environ["PYCROFT_COVERAGE_PACKAGES"]');
      // Each shard finds its plugin where the file is written.
      const shard = engine.chains("exitCode")[0]!;
      const plugin = steps(shard, "withNewFile").find((f) => String(f.args.path).endsWith("/pycroft_shard.py"));
      expect(env(shard, "PYTHONPATH")).toBe(dirname(String(plugin?.args.path)));

      const ran = runMerge(mergeRun);
      expect(ran.status, ran.stdout + ran.stderr).toBe(1);
      // The shards here ran without coverage: the merge says so for each.
      expect(ran.stdout).toContain("shard 1/2 left no coverage data");
      expect(readFileSync(join(ran.reports, "exit-code"), "utf8")).toBe("1\n");
      expect(readFileSync(join(ran.reports, "junit.xml"), "utf8")).toMatch(/<testsuites name="pytest" tests="12" failures="1"/);
    });
  });

  it("measures no coverage for test: the shards run pytest without it, and the merge neither looks for it nor misses it", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", "===== 5 passed in 1.00s (2 shards, the longest one's time) =====\n");
      await module().test([], undefined, undefined, 2);
      const [first, second, mergeRun] = engine.chains("exitCode") as [Chain, Chain, Chain];
      for (const shard of [first, second]) {
        expect(steps(shard, "withExec").at(-1)!.args.args.filter((a: string) => a.startsWith("--cov"))).toEqual([]);
      }
      expect(steps(mergeRun, "withEnvVariable").map((v) => v.args.name)).not.toContain("PYCROFT_COVERAGE_PACKAGES");
      const ran = runMerge(mergeRun);
      expect(ran.status, ran.stdout + ran.stderr).toBe(1);
      expect(ran.stdout).not.toContain("coverage");
      expect(readFileSync(join(ran.reports, "junit.xml"), "utf8")).toMatch(/<testsuites name="pytest" tests="12" failures="1"/);
    });
  });

  it("fails with the merged summary when a shard's tests fail", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 1).respond("stdout", "FAILED tests/test_db.py::test_x\n===== 1 failed, 4 passed in 1.00s =====\n");
      const error = await module().test([], undefined, undefined, 2).then(() => undefined, (e: Error) => e);
      expect(error?.message).toMatch(/^pytest failed with exit code 1:\nFAILED tests\/test_db\.py::test_x/);
    });
  });

  it("names the shard whose services never got ready, lets the other finish, and merges nothing", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      let ldapStarts = 0;
      engine.respond("start", ({ parent }) => {
        // One shard's ldap (the second to start) never gets ready.
        if (serviceOf(parent).args.includes("/usr/local/bin/slapd-entrypoint") && ++ldapStarts === 2) {
          throw execError({ exitCode: 1, stderr: "slapd stopped." });
        }
      });
      const error = await module().test([], undefined, undefined, 2).then(() => undefined, (e: Error) => e);
      const failed = error?.message.match(/^shard ([12])\/2: service "ldap" never became ready:\nslapd stopped\.$/)?.[1];
      expect(failed).toBeDefined();
      // The other shard ran its tests; no merge ran; every service that came up was stopped.
      expect(engine.chains("exitCode").map((c) => env(c, "PYCROFT_SHARD"))).toEqual([failed === "1" ? "2/2" : "1/2"]);
      await vi.waitFor(() => expect(engine.chains("stop")).toHaveLength(9));
    });
  });

  it("refuses --shards 0 before it builds or starts anything", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      const error = await module().testReport([], undefined, undefined, 0).then(() => undefined, (e: Error) => e);
      expect(error).toBeInstanceOf(UsageError);
      expect(error?.message).toMatch(/^shards must be a whole number from 1 to 16, got 0/);
      expect(engine.queries).toEqual([]);
    });
  });
});
