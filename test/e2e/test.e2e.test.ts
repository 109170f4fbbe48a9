// `test`, `test-report`, `migrate`, `dev-env` and `shell` on the example app and the fixtures.
import { mkdtempSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Container, dag } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { e2ePasswords, HTTP_STATUS as STATUS, leakedPasswords, leaksIn, noEngine, PYTHON_IMAGE, pycroft, session, sessionLog } from "./engine.js";

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
    expect(summary).toMatch(/^\d+ passed(, \d+ warnings?)?$/);
    expect(output).not.toMatch(/^(FAILED|ERROR) /m);
  });

  it("test passes pytest arguments through", async () => {
    const output = await session(() => pycroft().test(["-k", "ldap"], false, false));
    expect(output).toMatch(/tests\/test_ldap\.py::\S+ PASSED/);
    expect(output).not.toMatch(/tests\/test_db\.py/);
    expect(output).toMatch(/deselected/);
  });

  it("test --with-worker=false leaves the dummy worker out, and the hades tests then fail", async () => {
    const error = await session(() => pycroft().test(["-k", "test_logs_of_a_port"], false, false).then(() => undefined, (err: Error) => err));
    expect(error?.message).toMatch(/^pytest failed with exit code 1:/);
    expect(error?.message).toMatch(/FAILED tests\/hades_logs\/test_hades_logs\.py::test_logs_of_a_port/);
  });

  it("a failing suite fails the call with pytest's summary, and test-report still has the JUnit file", async () => {
    await session(async () => {
      const error = await pycroft("test/fixtures/failing").test().then(() => undefined, (err: Error) => err);
      expect(error?.message).toMatch(/^pytest failed with exit code 1:/);
      expect(error?.message).toMatch(/FAILED tests\/\S+::test_\S+/);

      const report = await pycroft("test/fixtures/failing", e2ePasswords()).testReport();
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
      const [single, sharded] = await Promise.all([pycroft().testReport(), pycroft().testReport([], undefined, undefined, 2)]);
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
      const dev = await pycroft("test/fixtures/git-dep", { noInstallPackages: ["docs-theme"] }).dev();
      const check = "import importlib.util as u; print(bool(u.find_spec('six')), bool(u.find_spec('docs_theme')), bool(u.find_spec('app')))";
      expect(await dev.withExec(["python", "-c", check]).stdout()).toBe("True False True\n");
    });
  });

  it("migrate applies the migrations to a fresh database", async () => {
    const out = await session(() => pycroft().migrate());
    expect(out).toMatch(/Running upgrade\s+-> \w+/);
    // A second call migrates from scratch again: every call gets its own database.
    expect(await session(() => pycroft().migrate())).toMatch(/Running upgrade\s+-> \w+/);
  });

  it("dev-env serves the app (FLASK_APP from .flaskenv) on 5000 with migrations applied", async () => {
    await session(async () => {
      const app = await pycroft().devEnv();
      // /users/<login> queries the users table: 404 for an unknown login once migrated, 500 without the table.
      const probe = dag
        .container()
        .from(PYTHON_IMAGE)
        .withServiceBinding("app", app)
        .withEnvVariable("CACHE_BUST", String(Date.now()))
        .withExec(["python3", "-c", STATUS, "http://app:5000/", "http://app:5000/users/nobody"]);
      expect(await probe.stdout()).toBe("200\n404\n");
    });
  });

  it("the dev environment's data survives a restart: its services keep data on cache volumes", async () => {
    const marker = `row-${Date.now()}`;
    const sql = (statement: string) =>
      session(async () =>
        (await pycroft().shell())
          .withEnvVariable("CACHE_BUST", `${marker}-${statement}`)
          .withExec([
            "python", "-c",
            "import os, sys, sqlalchemy as sa\n" +
              "with sa.create_engine(os.environ['PYCROFT_DB_URI']).begin() as c:\n" +
              "    c.execute(sa.text('create table if not exists e2e_persist (v text)'))\n" +
              "    r = c.execute(sa.text(sys.argv[1]), {'v': sys.argv[2]})\n" +
              "    print(r.scalar() if r.returns_rows else 'ok')",
            statement,
            marker,
          ])
          .stdout(),
      );
    expect(await sql("insert into e2e_persist values (:v)")).toBe("ok\n");
    // A new session starts the dev services anew; the row is still there.
    expect(await sql("select count(*) from e2e_persist where v = :v")).toBe("1\n");
  });

  it("the dev ldap follows a changed --ldap-password: the kept configuration gets the new admin password", async () => {
    // Whether the admin binds with the default and with a new password (printed as booleans: Dagger
    // scrubs secret values from output); `changed` starts the services with the new one.
    const binds = (changed?: string) =>
      session(async () => {
        const o = changed ? { ldapPassword: dag.setSecret("e2e-ldap-password", changed) } : {};
        return (await pycroft("example", o).shell())
          .withEnvVariable("CACHE_BUST", `${Date.now()}`)
          .withExec([
            "python", "-c",
            "import sys, ldap3\n" +
              "for pw in sys.argv[1:]:\n" +
              "    print(ldap3.Connection(ldap3.Server('ldap', 389), 'cn=admin,dc=agdsn,dc=de', pw).bind())",
            "password",
            "changed-e2e",
          ])
          .stdout();
      });
    // The volume holds a configuration made with the default password first.
    expect(await binds()).toBe("True\nFalse\n");
    // Were it kept, the service would never get ready: its health check binds with the new password.
    expect(await binds("changed-e2e")).toBe("False\nTrue\n");
    expect(await binds()).toBe("True\nFalse\n");
  });

  it("shell has the app, its environment, flask and the dev services bound", async () => {
    await session(async () => {
      const shell = (await pycroft().shell()).withEnvVariable("CACHE_BUST", String(Date.now()));
      const out = await shell
        .withExec([
          "python", "-c",
          "import os, sqlalchemy as sa; e = sa.create_engine(os.environ['PYCROFT_DB_URI']); print(e.connect().execute(sa.text('select 42')).scalar())",
        ])
        .stdout();
      expect(out).toBe("42\n");
      // flask finds the app through FLASK_APP, and its alembic command reaches the dev database.
      const current = "flask alembic upgrade head >/dev/null 2>&1 && flask alembic current 2>&1";
      expect(await shell.withExec(["sh", "-c", current]).stdout()).toMatch(/^0001 \(head\)$/m);
    });
  });
});
