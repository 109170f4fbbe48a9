// dev-env and shell: what the dev server runs (run here with bash against a stand-in flask), what
// its database keeps, and what a shell opens.
import { spawnSync } from "node:child_process";
import { chmodSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { bound, serviceOf, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";

/** The `-c name=value` settings of a PostgreSQL command line. */
function postgresSettings(args: string[]): Record<string, string> {
  const settings: Record<string, string> = {};
  args.forEach((arg, i) => {
    if (arg === "-c") {
      const [name, value] = args[i + 1]!.split("=");
      settings[name!] = value!;
    }
  });
  return settings;
}

/**
 * Runs a service command with `flask` and `alembic`-style commands replaced by a stand-in that
 * records its arguments (one call per line) and fails its `alembic` subcommand when asked to.
 */
function runWithStandInFlask(command: string[], opts: { migrationFails?: boolean } = {}) {
  const dir = mkdtempSync(join(tmpdir(), "dev-server-"));
  const calls = join(dir, "calls");
  writeFileSync(calls, "");
  const flask = join(dir, "flask");
  writeFileSync(
    flask,
    `#!/bin/sh\necho "flask $*" >> "${calls}"\nif [ "$1" = alembic ] && [ -n "$MIGRATION_FAILS" ]; then echo "alembic: cannot connect" >&2; exit 3; fi\n`,
  );
  chmodSync(flask, 0o755);
  const [program, ...args] = command;
  const ran = spawnSync(program!, args, {
    env: { PATH: `${dir}:${process.env.PATH}`, ...(opts.migrationFails ? { MIGRATION_FAILS: "1" } : {}) },
    encoding: "utf8",
  });
  return { status: ran.status, stderr: ran.stderr, calls: readFileSync(calls, "utf8").trim().split("\n").filter(Boolean) };
}

describe("dev-env", () => {
  it("migrates the database, then serves the app with flask's debug server on all interfaces", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devEnv()).sync();
      const { container, args } = serviceOf(engine.lastChain());

      const ran = runWithStandInFlask(args);
      expect(ran.calls).toEqual(["flask alembic upgrade head", "flask run --debug --host=0.0.0.0 --port=5000"]);
      expect(ran.status).toBe(0);
      expect(steps(container, "withExposedPort").map((s) => s.args.port)).toContain(5000);
      // The app reaches its services under Pycroft's hostnames.
      expect(Object.keys(bound(container)).sort()).toEqual(["db", "ldap", "mail", "mq"]);
    });
  });

  it("starts no server on a database the migration could not bring up to date", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devEnv()).sync();
      const ran = runWithStandInFlask(serviceOf(engine.lastChain()).args, { migrationFails: true });
      expect(ran.calls).toEqual(["flask alembic upgrade head"]);
      expect(ran.status).toBe(3);
      expect(ran.stderr).toContain("alembic: cannot connect");
    });
  });

  it("runs the migration command given instead", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devEnv("flask db upgrade")).sync();
      const ran = runWithStandInFlask(serviceOf(engine.lastChain()).args);
      expect(ran.calls[0]).toBe("flask db upgrade");
      expect(ran.calls).toHaveLength(2);
    });
  });

  it("keeps its database durable: stock settings on data volumes, where the test database is tuned on tmpfs", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devEnv()).sync();
      const db = bound(serviceOf(engine.lastChain()).container).db!;
      const dev = postgresSettings(db.args);
      for (const unsafe of ["fsync", "full_page_writes", "synchronous_commit"]) expect(dev[unsafe], unsafe).not.toBe("off");
      expect(dev.wal_level).not.toBe("minimal");
      expect(step(db.container, "withMountedCache", { path: "/var/lib/postgresql/data" }).args.cache[0].args.key).toBe(
        "pycroft-example-dev-db-var-lib-postgresql-data",
      );
      expect(steps(db.container, "withMountedTemp")).toEqual([]);

      await (await module().postgres()).sync();
      const test = serviceOf(engine.lastChain());
      expect(postgresSettings(test.args)).toMatchObject({ fsync: "off", full_page_writes: "off", wal_level: "minimal" });
      expect(step(test.container, "withMountedTemp").args.path).toBe("/var/lib/postgresql/data");
    });
  });

  it("keeps every dev service's data on a volume of its own, which the next session finds again", async () => {
    const keys = async () =>
      withFakeEngine(async (engine) => {
        exampleSource(engine);
        await (await module().devEnv()).sync();
        const services = bound(serviceOf(engine.lastChain()).container);
        return Object.fromEntries(
          Object.entries(services).map(([host, svc]) => [
            host,
            steps(svc.container, "withMountedCache")
              // Dev data only: not the lock volume, nor a build step's apt caches.
              .filter((s) => s.args.path !== "/run/pycroft-dev-lock" && s.args.cache[0].args.key.includes("-dev-"))
              .map((s) => `${s.args.path} ${s.args.cache[0].args.key}`),
          ]),
        );
      });
    const first = await keys();
    expect(first).toEqual({
      db: ["/var/lib/postgresql/data pycroft-example-dev-db-var-lib-postgresql-data"],
      ldap: ["/var/lib/ldap pycroft-example-dev-ldap-var-lib-ldap", "/etc/ldap/slapd.d pycroft-example-dev-ldap-etc-ldap-slapd.d"],
      mq: ["/var/lib/rabbitmq pycroft-example-dev-mq-var-lib-rabbitmq"],
      mail: [],
    });
    expect(await keys()).toEqual(first);
  });
});

describe("shell", () => {
  it("keeps the shell's histories (bash, psql, Python) on the project's dev-state volume", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().shell()).sync();
      const chain = engine.lastChain();
      const state = "/opt/pycroft/.local/state";
      const mount = step(chain, "withMountedCache", { path: state });
      expect(mount.args.cache.at(-1)).toEqual({ field: "cacheVolume", args: { key: "pycroft-example-dev-state" } });
      const env = (name: string) => step(chain, "withEnvVariable", { name }).args.value;
      expect([env("HISTFILE"), env("PSQL_HISTORY"), env("PYTHON_HISTORY")]).toEqual([`${state}/bash_history`, `${state}/psql_history`, `${state}/python_history`]);
      expect(step(chain, "withSymlink").args).toEqual({ target: `${state}/python_history`, linkName: "/opt/pycroft/.python_history" });
    });
  });

  it("opens bash in the dev image, at the app, with the dev services bound and the app's environment", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().shell()).sync();
      const chain = engine.lastChain().slice(0, -1);

      expect(chain.at(-1)).toEqual({ field: "withDefaultTerminalCmd", args: { args: ["bash"] } });
      expect(steps(chain, "withWorkdir").at(-1)?.args.path).toBe("/opt/pycroft/app");
      expect(steps(chain, "withUser").at(-1)?.args.name).toBe("pycroft");
      expect(Object.keys(bound(chain)).sort()).toEqual(["db", "ldap", "mail", "mq"]);
      expect(step(chain, "withEnvVariable", { name: "FLASK_APP" }).args.value).toBe("scripts.server_run:prepare_server");
      expect(step(chain, "withEnvVariable", { name: "PYCROFT_DB_URI" }).args.value).toContain(":password@db:5432/");
    });
  });
});
