// The dev stage on a real engine: migrate, dev-env and shell on the dev services' kept data, a clean
// shutdown when dev-env stops, one server per data volume, and the whole dev stack.
import { randomUUID } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { dag, ExecError } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { OPTIONS } from "../../src/config.js";
import { postgres } from "../../src/services/postgres.js";
import { DATA_IN_USE, devVolume, JOIN_HINT, serve, startAll } from "../../src/services/service.js";
import { liveEdits, servedAfter, upInChild } from "../support/dev-stack.js";
import { hostDir, HTTP_STATUS, noEngine, PYTHON_IMAGE, pycroft, pycroftOn, scratchCopy, session, sessionLog, tempDirUntilExit } from "./engine.js";

const PGDATA = "/var/lib/postgresql/data";

describe.skipIf(noEngine())("migrate, dev-env and shell on a real engine", () => {
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
        .withExec(["python3", "-c", HTTP_STATUS, "http://app:5000/", "http://app:5000/users/nobody"]);
      expect(await probe.stdout()).toBe("200\n404\n");
    });
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

describe.skipIf(noEngine())("dev data on a real engine", () => {
  it("dev-env's database shuts down cleanly when dev-env stops, and what was written is there at the next start, in the next session too", async () => {
    const marker = `kept-${randomUUID()}`;
    const psql = async (sql: string) =>
      (await pycroft().shell())
        .withEnvVariable("CACHE_BUST", randomUUID())
        .withExec(["sh", "-c", 'psql "$PYCROFT_DB_URI" -v ON_ERROR_STOP=1 -Atq -c "$1"', "psql", sql])
        .stdout();
    await session(async () => {
      const dev = await (await pycroft().devEnv()).start();
      await psql(`create table if not exists e2e_kept (v text); insert into e2e_kept values ('${marker}')`);
      await dev.stop();

      // Once dev-env is gone, the engine stops the services it bound. PostgreSQL's control file says how
      // its server ended: "shut down" after a clean shutdown, "in production" after a kill.
      const state = await dag
        .container()
        .from(OPTIONS.postgresImage.default)
        .withMountedCache(PGDATA, dag.cacheVolume(devVolume("pycroft-example", "db", PGDATA)))
        .withEnvVariable("CACHE_BUST", randomUUID())
        .withExec(["sh", "-c", `for i in $(seq 60); do [ -e ${PGDATA}/postmaster.pid ] || break; sleep 0.5; done; pg_controldata ${PGDATA}`])
        .stdout();
      expect(state).toMatch(/^Database cluster state:\s+shut down$/m);

      expect(await psql(`select v from e2e_kept where v = '${marker}'`)).toBe(`${marker}\n`);
    });
    // A new session starts the dev services anew, on the same cache volumes: the row is still there.
    expect(await session(() => psql(`select count(*) from e2e_kept where v = '${marker}'`))).toBe("1\n");
  });

  it("a second server on the dev database's volume is refused while the first runs, saying why", async () => {
    await session(async () => {
      const spec = postgres({ image: OPTIONS.postgresImage.default, password: dag.setSecret("e2e-dev-pw", "password"), tuned: false });
      const first = serve(spec, { kind: "volumes", project: "e2e-dev" });
      // Another session's server: the same data, another service.
      const second = serve({ ...spec, container: spec.container.withEnvVariable("ANOTHER_SESSION", randomUUID()) }, { kind: "volumes", project: "e2e-dev" });
      const stop = await startAll({ db: first }, { kind: "volumes", project: "e2e-dev" });
      try {
        const refused = await startAll({ db: second }, { kind: "volumes", project: "e2e-dev" }).then(() => undefined, (err: Error) => err);
        expect(refused?.message).toContain(`db ${DATA_IN_USE}: stop that one first`);
      } finally {
        await stop();
      }
    });
  });
});

describe.skipIf(noEngine())("the dev stack on a real engine", () => {
  it("dev-stack, up in its own session as `dagger up` (npm run dev) runs it: every service on its host port, a shell joining it, its history kept, and edits on disk served without a restart", async () => {
    // Each port at its own number but the app's: this machine's image registry has 5000, so the app
    // goes to 15000, as a user moves a port with `up --ports 15000:5000 …`.
    const dir = scratchCopy();
    const stack = await upInChild(["dev-stack", "--sync", "15000:5000"], /^dev stack up: /m, { PYCROFT_SOURCE: dir, PYCROFT_PYTHON_IMAGE: PYTHON_IMAGE });
    try {
      await session(async () => {
        const m = pycroft();
        // A client that reaches the services only through the host's ports, as a tool on the host does.
        const viaHost = (hostPort: number, port: number) => dag.host().service([{ frontend: port, backend: hostPort }]);
        const client = (await m.dev())
          .withServiceBinding("db", viaHost(55432, 5432))
          .withServiceBinding("mq", viaHost(5672, 5672))
          .withServiceBinding("app", viaHost(15000, 5000))
          .withServiceBinding("mail", viaHost(2500, 2500))
          .withEnvVariable("PYCROFT_CELERY_BROKER_URI", "amqp://celery:celery@mq:5672/")
          .withEnvVariable("PYCROFT_CELERY_RESULT_BACKEND_URI", "rpc://celery:celery@mq:5672/")
          .withEnvVariable("CACHE_BUST", randomUUID());
        const run = (...args: string[]) => client.withExec(args).stdout();

        // The stack migrated the dev database before its app started.
        const db = "postgresql://postgres:password@db:5432/pycroft?options=-csearch_path%3Dpycroft,public";
        expect(await run("psql", db, "-Atc", "select version_num from alembic_version")).toBe("0001\n");
        // The app reads that database: 404 for an unknown login (500 without the users table).
        expect(await run("python", "-c", HTTP_STATUS, "http://app:5000/", "http://app:5000/users/nobody")).toBe("200\n404\n");
        // The stack's Celery worker is the only one on its broker.
        const task = "from pycroft.task import render_badge; print(render_badge.delay('dev', 'stack').get(timeout=60))";
        expect(await run("python", "-c", task)).toBe('<span class="badge"><b>dev</b> stack</span>\n');
        // The source's debugging mail server takes a mail, with its own answer.
        const smtp = `import smtplib
s = smtplib.SMTP("mail", 2500, timeout=30)
s.ehlo(); s.mail("pycroft@agdsn.de"); s.rcpt("dev@example.org")
code, text = s.data(b"Subject: dev stack\\r\\n\\r\\nhello")
print(code, text.decode())`;
        expect(await run("python", "-c", smtp)).toBe("250 Message accepted for delivery\n");

        // A shell of this other session joins the stack's services (`shell --db tcp://localhost:55432 …`)…
        const onHost = (port: number) => dag.host().service([{ frontend: port, backend: port }]);
        const joined = await m.shell(onHost(55432), onHost(389), onHost(5672));
        const inShell = (args: string[], stdin?: string) =>
          joined.withEnvVariable("CACHE_BUST", randomUUID()).withExec(args, stdin === undefined ? {} : { stdin }).stdout();
        expect(await inShell(["sh", "-c", "flask alembic current 2>&1"])).toMatch(/^0001 \(head\)$/m);
        const ldapBind = "import os, ldap3; print(ldap3.Connection(ldap3.Server('ldap', 389), os.environ['PYCROFT_LDAP_BIND_DN'], os.environ['PYCROFT_LDAP_BIND_PW']).bind())";
        expect(await inShell(["python", "-c", ldapBind])).toBe("True\n");
        // …and a new shell container finds the last one's history.
        const typed = `echo kept-${randomUUID()}`;
        expect(await inShell(["bash", "-i"], `${typed}\n`)).toContain(typed.replace("echo ", ""));
        expect(await inShell(["bash", "-i"], "history\n")).toContain(typed);
        // A shell that starts its own services is refused: the stack holds the data.
        const own = await (await m.shell()).withEnvVariable("CACHE_BUST", randomUUID()).withExec(["true"]).sync().then(() => undefined, (e: Error) => e);
        expect(own).toBeInstanceOf(ExecError);
        expect((own as ExecError).stderr).toContain(`${DATA_IN_USE}: stop that one first, or join a running dev-stack: ${JOIN_HINT}`);

        await expectLiveEdits(dir, stack.output);
        // The stack ends first, so no connection through the host's ports outlives it into this session's close.
        await stack.stop();
      });
    } finally {
      await stack.stop();
    }
  });
});

/** Edits on disk, each served by the app the stack publishes on 15000, and what the watcher sent. */
async function expectLiveEdits(dir: string, output: () => string): Promise<void> {
  const times = await liveEdits(dir, "http://localhost:15000");
  // The docs, built in the app container and served on compose's dev-docs port.
  await servedAfter(async () => (await (await fetch("http://localhost:5001/index.html")).text()).includes("<title>Pycroft example"));

  const synced = [...output().matchAll(/^synced \d+ of \d+ changed paths in (\d+) ms$/gm)].map((m) => `${m[1]} ms`);
  console.log(`edit on disk -> served by the dev stack: template ${times.template} ms, Python ${times.python} ms, JS ${times.js} ms (of which sending: ${synced.join(", ")})`);
  expect(synced.length).toBeGreaterThanOrEqual(3);
  expect(output().match(/^dev stack up: /gm)).toHaveLength(1);
}

/** The project of the db-init source: dev volumes of its own, which its test empties first. */
const DUMPED = "pycroft-e2e-db-init";

/**
 * A copy of the example whose next migration alters a table that only a "production dump" creates,
 * as Pycroft's first migration alters `subnet`; its own project name keeps its dev data apart. The
 * dump: a schema file in a directory (`--db-init`) and a data file (`--db-init-file`).
 */
function dumpedExample() {
  const src = scratchCopy();
  for (const file of ["pyproject.toml", "uv.lock"]) {
    writeFileSync(join(src, file), readFileSync(join(src, file), "utf8").replace('name = "pycroft-example"', `name = "${DUMPED}"`));
  }
  writeFileSync(
    join(src, "pycroft/model/alembic/versions/0002_legacy_rooms_note.py"),
    `"""a note on each room of the imported dump"""
import sqlalchemy as sa
from alembic import op

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("legacy_rooms", sa.Column("note", sa.Text, nullable=True))


def downgrade() -> None:
    op.drop_column("legacy_rooms", "note")
`,
  );
  const dump = tempDirUntilExit("pycroft-dump-");
  mkdirSync(join(dump, "schema"));
  // No key: a second load would double the rows.
  writeFileSync(join(dump, "schema/10-rooms.sql"), "CREATE TABLE legacy_rooms (id int NOT NULL, name text NOT NULL);\n");
  writeFileSync(join(dump, "schema/README"), "not SQL: left out\n");
  writeFileSync(join(dump, "data.sql"), "INSERT INTO legacy_rooms (id, name) VALUES (1, 'WU5-0304'), (2, 'HSS-1207');\n");
  writeFileSync(join(dump, "other-data.sql"), "INSERT INTO legacy_rooms (id, name) VALUES (3, 'ZW41-0102');\n");
  writeFileSync(join(dump, "broken.sql"), "INSERT INTO legacy_rooms (id, name) VALUES (4, 'GPS-0001');\nINSERT INTO nowhere VALUES (1);\n");
  return { src, schema: join(dump, "schema"), file: (name: string) => dag.host().file(join(dump, name)) };
}

/** What an exec's failure says: the message, and the process's output. */
const failure = (e: unknown) => (e instanceof ExecError ? `${e.message}\n${e.stdout}\n${e.stderr}` : String((e as Error)?.message ?? e));

describe.skipIf(noEngine())("--db-init and --db-init-file on a real engine", () => {
  let made: ReturnType<typeof dumpedExample> | undefined;
  const dumped = () => (made ??= dumpedExample());
  const m = () => pycroftOn(hostDir(dumped().src));

  it("migrate loads them before the migrations, which fail without them; a file that fails loads nothing of them", async () => {
    await session(async () => {
      const out = await m().migrate(undefined, dag.host().directory(dumped().schema), [dumped().file("data.sql")]);
      expect(out).toMatch(/^db-init: loaded 10-rooms\.sql, data\.sql into the database pycroft, in one transaction$/m);
      expect(out).toMatch(/Running upgrade 0001 -> 0002/);
      expect(out.indexOf("db-init: loaded")).toBeLessThan(out.indexOf("Running upgrade"));

      const without = await m().migrate().then(() => undefined, (e: unknown) => e);
      expect(failure(without)).toMatch(/relation "legacy_rooms" does not exist/);

      const broken = await m().migrate(undefined, dag.host().directory(dumped().schema), [dumped().file("data.sql"), dumped().file("broken.sql")]).then(() => undefined, (e: unknown) => e);
      expect(failure(broken)).toMatch(/psql:\/db-init\/003-broken\.sql:2: ERROR: +relation "nowhere" does not exist/);
      expect(failure(broken)).toContain("db-init: nothing of 10-rooms.sql, data.sql, broken.sql was loaded");
    });
  });

  it("dev-env loads them into a fresh dev volume once: a second start on that volume loads nothing again, nor other files over them", async () => {
    // A fresh dev database: the volume emptied, as a new engine would have it.
    await session(() =>
      dag
        .container()
        .from(OPTIONS.postgresImage.default)
        .withMountedCache(PGDATA, dag.cacheVolume(devVolume(DUMPED, "db", PGDATA)))
        .withEnvVariable("CACHE_BUST", randomUUID())
        .withExec(["sh", "-c", `find ${PGDATA} -mindepth 1 -delete && ls -A ${PGDATA} | wc -l`])
        .stdout(),
    ).then((left) => expect(left).toBe("0\n"));

    // A dev-env session with these files: once its app answers (migrated), what the database holds.
    const devEnv = (files: string[]) =>
      sessionLog(async () => {
        const app = await m().devEnv(undefined, dag.host().directory(dumped().schema), files.map((f) => dumped().file(f)));
        return (await m().shell())
          .withServiceBinding("app", app)
          .withEnvVariable("CACHE_BUST", randomUUID())
          .withExec([
            "sh", "-c",
            `python -c "$1" http://app:5000/ >/dev/null && psql "$PYCROFT_DB_URI" -v ON_ERROR_STOP=1 -Atq -c "select count(*) from legacy_rooms" -c "select version_num from alembic_version" -c "select shobj_description(oid, 'pg_database') from pg_database where datname = current_database()"`,
            "probe", HTTP_STATUS,
          ])
          .stdout();
      });

    const first = await devEnv(["data.sql"]);
    const [rows, version, mark] = first.result.trim().split("\n");
    expect([rows, version]).toEqual(["2", "0002"]);
    expect(mark).toMatch(/^pycroft db-init sha256:[0-9a-f]{16} \(10-rooms\.sql, data\.sql\), loaded \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    expect(first.log).toContain("db-init: loaded 10-rooms.sql, data.sql into the database pycroft, in one transaction");

    // The next session, on the same volume, with the same files: the rows once, the mark the first load's.
    const again = await devEnv(["data.sql"]);
    expect(again.result).toBe(first.result);
    expect(again.log).toContain(`db-init: not loaded again: the database already holds 10-rooms.sql, data.sql (${mark})`);
    expect(again.log).not.toContain("db-init: loaded 10-rooms.sql");

    // Other files: kept out, and said so.
    const other = await devEnv(["other-data.sql"]);
    expect(other.result).toBe(first.result);
    expect(other.log).toContain(`db-init: not loaded: the database already holds other init SQL (${mark}) and keeps it. To load 10-rooms.sql, other-data.sql instead`);
  });
});
