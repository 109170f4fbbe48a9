// --db-init and --db-init-file: the loader's script (run here with bash against a stand-in psql),
// and how migrate, dev-env and dev-stack wire the loader between the db and the app.
import { createHash } from "node:crypto";
import { existsSync, readFileSync, writeFileSync } from "node:fs";
import { basename, join } from "node:path";

import { dag } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { OPTIONS, UsageError } from "../../src/config.js";
import { script } from "../../src/scripts/index.js";
import { DB_INIT_LOG, LOAD_DB_INIT } from "../../src/services/db-init.js";
import { bound, Chain, FakeEngine, formatChain, serviceOf, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";
import { runScript, tempDir } from "../support/run-script.js";

const FILES = { "a.sql": "CREATE TABLE a (id int);\n", "b.sql": "INSERT INTO a VALUES (1);\n" };

/** The digest the script marks a load with: of each file's sha256sum line, in order. */
function digestOf(contents: string[]): string {
  const lines = contents.map((c) => `${createHash("sha256").update(c).digest("hex")}  -\n`).join("");
  return createHash("sha256").update(lines).digest("hex").slice(0, 16);
}

/** Runs the loader's script on FILES with a stand-in psql that keeps the SQL it is given and says `said`. */
function load(said: string, opts: { psqlFails?: boolean; files?: Record<string, string> } = {}) {
  const dir = tempDir("db-init");
  const files = opts.files ?? FILES;
  for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
  const psql = opts.psqlFails
    ? 'echo "psql:/db-init/002-b.sql:1: ERROR:  relation \\"a\\" does not exist" >&2; exit 3'
    : `echo "$PGOPTIONS" > "$PWD/pgoptions"; cp "\${@: -1}" "$PWD/load.sql"; echo '${said}'`;
  const ran = runScript(["bash", "-c", LOAD_DB_INIT, "load-db-init", join(dir, "log"), Object.keys(files).join(", "), ...Object.keys(files).map((n) => join(dir, n))], {
    dir,
    standIns: { psql: { does: psql } },
    env: { PGDATABASE: "pycroft" },
  });
  const read = (name: string) => (existsSync(join(dir, name)) ? readFileSync(join(dir, name), "utf8") : undefined);
  return { ...ran, log: read("log"), sql: read("load.sql"), pgoptions: read("pgoptions") };
}

describe("the loader's script", () => {
  it("loads every file in one transaction, marks the database, and says so", () => {
    const ran = load("loaded");
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stdout).toBe("db-init: loaded a.sql, b.sql into the database pycroft, in one transaction\n");
    expect(ran.log).toBe(ran.stdout);
    // One transaction, under a lock, that loads only where no load is marked, and marks this one.
    expect(ran.sql!.split("\n")).toEqual([
      "BEGIN;",
      "SELECT pg_advisory_xact_lock(hashtext('pycroft db-init'));",
      "SELECT coalesce(shobj_description(oid, 'pg_database'), '') AS held FROM pg_database WHERE datname = current_database() \\gset",
      "SELECT :'held' LIKE 'pycroft db-init %' AS loaded \\gset",
      "\\if :loaded",
      "\\echo held :held",
      "\\else",
      `\\i ${join(ran.dir, "a.sql")}`,
      `\\i ${join(ran.dir, "b.sql")}`,
      `COMMENT ON DATABASE :"DBNAME" IS :'mark';`,
      "\\echo loaded",
      "\\endif",
      "COMMIT;",
      "",
    ]);
    const [call] = ran.calls;
    expect(call).toMatch(/^psql -X -q -v ON_ERROR_STOP=1 -v mark=pycroft db-init sha256:[0-9a-f]{16} \(a\.sql, b\.sql\), loaded \d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ -o \/dev\/null -f /);
    expect(call).toContain(`sha256:${digestOf(Object.values(FILES))} `);
    expect(ran.pgoptions).toBe("-c client_min_messages=warning\n");
  });

  it("marks the files' contents in their order: other contents or another order, another digest", () => {
    const mark = (files: Record<string, string>) => load("loaded", { files }).calls[0]!.match(/sha256:(\w+)/)![1];
    const first = mark(FILES);
    expect(first).toBe(digestOf(Object.values(FILES)));
    expect(mark({ "a.sql": FILES["a.sql"], "b.sql": "INSERT INTO a VALUES (2);\n" })).not.toBe(first);
    expect(mark({ "b.sql": FILES["b.sql"], "a.sql": FILES["a.sql"] })).not.toBe(first);
  });

  it("loads nothing again where the database holds the same files", () => {
    const held = `pycroft db-init sha256:${digestOf(Object.values(FILES))} (a.sql, b.sql), loaded 2026-01-01T00:00:00Z`;
    const ran = load(`held ${held}`);
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stdout).toBe(`db-init: not loaded again: the database already holds a.sql, b.sql (${held})\n`);
  });

  it("keeps another load, and says how to replace it", () => {
    const held = "pycroft db-init sha256:0123456789abcdef (old.sql), loaded 2026-01-01T00:00:00Z";
    const ran = load(`held ${held}`);
    expect(ran.status, ran.stderr).toBe(0);
    expect(ran.stdout).toBe(
      `db-init: not loaded: the database already holds other init SQL (${held}) and keeps it. To load a.sql, b.sql instead, drop what that SQL made and its mark (COMMENT ON DATABASE pycroft IS NULL), then start again\n`,
    );
  });

  it("fails with psql's error and says that nothing was loaded", () => {
    const ran = load("", { psqlFails: true });
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain('psql:/db-init/002-b.sql:1: ERROR:  relation "a" does not exist');
    expect(ran.stderr).toContain("db-init: nothing of a.sql, b.sql was loaded: psql stopped at the error above, and the transaction was rolled back");
    expect(ran.log).toBeUndefined();
  });

  it("fails on an answer it does not know", () => {
    const ran = load("something else");
    expect(ran.status).toBe(1);
    expect(ran.stderr).toContain("db-init: psql said neither loaded nor held: something else");
  });
});

/** Host paths as the fake engine names them: `dag.host().file(path).name()` is the path's last part. */
function hostFiles(engine: FakeEngine, dirs: Record<string, string[]> = {}) {
  const entries = engine.responderOf("entries");
  engine.respond("entries", (call) => {
    const dir = call.parent.find((s) => s.field === "directory")?.args.path as string | undefined;
    if (dir !== undefined && dir in dirs) return dirs[dir];
    return typeof entries === "function" ? entries(call) : entries;
  });
  engine.respond("name", ({ parent }) => basename(String(steps(parent, "file").at(-1)?.args.path)));
}

/** The loader behind an app container: the pipeline whose file it got at `DB_INIT_LOG`. */
function loaderOf(app: Chain): Chain {
  return step(app, "withFile", { path: DB_INIT_LOG }).args.source as Chain;
}

describe("the loader's place", () => {
  it("migrate keeps its db up from before the load until after the migrations (on tmpfs, a restart in between would lose the load)", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      hostFiles(engine, { "db-init": ["10-schema.sql"] });
      await module().migrate(undefined, dag.host().directory("db-init"));
      const all = engine.chains();
      const [start, stop, migration] = [engine.chains("start").at(-1)!, engine.chains("stop").at(-1)!, engine.chains("stdout").at(-1)!];
      expect(start, "no service was started").toBeDefined();
      expect(stop, "no service was stopped").toBeDefined();
      // The service started and stopped is the db the migration and the loader are bound to.
      expect(JSON.stringify(serviceOf(start))).toBe(JSON.stringify(bound(migration).db));
      expect(JSON.stringify(serviceOf(stop))).toBe(JSON.stringify(bound(migration).db));
      expect(all.indexOf(start)).toBeLessThan(all.indexOf(migration));
      expect(all.indexOf(migration)).toBeLessThan(all.indexOf(stop));
    });
  });

  it("migrate loads the directory's .sql files in name order, then the files, into its db, before the migrations", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      hostFiles(engine, { "db-init": ["20-data.sql", "README", "10-schema.sql"] });
      await module().migrate(undefined, dag.host().directory("db-init"), [dag.host().file("more/extra data.sql"), dag.host().file("last.sql")]);
      const migration = engine.chains("stdout").at(-1)!;
      const loader = loaderOf(migration);
      expect(loader[0]!.field, formatChain(loader)).toBe("container");
      expect(step(loader, "from").args.address).toBe(OPTIONS.postgresImage.default);
      // Numbered in load order; a name that a path cannot take unquoted gets _ for the odd characters.
      expect(steps(loader, "withFile").map((s) => s.args.path)).toEqual([
        "/db-init/001-10-schema.sql",
        "/db-init/002-20-data.sql",
        "/db-init/003-extra_data.sql",
        "/db-init/004-last.sql",
      ]);
      expect(steps(loader, "withFile").map((s) => (s.args.source as Chain).at(-1)!.args.path)).toEqual(["10-schema.sql", "20-data.sql", "more/extra data.sql", "last.sql"]);
      const exec = steps(loader, "withExec").at(-1)!.args.args as string[];
      expect(exec.slice(0, 2)).toEqual(["bash", "-c"]);
      expect(exec.slice(4)).toEqual([
        "/db-init.log",
        "10-schema.sql, 20-data.sql, extra data.sql, last.sql",
        "/db-init/001-10-schema.sql",
        "/db-init/002-20-data.sql",
        "/db-init/003-extra_data.sql",
        "/db-init/004-last.sql",
      ]);
      expect(step(loader, "file").args.path).toBe("/db-init.log");
      // The superuser's password (the public default: plain), the database the app's URI names.
      expect(step(loader, "withEnvVariable", { name: "PGPASSWORD" }).args.value).toBe("password");
      const env = Object.fromEntries(steps(loader, "withEnvVariable").map((s) => [s.args.name, s.args.value]));
      expect(env).toMatchObject({ PGHOST: "db", PGUSER: "postgres", PGDATABASE: "pycroft" });
      // The db the migrations run against, which it reaches under the same name.
      expect(JSON.stringify(bound(loader).db)).toBe(JSON.stringify(bound(migration).db));
      // The migration prints what the load said, then migrates.
      expect(steps(migration, "withExec").at(-1)!.args.args).toEqual(["sh", "-c", script("migrate.sh"), "migrate", DB_INIT_LOG, "flask alembic upgrade head"]);
    });
  });

  it("runs the loader again on every call, since a dev volume may have been loaded or lost since", async () => {
    const runs = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      hostFiles(engine);
      const run = async () => {
        await (await module().devEnv(undefined, undefined, [dag.host().file("schema.sql")])).sync();
        return step(loaderOf(serviceOf(engine.lastChain()).container), "withEnvVariable", { name: "PYCROFT_DB_INIT_RUN" }).args.value as string;
      };
      return [await run(), await run()];
    });
    expect(runs[0]).toMatch(/^[0-9a-f-]{36}$/);
    expect(runs[1]).not.toBe(runs[0]);
  });

  it("leaves the db service as it is: dev-env with files and a shell without share one", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      hostFiles(engine);
      await (await module().devEnv(undefined, undefined, [dag.host().file("schema.sql")])).sync();
      const app = serviceOf(engine.lastChain()).container;
      expect(steps(loaderOf(app), "withFile").map((s) => s.args.path)).toEqual(["/db-init/001-schema.sql"]);
      await (await module().shell()).sync();
      expect(JSON.stringify(bound(engine.lastChain()).db)).toBe(JSON.stringify(bound(app).db));
      // Without files, no loader.
      await (await module().devEnv()).sync();
      expect(steps(serviceOf(engine.lastChain()).container, "withFile").map((s) => s.args.path)).not.toContain(DB_INIT_LOG);
    });
  });

  it("dev-stack's app waits for the load, with live edits too; its workers do not", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      hostFiles(engine);
      for (const token of [undefined, dag.setSecret("token", "t0ken")]) {
        await (await module().devStack(undefined, undefined, undefined, token, undefined, [dag.host().file("schema.sql")])).sync();
        const services = bound(serviceOf(engine.lastChain()).container);
        expect(steps(loaderOf(services.app!.container), "withFile").map((s) => s.args.path)).toEqual(["/db-init/001-schema.sql"]);
        expect(steps(services["celery-worker"]!.container, "withFile").map((s) => s.args.path)).not.toContain(DB_INIT_LOG);
      }
    });
  });

  it("refuses what is no .sql file before anything runs", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      hostFiles(engine, { empty: ["notes.txt"] });
      const refused = await module().migrate(undefined, undefined, [dag.host().file("dump.sql.gz")]).then(() => undefined, (e: Error) => e);
      expect(refused).toBeInstanceOf(UsageError);
      expect(refused?.message).toBe('--db-init-file "dump.sql.gz" is no .sql file: give plain SQL files (a pg_dump in its plain format too)');
      await expect(module().devEnv(undefined, dag.host().directory("empty"))).rejects.toThrow("--db-init holds no .sql file at its top level (it has notes.txt)");
      expect(engine.chains("stdout")).toEqual([]);
    });
  });
});
