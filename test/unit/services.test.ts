// The services and the test stage as the fake engine sees them.
import { createHash } from "node:crypto";

import { dag } from "@dagger.io/dagger";
import { describe, expect, it, vi } from "vitest";

import { Chain, execError, execs, formatChain, serviceOf as serviceChain, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";
import { DEFAULTS } from "../../src/config.js";
import { script, shellWords } from "../../src/scripts/index.js";
import { CDS_TRAINING } from "../../src/services/keycloak.js";
import { AMQP_READY } from "../../src/services/rabbitmq.js";
import { DATA_IN_USE, healthCheck, JOIN_HINT, RUN_SERVICE } from "../../src/services/service.js";
import { PYTEST_RUNNER } from "../../src/testing/pytest.js";
import { NOT_READY } from "../../src/testing/ready.js";

/** Index of the first step matching `predicate`, failing with the readable pipeline when none does. */
function indexOf(chain: Chain, what: string, predicate: (s: Chain[number]) => boolean): number {
  const i = chain.findIndex(predicate);
  if (i < 0) throw new Error(`no ${what} in:\n${formatChain(chain)}`);
  return i;
}

describe("services", () => {
  it("postgres: Pycroft's test db, tuned, init SQL loaded, data on tmpfs, ready by pg_isready", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().postgres()).sync();
      const { container, args } = serviceChain(engine.lastChain());

      expect(step(container, "from").args.address).toBe("postgres:15-bookworm");
      expect(step(container, "withEnvVariable", { name: "POSTGRES_DB" }).args.value).toBe("pycroft");
      expect(step(container, "withEnvVariable", { name: "POSTGRES_INITDB_ARGS" }).args.value).toBe("--locale=C --encoding=UTF-8");
      // The default password is public, a plain variable (a secret's value is scrubbed from all output).
      expect(step(container, "withEnvVariable", { name: "POSTGRES_PASSWORD" }).args.value).toBe("password");
      expect(steps(container, "withSecretVariable")).toEqual([]);
      expect(step(container, "withMountedTemp").args.path).toBe("/var/lib/postgresql/data");
      expect(step(container, "withMountedDirectory", { path: "/docker-entrypoint-initdb.d" }).args.source.at(-1)).toEqual({
        field: "directory",
        args: { path: "docker/db/docker-entrypoint-initdb.d" },
      });
      expect(step(container, "withExposedPort").args.port).toBe(5432);
      expect(step(container, "withDockerHealthcheck").args.args.join(" ")).toContain("pg_isready -q -h 127.0.0.1 -U postgres -d pycroft");
      expect(args.slice(-14)).toEqual([
        "docker-entrypoint.sh", "postgres",
        "-c", "shared_buffers=64MB", "-c", "work_mem=128MB", "-c", "fsync=off",
        "-c", "full_page_writes=off", "-c", "wal_level=minimal", "-c", "max_wal_senders=0",
      ]);
    });
  });

  it("openldap: built from dockerfiles/openldap with the source's schemas, bind as admin to be ready", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().openldap()).sync();
      const { container } = serviceChain(engine.lastChain());

      const build = step(container, "dockerBuild");
      expect(build.args.buildArgs).toEqual([
        { name: "BASE_IMAGE", value: "debian:bookworm-slim" },
        { name: "APT_MIRROR", value: "" },
      ]);
      expect(container[0]).toEqual({ field: "host", args: {} });
      expect(step(container, "withEnvVariable", { name: "SLAPD_DOMAIN" }).args.value).toBe("agdsn.de");
      expect(step(container, "withNewFile", { path: "/run/secrets/slapd-password" }).args.contents).toBe("password");
      expect(steps(container, "withMountedSecret")).toEqual([]);
      expect(step(container, "withMountedDirectory", { path: "/etc/ldap/schema/custom" }).args.source.at(-1).args.path).toBe("docker/ldap/schema");
      expect(steps(container, "withMountedTemp").map((s) => s.args.path)).toEqual(["/var/lib/ldap", "/etc/ldap/slapd.d"]);
      expect(step(container, "withDockerHealthcheck").args.args.join(" ")).toContain(
        "ldapwhoami -x -H ldap://127.0.0.1 -D cn=admin,dc=agdsn,dc=de -y /run/secrets/slapd-password",
      );
    });
  });

  it("rabbitmq: user celery with the default password or the secret given, data on tmpfs, ready by an AMQP handshake", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().rabbitmq()).sync();
      const { container, args } = serviceChain(engine.lastChain());

      expect(step(container, "from").args.address).toBe("rabbitmq:3-management");
      expect(step(container, "withEnvVariable", { name: "RABBITMQ_DEFAULT_USER" }).args.value).toBe("celery");
      expect(step(container, "withEnvVariable", { name: "RABBITMQ_DEFAULT_PASS" }).args.value).toBe("celery");
      expect(step(container, "withMountedTemp").args.path).toBe("/var/lib/rabbitmq");
      expect(step(container, "withDockerHealthcheck").args.args.join(" ")).toContain(AMQP_READY);
      expect(args.slice(-2)).toEqual(["docker-entrypoint.sh", "rabbitmq-server"]);
      await (await module({ mqPassword: dag.setSecret("mq", "hunter2") }).rabbitmq()).sync();
      const given = serviceChain(engine.lastChain()).container;
      expect(step(given, "withSecretVariable", { name: "RABBITMQ_DEFAULT_PASS" }).args.secret.at(-1).args.plaintext).toBe("hunter2");
      expect(steps(given, "withEnvVariable").map((s) => s.args.name)).not.toContain("RABBITMQ_DEFAULT_PASS");
    });
  });

  it("keycloak: start-dev's settings from an optimized build, the source's test realm, C1 only, ready on the management port's health endpoint", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().keycloak()).sync();
      const { container, args } = serviceChain(engine.lastChain());

      expect(step(container, "from").args.address).toBe("quay.io/keycloak/keycloak:26.0");
      const realm = step(container, "withFile", { path: "/opt/keycloak/data/import/realm-config.json" });
      expect(realm.args.source.at(-1)).toEqual({ field: "file", args: { path: "docker/keycloak/test-realm.json" } });
      // The realm is imported into the file database in a layer, after the build: a start only starts.
      const imported = indexOf(container, "import", (s) => s.field === "withExec" && s.args.args.join(" ").startsWith("/opt/keycloak/bin/kc.sh import"));
      expect(container[imported]!.args.args.join(" ")).toBe("/opt/keycloak/bin/kc.sh import --optimized --file /opt/keycloak/data/import/realm-config.json");
      expect(container.indexOf(realm)).toBeLessThan(imported);
      // Quarkus' build step once, in a layer: the service only starts.
      const build = execs(container).find((e) => e.startsWith("/opt/keycloak/bin/kc.sh build"));
      expect(build).toBe("/opt/keycloak/bin/kc.sh build --db=dev-file --health-enabled=true");
      // The JVM compiles with C1 only, from the build on (kc.sh appends JAVA_OPTS_APPEND to its options).
      const jvm = steps(container, "withEnvVariable").filter((s) => s.args.name === "JAVA_OPTS_APPEND");
      const archive = "/opt/keycloak/data/keycloak.jsa";
      expect(jvm.map((s) => s.args.value)).toEqual([
        "-XX:TieredStopAtLevel=1",
        `-XX:TieredStopAtLevel=1 -XX:ArchiveClassesAtExit=${archive} -Xlog:cds=error,cds+dynamic=error`,
        `-XX:TieredStopAtLevel=1 -XX:SharedArchiveFile=${archive}`,
      ]);
      expect(container.indexOf(jvm[0]!)).toBeLessThan(indexOf(container, "build", (s) => s.field === "withExec" && s.args.args.join(" ").startsWith("/opt/keycloak/bin/kc.sh build")));
      // After the import, a training start archives the classes it loads (its script: scripts.test.ts); every start maps them.
      const training = indexOf(container, "training start", (s) => s.field === "withExec" && s.args.args[2] === CDS_TRAINING);
      // Its limit, the archive, the service's readiness check, and the service's own start.
      const trainingArgs = container[training]!.args.args as string[];
      expect(trainingArgs.slice(3, 6)).toEqual(["cds-training", "300", archive]);
      const ready = shellWords(["bash", "-c", script("keycloak-ready.sh"), "keycloak-ready", "9000"]);
      expect(trainingArgs[6]).toBe(ready);
      expect(trainingArgs.slice(7)).toEqual(args.slice(-6));
      const order = [imported, container.indexOf(jvm[1]!), training, container.indexOf(jvm[2]!)];
      expect(order.every((at, i) => i === 0 || at > order[i - 1]!), String(order)).toBe(true);
      expect(step(container, "withDockerHealthcheck").args.args).toEqual(healthCheck(ready));
      expect(args.slice(-6)).toEqual(["/opt/keycloak/bin/kc.sh", "start", "--optimized", "--http-enabled=true", "--hostname-strict=false", "--cache=local"]);
    });
  });

  it("logs every service's output to a file whose tail a failing health check prints", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().rabbitmq()).sync();
      const { container, args } = serviceChain(engine.lastChain());
      // The wrapper, its log, rabbitmq's stop signal and no lock (tmpfs data), then the service's command.
      expect(args.slice(0, 9)).toEqual(["bash", "-c", RUN_SERVICE, "run-service", "/tmp/service.log", "TERM", "", "", "docker-entrypoint.sh"]);
      // The health check gets the log and how many of its last lines to print (scripts.test.ts runs it).
      expect(step(container, "withDockerHealthcheck").args.args).toEqual(["sh", "-c", script("health-check.sh"), "health-check", AMQP_READY, "/tmp/service.log", "40", "50", "0.1"]);
    });
  });

  it("stops postgres with its fast-shutdown signal, and locks dev data volumes against a second server", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devEnv()).sync();
      const services = engine.lastChain().filter((s) => s.field === "withServiceBinding").map((s) => serviceChain(s.args.service));
      const db = services.find((s) => s.args.includes("postgres"))!;
      expect(db.args.slice(4, 8)).toEqual(["/tmp/service.log", "INT", "/run/pycroft-dev-lock/pycroft-example-db.lock", `db ${DATA_IN_USE}: stop that one first, or join a running dev-stack: ${JOIN_HINT}`]);
      expect(step(db.container, "withMountedCache", { path: "/run/pycroft-dev-lock" })).toBeTruthy();
      const ldap = services.find((s) => s.args.includes("/usr/local/bin/slapd-entrypoint"))!;
      expect(ldap.args.slice(5, 7)).toEqual(["TERM", "/run/pycroft-dev-lock/pycroft-example-ldap.lock"]);
    });
  });

  it("builds the slapd image from the Debian mirror given, as every other image", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module({ aptMirror: "http://ftp.agdsn.de/debian/" }).openldap()).sync();
      const build = step(serviceChain(engine.lastChain()).container, "dockerBuild");
      expect(build.args.buildArgs).toContainEqual({ name: "APT_MIRROR", value: "http://ftp.agdsn.de/debian" });
    });
  });

  it("gives each call fresh service instances", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      const m = module();
      await (await m.postgres()).sync();
      const first = step(serviceChain(engine.lastChain()).container, "withEnvVariable", { name: "PYCROFT_SERVICE_RUN" }).args.value;
      await (await m.postgres()).sync();
      const second = step(serviceChain(engine.lastChain()).container, "withEnvVariable", { name: "PYCROFT_SERVICE_RUN" }).args.value;
      expect(first).not.toEqual(second);
    });
  });
});

describe("test", () => {
  /** The hostnames the pytest container reaches its services under. */
  const bound = (pytest: Chain) => steps(pytest, "withServiceBinding").map((s) => s.args.alias);

  it("starts what Pycroft's test compose starts, in parallel, binds it under Pycroft's hostnames and runs pytest", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", "===== 5 passed in 1.00s =====\n");
      const out = await module().test(["-k", "ldap"]);
      expect(out).toContain("5 passed");

      expect(engine.chains("start")).toHaveLength(5);
      // Killed once the run is read, without waiting for it: test data dies with the run, nothing to shut down.
      await vi.waitFor(() => expect(engine.chains("stop")).toHaveLength(5));
      expect(engine.chains("stop").map((c) => c.at(-1)!.args.kill)).toEqual([true, true, true, true, true]);
      const pytest = engine.chains("exitCode")[0]!;
      expect(bound(pytest)).toEqual(["db", "ldap", "mq", "keycloak", "dummy-worker"]);
      const run = steps(pytest, "withExec").at(-1)!;
      // pytest through the runner that ends it once it returns, the reports dir, no coverage (its output
      // is all test returns), then the caller's arguments.
      expect(run.args.args.slice(-5)).toEqual(["/usr/local/lib/pycroft-pytest/pycroft-pytest.py", "/opt/pycroft/reports", "", "-k", "ldap"]);
      expect(step(pytest, "withNewFile", { path: "/usr/local/lib/pycroft-pytest/pycroft-pytest.py" }).args.contents).toBe(PYTEST_RUNNER);
      // The app's bytecode kept for the next run, on one volume for every run, owned by the app's user.
      const store = step(pytest, "withMountedCache", { path: "/var/cache/pycroft-bytecode" }).args;
      expect([store.cache[0].args.key, store.owner]).toEqual(["pycroft-bytecode", "1000:1000"]);
      expect(step(pytest, "withEnvVariable", { name: "PYCROFT_BYTECODE" }).args.value).toBe("/var/cache/pycroft-bytecode");
      expect(run.args.expect).toBe("ANY");
      // The bundle is built apart, from the JS inputs alone, and copied into the app.
      expect(execs(step(pytest, "withDirectory", { path: "web/static" }).args.source)).toContain("npm run bundle -- --prod");
      // Connection settings with the default passwords are plain: no secret scrubs "password" from test names.
      const env = (name: string) => step(pytest, "withEnvVariable", { name }).args.value;
      expect(env("PYCROFT_DB_URI")).toBe("postgresql://postgres:password@db:5432/pycroft?options=-csearch_path%3Dpycroft,public");
      expect(steps(pytest, "withSecretVariable").map((s) => s.args.name).sort()).toEqual(["OIDC_CLIENT_SECRET", "PYCROFT_SMTP_PASSWORD"]);
      expect(env("PYCROFT_LDAP_BASE_DN")).toBe("ou=pycroft,dc=agdsn,dc=de");
      // FLASK_APP as the source's .flaskenv says; the mail settings MailConfig.from_env requires, set empty as in compose.
      expect(env("FLASK_APP")).toBe("scripts.server_run:prepare_server");
      expect([env("PYCROFT_SMTP_USER"), env("PYCROFT_SMTP_SSL"), env("HADES_CELERY_APP_NAME")]).toEqual(["", "", "dummy_tasks"]);
      expect(env("OIDC_CLIENT_ISSUER_URI")).toBe("http://keycloak:8080/realms/internal");
    });
  });

  it("names the secrets it makes after where the credentials come from, never after their values", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      const [dbPassword, ldapPassword, mqPassword] = ["db", "ldap", "mq"].map((s) => dag.setSecret(`${s}-password`, "hunter2"));
      await module({ dbPassword, ldapPassword, mqPassword }).test();
      const made = steps(engine.chains("exitCode")[0]!, "withSecretVariable").map((s) => s.args.secret.at(-1).args);
      expect(made.length).toBeGreaterThan(5);
      for (const { name, plaintext } of made) {
        // A hash of the value in the name would let anyone who sees the name test guesses of a weak password.
        const fingerprint = createHash("sha256").update(plaintext).digest("hex");
        expect(name).toMatch(/^pycroft-[A-Z_]+-[0-9a-f]{16}$/);
        expect(fingerprint).not.toContain(name.slice(-16));
      }
    });
  });

  it("runs Pycroft's dummy worker as a script, with worker processes to spare", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().test();
      const worker = engine.chains("start").map(serviceChain).find((c) => c.args.includes("helpers/dummy_celery_worker.py"))!;
      expect(worker.args.slice(-7)).toEqual(["python", "helpers/dummy_celery_worker.py", "worker", "--loglevel=info", "--concurrency=4", "--without-mingle", "--without-gossip"]);
      // Its broker settings come from the same environment as the tests'.
      expect(step(worker.container, "withEnvVariable", { name: "TEST_HADES_BROKER_URI" }).args.value).toBe("amqp://celery:celery@mq:5672/");
      // pytest waits for it, by a ping on its broker, not the engine; it starts its worker once mq answers.
      expect(steps(worker.container, "withDockerHealthcheck")).toEqual([]);
      const afterBroker = worker.args.indexOf(script("after-broker.sh")) - 2;
      expect(worker.args.slice(afterBroker, afterBroker + 7)).toEqual(["bash", "-c", script("after-broker.sh"), "after-broker", script("amqp-ready.sh"), "mq", "5672"]);
      const checks = JSON.parse(step(engine.chains("exitCode")[0]!, "withEnvVariable", { name: "PYCROFT_READY" }).args.value);
      expect(checks.find((c: { host: string }) => c.host === "dummy-worker")).toEqual({
        host: "dummy-worker", seconds: 120, kind: "celery", node: "celery", brokerEnv: "TEST_HADES_BROKER_URI", tests: DEFAULTS.dummyWorkerTests,
      });
      // Bound to the broker alone (compose's depends_on: mq), the one pytest reaches: it does not wait for keycloak.
      expect(bound(worker.container)).toEqual(["mq"]);
      const mqOf = (chain: Chain) => JSON.stringify(step(chain, "withServiceBinding", { alias: "mq" }).args.service);
      expect(mqOf(worker.container)).toBe(mqOf(engine.chains("exitCode")[0]!));
    });
  });

  it("leaves the worker and keycloak out when asked, and when the source has neither", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().test([], false, false);
      expect(bound(engine.chains("exitCode")[0]!)).toEqual(["db", "ldap", "mq"]);
      expect(engine.chains("start")).toHaveLength(3);
    });
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "package.json", "package-lock.json", "web/", "tests/"]);
      await module().testReport();
      const pytest = engine.chains("exitCode")[0]!;
      expect(bound(pytest)).toEqual(["db", "ldap", "mq"]);
      // test-report measures the coverage of the packages the source has.
      expect(steps(pytest, "withExec").at(-1)!.args.args.slice(-2)).toEqual(["1", "--cov=web"]);
      expect(step(pytest, "withEnvVariable", { name: "FLASK_APP" }).args.value).toBe("scripts.server_run:prepare_server");
    });
  });

  it("refuses --with-worker for a source without the dummy worker", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "web/"]);
      await expect(module().test([], true)).rejects.toThrow("--with-worker needs the dummy worker helpers/dummy_celery_worker.py in the source");
      expect(engine.chains("start")).toHaveLength(0);
    });
  });

  it("fails with pytest's summary when a test fails", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 1);
      engine.respond("stdout", "FAILED tests/test_x.py::test_y - assert 1 == 2\n===== 1 failed, 4 passed =====\n");
      await expect(module().test()).rejects.toThrow(/pytest failed with exit code 1:\nFAILED tests\/test_x.py::test_y[\s\S]*1 failed, 4 passed/);
      await vi.waitFor(() => expect(engine.chains("stop")).toHaveLength(5));
    });
  });

  it("names the service that never got ready, with its log tail, and runs no tests", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("start", ({ parent }) => {
        if (serviceChain(parent).args.includes("/usr/local/bin/slapd-entrypoint")) {
          throw execError({ exitCode: 1, stderr: "slapd: bad config line 3\nslapd stopped." });
        }
      });
      await expect(module().test()).rejects.toThrow('service "ldap" never became ready:\nslapd: bad config line 3\nslapd stopped.');
      expect(engine.chains("exitCode")).toHaveLength(0);
      // The services that did start are stopped again.
      expect(engine.chains("stop")).toHaveLength(4);
    });
  });

  it("starts a run's services unchecked and has pytest wait for each, as its client, after collecting", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().test();
      const pytest = engine.chains("exitCode")[0]!;
      const env = (name: string) => step(pytest, "withEnvVariable", { name }).args.value;
      expect([env("PYTHONPATH"), env("PYTEST_ADDOPTS")]).toEqual(["/usr/local/lib/pycroft-pytest", "-p pycroft_ready"]);
      expect(step(pytest, "withNewFile", { path: "/usr/local/lib/pycroft-pytest/pycroft_ready.py" }).args.contents).toBe(script("pycroft_ready.py"));
      expect(JSON.parse(env("PYCROFT_READY"))).toEqual([
        { host: "db", seconds: 120, kind: "postgres", port: 5432, user: "postgres" },
        { host: "ldap", seconds: 120, kind: "ldap", port: 389 },
        { host: "mq", seconds: 120, kind: "amqp", port: 5672 },
        // Only some tests use these two: each is waited for before the first of them.
        { host: "keycloak", seconds: 300, kind: "http", port: 9000, path: "/health/ready", tests: ["tests/frontend/user/test_login.py"] },
        {
          host: "dummy-worker", seconds: 120, kind: "celery", node: "celery", brokerEnv: "TEST_HADES_BROKER_URI",
          tests: ["tests/hades_logs", "tests/frontend/user/test_logs.py"],
        },
      ]);
      // The engine checks none of them: each counts as started once its process runs.
      const started = engine.chains("start").map(serviceChain);
      expect(started).toHaveLength(5);
      for (const svc of started) expect(steps(svc.container, "withDockerHealthcheck")).toEqual([]);
      const db = serviceChain(step(pytest, "withServiceBinding", { alias: "db" }).args.service);
      expect(step(db.container, "withExposedPort").args).toEqual({ port: 5432, experimentalSkipHealthcheck: true });
    });
  });

  it("reads the plugin's not-ready line as the plugin writes it", () => {
    expect(script("pycroft_ready.py")).toContain(`\nNOT_READY = "${NOT_READY}"\n`);
  });

  it("starts the services again, checked, to name the one pytest's wait gave up on, with its log tail", async () => {
    for (const checkedStartFails of [true, false]) {
      await withFakeEngine(async (engine) => {
        exampleSource(engine);
        engine.respond("exitCode", 3);
        engine.respond("stdout", "collected 5 items\n!!!!! _pytest.outcomes.Exit: pycroft-ready: not ready: ldap !!!!!\n");
        engine.respond("start", ({ parent }) => {
          const svc = serviceChain(parent);
          const checked = steps(svc.container, "withDockerHealthcheck").length > 0;
          if (checkedStartFails && checked && svc.args.includes("/usr/local/bin/slapd-entrypoint")) {
            throw execError({ exitCode: 1, stderr: "slapd: bad config line 3" });
          }
        });
        const failed = expect(module().test()).rejects;
        await (checkedStartFails
          ? failed.toThrow('service "ldap" never became ready:\nslapd: bad config line 3')
          : failed.toThrow(/^!+ _pytest.outcomes.Exit: pycroft-ready: not ready: ldap !+$/));
        const starts = engine.chains("start").map(serviceChain);
        // The run's five unchecked, then five checked by their health checks.
        expect(starts.map((svc) => steps(svc.container, "withDockerHealthcheck").length)).toEqual([0, 0, 0, 0, 0, 1, 1, 1, 1, 1]);
        expect(engine.chains("exitCode")).toHaveLength(1);
      });
    }
  });

  it.each([
    "process \"bash -c …\" did not complete: bound service 4k2m0 ([db]) exited: exit code: 1",
    "lookup m71pea5ohnjak for hosts file: lookup m71pea5ohnjak on 10.87.0.1:53: no such host",
  ])("names a service that exited (the engine fails the exec: %s) with its log tail, from a checked start", async (message) => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", () => {
        throw new Error(message);
      });
      engine.respond("start", ({ parent }) => {
        const svc = serviceChain(parent);
        if (steps(svc.container, "withDockerHealthcheck").length > 0 && svc.args.includes("docker-entrypoint.sh") && svc.args.includes("postgres")) {
          throw execError({ exitCode: 1, stderr: "initdb: error: invalid locale settings" });
        }
      });
      await expect(module().test()).rejects.toThrow('service "db" never became ready:\ninitdb: error: invalid locale settings');
      expect(engine.chains("start")).toHaveLength(10);
    });
  });

  it("fails with any other failure of the exec as it is, with no second start", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", () => {
        throw new Error("no space left on device");
      });
      await expect(module().test()).rejects.toThrow("no space left on device");
      expect(engine.chains("start")).toHaveLength(5);
    });
  });

  it("test-report returns the reports directory whatever pytest's exit code", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 1);
      await (await module().testReport()).sync();
      const report = engine.lastChain();
      const dir = step(report, "withDirectory", { path: "." }).args.source;
      expect(dir.at(-1)).toEqual({ field: "directory", args: { path: "/opt/pycroft/reports" } });
      expect(steps(dir, "withExec").at(-1)?.args.args.join(" ")).toContain("--junitxml=\"$reports/junit.xml\"");
    });
  });
});
