// The dev environment's data on a real engine: a clean shutdown when dev-env stops, and one server per
// data volume.
import { randomUUID } from "node:crypto";

import { dag } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { DEFAULTS } from "../../src/config.js";
import { postgres } from "../../src/services/postgres.js";
import { DATA_IN_USE, devVolume, serve, startAll } from "../../src/services/service.js";
import { noEngine, pycroft, session } from "./engine.js";

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
