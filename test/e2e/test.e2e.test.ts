// `test` and `test-report` on the example app and the fixtures, and what the dev image says of a bad lock.
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdtempSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Container } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { EXAMPLE_TESTS } from "../support/example-tests.js";
import { startWatcher, upTestStack } from "../engine/sync.js";
import { upInChild } from "../support/dev-stack.js";
import { e2ePasswords, leakedPasswords, leaksIn, noEngine, PYTHON_IMAGE, pycroft, scratchCopy, session, sessionLog } from "./engine.js";

const read = (dir: { file(path: string): { contents(): Promise<string> } }, path: string) => dir.file(path).contents();

describe.skipIf(noEngine())("the test stage on a real engine", () => {
  it("test runs the example's suite with what Pycroft's test compose starts (db, ldap, mq, dummy worker, keycloak), all passing", async () => {
    const { result: output, log } = await sessionLog(() => pycroft("example", e2ePasswords()).test(["-p", "no:cacheprovider"]));
    // The engine's whole log of the run (builds, services, pytest's output) names none of the passwords.
    expect(log).toMatch(/tests\/test_db\.py::\S+ PASSED/);
    expect(leakedPasswords(log)).toEqual([]);
    // hades_logs needs the dummy worker running as Pycroft runs it; test_server the whole mail environment.
    for (const suite of ["test_db.py", "test_ldap.py", "test_celery.py", "test_web.py", "test_server.py", "hades_logs/test_hades_logs.py"]) {
      expect(output, suite).toMatch(new RegExp(`tests/${suite.replace(".", "\\.")}::\\S+ PASSED`));
    }
    // pytest's closing line: everything passed; no failure, error or skip. Warnings' own text may
    // say "error" (a library's deprecation message), so the verdict is read from the summary alone.
    const summary = output.match(/^=+ (.*) in [\d.]+s =+\s*$/m)?.[1];
    expect(summary).toMatch(new RegExp(`^${EXAMPLE_TESTS} passed(, \\d+ warnings?)?$`));
    expect(output).not.toMatch(/^(FAILED|ERROR) /m);
    // pytest waited for the services itself, after collecting, each asked as its client.
    expect(output).toMatch(/^pycroft-ready: answered \d+\.\d s after collection \(db \d+\.\d s, ldap \d+\.\d s, mq \d+\.\d s\)$/m);
    // The dummy worker, which only the hades tests use, before the first of them; keycloak, which no
    // test of the example uses, not at all.
    expect(output).toMatch(/^pycroft-ready: waited \d+\.\d s before tests\/hades_logs\/test_hades_logs\.py::\w+ \(dummy-worker \d+\.\d s after collection\)$/m);
    expect(output).not.toMatch(/^pycroft-ready: .*keycloak/m);
  });

  it("a service that exits during test's run is named with its own last words, from a checked start, within seconds", async () => {
    const began = performance.now();
    // An image without postgres: the db service's command is not there, and it exits at once.
    const error = await session(() => pycroft("example", { postgresImage: "debian:bookworm-slim" }).test(["-p", "no:cacheprovider"])).then(
      () => undefined,
      (err: Error) => err,
    );
    expect(error?.message).toMatch(/service "db" never became ready:\n.*docker-entrypoint\.sh: command not found/);
    // Not the 120 s that pytest's wait would give db: the engine ends the run as db exits.
    expect((performance.now() - began) / 1000).toBeLessThan(90);
  });

  it("test passes pytest arguments through; tests named without the OIDC one start no keycloak; --with-worker=false leaves the dummy worker out, and the hades tests then fail", async () => {
    await session(async () => {
      const report = await pycroft().testReport(["-k", "ldap or test_logs_of_a_port", "tests/test_ldap.py", "tests/test_db.py", "tests/hades_logs"], false);
      const log = await read(report, "pytest.log");
      expect(log).toMatch(/^pycroft-ready: answered \d+\.\d s after collection \(db \d+\.\d s, ldap \d+\.\d s, mq \d+\.\d s\)$/m);
      expect(log).toMatch(/tests\/test_ldap\.py::\S+ PASSED/);
      expect(log).not.toMatch(/tests\/test_db\.py/);
      expect(log).toMatch(/deselected/);
      expect(log).toMatch(/FAILED tests\/hades_logs\/test_hades_logs\.py::test_logs_of_a_port/);
      expect((await read(report, "exit-code")).trim()).toBe("1");
    });
  });

  it("a failing suite fails the call with pytest's summary, and test-report still has the JUnit file", async () => {
    await session(async () => {
      // Both calls at once: each has its own services.
      const [error, report] = await Promise.all([
        pycroft("test/fixtures/failing").test().then(() => undefined, (err: Error) => err),
        pycroft("test/fixtures/failing", e2ePasswords()).testReport(),
      ]);
      expect(error?.message).toMatch(/^pytest failed with exit code 1:/);
      expect(error?.message).toMatch(/FAILED tests\/\S+::test_\S+/);

      // No password in any report file (JUnit, coverage, htmlcov, pytest's log).
      const exported = mkdtempSync(join(tmpdir(), "pycroft-reports-"));
      await report.export(exported);
      expect(leaksIn(exported)).toEqual({});
      expect((await read(report, "exit-code")).trim()).toBe("1");
      const junit = await read(report, "junit.xml");
      expect(junit).toMatch(/<testsuites?[^>]* failures="1"/);
      expect(junit).toMatch(/<failure /);
      expect(await read(report, "coverage.xml")).toMatch(/<coverage /);
      expect(await read(report, "pytest.log")).toMatch(/1 failed/);
      expect(await report.exists("htmlcov/index.html")).toBe(true);
    });
  });

  it("test-report --shards 2 gives one report with the tests, outcomes and coverage of one process; a failing suite fails as it does", async () => {
    await session(async () => {
      // Without keycloak, which no test of the example uses (the worker stays: the hades tests need it):
      // three stacks at once are enough for two cores.
      const [single, sharded] = await Promise.all([pycroft().testReport([], undefined, false), pycroft().testReport([], undefined, false, 2)]);
      const cases = async (dir: typeof single) =>
        [...(await read(dir, "junit.xml")).matchAll(/<testcase classname="([\w.]+)" name="(\w+)"[^>]*?(\/>|>\s*<(\w+))/g)]
          .map((m) => `${m[1]}.${m[2]} ${m[4] ?? "passed"}`)
          .sort();
      const expected = await cases(single);
      expect(expected.length).toBeGreaterThan(10);
      expect(await cases(sharded)).toEqual(expected);
      expect((await read(sharded, "exit-code")).trim()).toBe("0");
      // Two processes ran, each its share: together every test once.
      const log = await read(sharded, "pytest.log");
      const shares = [1, 2].map((i) => Number(log.match(new RegExp(`^shard ${i}/2: (\\d+) tests in \\d+ files$`, "m"))?.[1]));
      expect(shares.every((n) => n > 0)).toBe(true);
      expect(shares[0]! + shares[1]!).toBe(expected.length);
      // One coverage report of both, as pytest-cov makes it: the same packages as sources, the same
      // statements, the same ones covered.
      const totals = async (dir: typeof single) => {
        const xml = await read(dir, "coverage.xml");
        return [xml.match(/lines-valid="(\d+)" lines-covered="(\d+)"/)?.slice(1), [...xml.matchAll(/<source>([^<]+)<\/source>/g)].map((m) => m[1])];
      };
      const [lines, sources] = await totals(single);
      expect(sources).toContain("/opt/pycroft/app/web");
      expect(await totals(sharded)).toEqual([lines, sources]);
      expect(await sharded.exists("htmlcov/index.html")).toBe(true);

      // The failing fixture has one test file: one shard fails, the other has nothing to run.
      const error = await pycroft("test/fixtures/failing").test([], undefined, undefined, 2).then(() => undefined, (err: Error) => err);
      expect(error?.message).toMatch(/^pytest failed with exit code 1:/);
      expect(error?.message).toMatch(/^FAILED tests\/\S+::test_\S+/m);
      expect(error?.message).toMatch(/^===== 1 failed, \d+ passed in [\d.]+s \(2 shards, the longest one's time\) =====$/m);
    });
  });

  it("an out-of-date uv.lock is reported as such", async () => {
    await session(async () => {
      const error = await pycroft("test/fixtures/broken-lock").dev().then((c: Container) => c.sync()).then(() => undefined, (err: Error) => err);
      expect(String(error?.message) + String((error as { stderr?: string })?.stderr ?? "")).toContain(
        "uv.lock is out of date with pyproject.toml: run 'uv lock' in the source and commit uv.lock",
      );
    });
  });

  it("a git dependency that cannot be fetched is named with the flag that leaves it out, and that flag works", async () => {
    await session(async () => {
      const error = await pycroft("test/fixtures/git-dep").dev().then((c: Container) => c.sync()).then(() => undefined, (err: Error) => err);
      expect(String((error as { stderr?: string })?.stderr ?? error?.message)).toContain(
        "docs-theme: a git dependency that could not be fetched. Where its repository cannot be reached, leave it out with --no-install-package docs-theme",
      );
      const dev = await pycroft("test/fixtures/git-dep", { noInstallPackage: ["docs-theme"] }).dev();
      const check = "import importlib.util as u; print(bool(u.find_spec('six')), bool(u.find_spec('docs_theme')), bool(u.find_spec('app')))";
      expect(await dev.withExec(["python", "-c", check]).stdout()).toBe("True False True\n");
    });
  });
});

/**
 * A test that counts its own runs in a table outside the app's schema: it passes on the database's
 * first run only, so a second run fails if, and only if, it met the same database.
 */
const COUNTS_ITS_RUNS = `from sqlalchemy import text


def test_kept(engine):
    with engine.begin() as connection:
        connection.execute(text("create table if not exists public.kept_runs (n int)"))
        connection.execute(text("insert into public.kept_runs values (1)"))
        count = connection.execute(text("select count(*) from public.kept_runs")).scalar()
    assert count == 1, f"kept_runs has {count} rows"
`;

/**
 * A test that fails unless the process running it was started more than 2 s before it: by
 * test-stack, ahead of its run.
 */
const STARTED_AHEAD = `import os


def test_kept_ahead():
    fields = open("/proc/self/stat").read().rsplit(")", 1)[1].split()
    age = float(open("/proc/uptime").read().split()[0]) - int(fields[19]) / os.sysconf("SC_CLK_TCK")
    print(f"the run's process started {age:.1f} s ago")
    assert age > 2, f"the run's process started {age:.1f} s ago"
`;

/** Sends the example's `whoami` task to each queue and asks the workers what they consume, as JSON. */
const ROUTED = `import json
from pycroft.task import app, whoami
node = lambda name: name.split("@")[0]
sent = {q: [whoami.apply_async(queue=q) for _ in range(8)] for q in ("alpha", "beta", "gamma")}
ran = {q: sorted({node(r.get(timeout=60)) for r in results}) for q, results in sent.items()}
inspect = app.control.inspect(timeout=5)
queues = {node(n): sorted(q["name"] for q in qs) for n, qs in (inspect.active_queues() or {}).items()}
pools = {node(n): s["pool"]["max-concurrency"] for n, s in (inspect.stats() or {}).items()}
print(json.dumps({"ran": ran, "queues": queues, "betaConcurrency": pools.get("beta")}))`;

describe.skipIf(noEngine())("the test stack on a real engine", () => {
  it("test-shell (just test-shell) is a shell with test's services: pytest by hand passes there, and psql reaches the test database", async () => {
    await session(async () => {
      const shell = await pycroft().testShell(false, false);
      const run = (script: string) => shell.withEnvVariable("CACHE_BUST", randomUUID()).withExec(["bash", "-c", script]).stdout();
      expect(await run("pytest -q -p no:cacheprovider tests/test_db.py tests/test_ldap.py 2>&1 | tail -n 1")).toMatch(/^\d+ passed in [\d.]+s\n$/);
      // The app's own connection string, search_path included, as Pycroft's justfile's test-psql uses it.
      expect(await run(`psql "$PYCROFT_DB_URI" -Atc "select current_database() || ' ' || current_setting('search_path')"`)).toBe("pycroft pycroft,public\n");
    });
  });

  it("test-shell --worker: two named workers of the app on one broker, each running its own queues' tasks and never the other's", async () => {
    await session(async () => {
      const shell = await pycroft().testShell(false, false, ["alpha:alpha", "beta:beta+gamma:2"]);
      const out = await shell.withEnvVariable("CACHE_BUST", randomUUID()).withExec(["python", "-c", ROUTED]).stdout();
      expect(JSON.parse(out)).toEqual({
        // Eight tasks to each queue, all sent before any is awaited: each queue's ran on its worker alone.
        ran: { alpha: ["alpha"], beta: ["beta"], gamma: ["beta"] },
        // What each Celery node says it consumes, and beta's pool.
        queues: { alpha: ["alpha"], beta: ["beta", "gamma"] },
        betaConcurrency: 2,
      });
    });
  });

  it("test-watch (npm run test-watch) runs pytest at once against real services, then after each saved edit, on the edited files and the services it kept", async () => {
    const dir = scratchCopy();
    // Without the worker and keycloak, which these tests do not need (the flags as the CLI spells them).
    const watch = await upInChild(["test-watch", "--with-worker=false", "--with-keycloak=false", "-k", "db or kept"], /^pytest exit code \d+ in [\d.]+ s; watching /m, { PYCROFT_SOURCE: dir, PYCROFT_PYTHON_IMAGE: PYTHON_IMAGE });
    const runs = () => [...watch.output().matchAll(/^pytest exit code (\d+) in ([\d.]+) s; watching /gm)];
    const untilRuns = async (count: number) => {
      for (let i = 0; i < 1200 && runs().length < count; i++) await new Promise((done) => setTimeout(done, 100));
      expect(runs(), watch.output()).toHaveLength(count);
      return watch.output();
    };
    try {
      // The first run: the database tests pass on the stack's PostgreSQL.
      let output = await untilRuns(1);
      expect(output).toMatch(/^tests\/test_db\.py \.+/m);
      expect(runs()[0]![1]).toBe("0");

      // A new test file is sent and run, and passes: the first run on this database.
      writeFileSync(join(dir, "tests/test_kept.py"), COUNTS_ITS_RUNS);
      output = await untilRuns(2);
      expect(output.slice(output.indexOf("pytest exit code 0"))).toMatch(/^tests\/test_kept\.py \./m);
      expect(runs()[1]![1]).toBe("0");

      // Saved again: the next run meets the same database, so the test fails, and the exit code says so.
      appendFileSync(join(dir, "tests/test_kept.py"), "# saved again\n");
      output = await untilRuns(3);
      expect(output).toMatch(/AssertionError: kept_runs has 2 rows/);
      expect(runs()[2]![1]).toBe("1");

      // Saved 3 s after that result: pytest was started for it meanwhile, with the venv's imports done.
      await new Promise((done) => setTimeout(done, 3000));
      writeFileSync(join(dir, "tests/test_kept_ahead.py"), STARTED_AHEAD);
      output = await untilRuns(4);
      expect(output.slice(runs()[2]!.index)).toMatch(/^tests\/test_kept_ahead\.py \./m);
      console.log(`test-watch: pytest runs after edits took ${runs().slice(1).map((r) => `${r[2]} s`).join(", ")}`);
    } finally {
      await watch.stop();
    }
  });

  it("the watcher that `dagger call watcher` exports sends an edit made while the stack started, runs pytest there at once, then after a saved edit", async () => {
    const dir = scratchCopy();
    await session(async () => {
      const m = pycroft(dir);
      const { target, stop } = await upTestStack(m, { worker: false, keycloak: false });
      // Made after the stack took its source: only the watcher's first send brings it.
      writeFileSync(join(dir, "tests/test_watched.py"), "def test_watched():\n    assert 'saved' == 'saved'\n");
      const watcher = await startWatcher(m, dir, target, ["tests/test_watched.py", "tests/test_db.py"]);
      try {
        expect(statSync(watcher.script).mode & 0o111).toBe(0o111);
        const first = await watcher.result(1);
        expect(watcher.output()).toMatch(/^sent the checkout in \d+ ms: the stack wrote the [1-9]\d* files that differed from its own$/m);
        expect(first.output).toMatch(/^tests\/test_watched\.py \.\s/m);
        expect(first.code).toBe(0);

        // Saved with a failing assert: the next run fails on it, and its exit code says so.
        writeFileSync(join(dir, "tests/test_watched.py"), "def test_watched():\n    assert 'saved' == 'again'\n");
        const failing = await watcher.result(2);
        expect(failing.output).toMatch(/AssertionError: assert 'saved' == 'again'/);
        expect(failing.code).toBe(1);
      } finally {
        await watcher.stop();
        await stop();
      }
    });
  });
});
