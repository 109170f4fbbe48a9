// The dev environment's data on a real engine: a clean shutdown when dev-env stops, and one server per
// data volume.
import { randomUUID } from "node:crypto";

import { dag } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { DEFAULTS } from "../../src/config.js";
import { postgres } from "../../src/services/postgres.js";
import { DATA_IN_USE, devVolume, serve, startAll } from "../../src/services/service.js";
import { HTTP_STATUS, noEngine, pycroft, session } from "./engine.js";

const PGDATA = "/var/lib/postgresql/data";

describe.skipIf(noEngine())("dev data on a real engine", () => {
  it("dev-env's database shuts down cleanly when dev-env stops, and what was written is there at the next start", async () => {
    await session(async () => {
      const m = pycroft();
      const marker = `kept-${randomUUID()}`;
      const psql = async (sql: string) =>
        (await m.shell())
          .withEnvVariable("CACHE_BUST", randomUUID())
          .withExec(["sh", "-c", 'psql "$PYCROFT_DB_URI" -v ON_ERROR_STOP=1 -Atq -c "$1"', "psql", sql])
          .stdout();

      const dev = await (await m.devEnv()).start();
      await psql(`create table if not exists e2e_kept (v text); insert into e2e_kept values ('${marker}')`);
      await dev.stop();

      // Once dev-env is gone, the engine stops the services it bound. PostgreSQL's control file says how
      // its server ended: "shut down" after a clean shutdown, "in production" after a kill.
      const state = await dag
        .container()
        .from(DEFAULTS.postgresImage)
        .withMountedCache(PGDATA, dag.cacheVolume(devVolume("db", PGDATA)))
        .withEnvVariable("CACHE_BUST", randomUUID())
        .withExec(["sh", "-c", `for i in $(seq 60); do [ -e ${PGDATA}/postmaster.pid ] || break; sleep 0.5; done; pg_controldata ${PGDATA}`])
        .stdout();
      expect(state).toMatch(/^Database cluster state:\s+shut down$/m);

      expect(await psql(`select v from e2e_kept where v = '${marker}'`)).toBe(`${marker}\n`);
    });
  });

  it("a second server on the dev database's volume is refused while the first runs, saying why", async () => {
    await session(async () => {
      const spec = postgres({ image: DEFAULTS.postgresImage, password: dag.setSecret("e2e-dev-pw", "password"), tuned: false });
      const first = serve(spec, { kind: "volumes" });
      // Another session's server: the same data, another service.
      const second = serve({ ...spec, container: spec.container.withEnvVariable("ANOTHER_SESSION", randomUUID()) }, { kind: "volumes" });
      const stop = await startAll({ db: first }, { kind: "volumes" });
      try {
        const refused = await startAll({ db: second }, { kind: "volumes" }).then(() => undefined, (err: Error) => err);
        expect(refused?.message).toContain(`db ${DATA_IN_USE}: stop that one first`);
      } finally {
        await stop();
      }
    });
  });
});

describe.skipIf(noEngine())("the dev stack on a real engine", () => {
  it("dev-stack publishes the dev services on host ports: psql on 55432 reaches the migrated dev database, a task sent through 5672 runs on the stack's worker, the app answers", async () => {
    await session(async () => {
      const m = pycroft();
      // Each port at its own number but the app's: this machine's image registry has 5000, so the
      // app goes to 15000, as a user remaps a port with `up --ports 15000:5000 …`.
      const ports = DEFAULTS.devPorts.map((p) => ({ frontend: p.port === 5000 ? 15000 : p.port, backend: p.port }));
      const tunnel = await dag.host().tunnel(await m.devStack(), { ports }).start();
      try {
        // A client that reaches the services only through the host's ports, as a tool on the host does.
        const viaHost = (hostPort: number, port: number) => dag.host().service([{ frontend: port, backend: hostPort }]);
        const client = (await m.dev())
          .withServiceBinding("db", viaHost(55432, 5432))
          .withServiceBinding("mq", viaHost(5672, 5672))
          .withServiceBinding("app", viaHost(15000, 5000))
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
      } finally {
        await tunnel.stop();
      }
    });
  });

  it("the dev user's shell history survives a new shell", async () => {
    const marker = `echo kept-${randomUUID()}`;
    const bash = (input: string) =>
      session(async () =>
        (await pycroft().shell()).withEnvVariable("CACHE_BUST", randomUUID()).withExec(["bash", "-i"], { stdin: input }).stdout(),
      );
    expect(await bash(`${marker}\n`)).toContain(marker.replace("echo ", ""));
    // A new session, a new shell container: the history is the volume's.
    expect(await bash("history\n")).toContain(marker);
  });
});
