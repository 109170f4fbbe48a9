// How the pieces are wired: the app's environment and its secrets, the layers' settings, the
// services' health-check timing and data, publishing's logins and errors, the checks' reports.
import { dag } from "@dagger.io/dagger";
import { describe, expect, it, vi } from "vitest";

import { Chain, execError, serviceOf as serviceChain, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";

/** The plain variables and the secret ones (name → plaintext, secret name) a container gets. */
function environment(chain: Chain) {
  const plain = Object.fromEntries(steps(chain, "withEnvVariable").map((s) => [s.args.name, s.args.value]));
  const secret: Record<string, { name: string; plaintext: string }> = Object.fromEntries(
    steps(chain, "withSecretVariable").map((s) => [s.args.name, s.args.secret.at(-1).args]),
  );
  return { plain, secret };
}

describe("the app's environment", () => {
  it("is Pycroft's dev-base environment plus the test additions, pointing at the services by hostname", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devEnv()).sync();
      const { plain, secret } = environment(engine.lastChain());
      expect(plain).toMatchObject({
        FLASK_APP: "scripts.server_run:prepare_server",
        FLASK_ENV: "development",
        PYTHONDEVMODE: "1",
        PYCROFT_API_KEY: "secret",
        PYCROFT_LDAP_HOST: "ldap",
        PYCROFT_LDAP_PORT: "389",
        PYCROFT_LDAP_BIND_DN: "cn=admin,dc=agdsn,dc=de",
        PYCROFT_LDAP_BASE_DN: "ou=pycroft,dc=agdsn,dc=de",
        PYCROFT_MAIL_ENVELOPE_FROM: "pycroft@agdsn.de",
        PYCROFT_MAIL_FROM: "AG DSN <support@agdsn.de>",
        PYCROFT_SMTP_HOST: "mail",
        PYCROFT_SMTP_PORT: "2500",
        PYCROFT_SMTP_USER: "",
        PYCROFT_SMTP_SSL: "",
        HADES_CELERY_APP_NAME: "dummy_tasks",
        SWDD_HASH_KEY: "key",
        MAIL_CONFIRM_URL: "http://localhost/sipa/register/confirm/{}",
        PASSWORD_RESET_URL: "http://localhost/sipa/reset-password/{}",
        OIDC_REDIRECT_URI: "http://localhost:5000/login",
        OIDC_CLIENT_ID: "pycroft-test",
        OIDC_CLIENT_ISSUER_URI: "http://keycloak:8080/realms/internal",
      });
      // The default passwords are public (Pycroft's compose files): plain, so the engine does not scrub
      // "password" and "celery" out of pytest's output.
      expect(plain).toMatchObject({
        PYCROFT_DB_URI: "postgresql://postgres:password@db:5432/pycroft?options=-csearch_path%3Dpycroft,public",
        PYCROFT_LDAP_BIND_PW: "password",
        PYCROFT_CELERY_BROKER_URI: "amqp://celery:celery@mq:5672/",
        PYCROFT_CELERY_RESULT_BACKEND_URI: "rpc://celery:celery@mq:5672/",
        HADES_BROKER_URI: "amqp://celery:celery@mq:5672/",
        HADES_RESULT_BACKEND_URI: "rpc://celery:celery@mq:5672/",
        TEST_HADES_BROKER_URI: "amqp://celery:celery@mq:5672/",
        TEST_HADES_RESULT_BACKEND_URI: "rpc://celery:celery@mq:5672/",
      });
      const values = Object.fromEntries(Object.entries(secret).map(([k, v]) => [k, v.plaintext]));
      expect(values).toEqual({ OIDC_CLIENT_SECRET: "uwADNIGphXRjmzavgZXtBdaWdWWil0QP", PYCROFT_SMTP_PASSWORD: "" });
    });
  });

  it("carries each password given as a secret in secret variables only, the defaults of the others plain", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module({ mqPassword: dag.setSecret("mq", "hunter2") }).devEnv()).sync();
      const { plain, secret } = environment(engine.lastChain());
      const brokers = ["PYCROFT_CELERY_BROKER_URI", "PYCROFT_CELERY_RESULT_BACKEND_URI", "HADES_BROKER_URI", "HADES_RESULT_BACKEND_URI"];
      expect(Object.keys(secret).sort()).toEqual([...brokers, "OIDC_CLIENT_SECRET", "PYCROFT_SMTP_PASSWORD", "TEST_HADES_BROKER_URI", "TEST_HADES_RESULT_BACKEND_URI"].sort());
      expect(secret.HADES_BROKER_URI!.plaintext).toBe("amqp://celery:hunter2@mq:5672/");
      for (const value of Object.values(plain)) expect(value).not.toContain("hunter2");
      expect([plain.PYCROFT_DB_URI, plain.PYCROFT_LDAP_BIND_PW]).toEqual(["postgresql://postgres:password@db:5432/pycroft?options=-csearch_path%3Dpycroft,public", "password"]);
    });
  });

  it("puts passwords into the URIs encoded, and the LDAP password as it is", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      const odd = "p@ss:w/rd%?#";
      const m = module({ dbPassword: dag.setSecret("db", odd), ldapPassword: dag.setSecret("ldap", odd), mqPassword: dag.setSecret("mq", odd) });
      await (await m.devEnv()).sync();
      const { secret } = environment(engine.lastChain());
      const encoded = "p%40ss%3Aw%2Frd%25%3F%23";
      expect(secret.PYCROFT_DB_URI.plaintext).toBe(`postgresql://postgres:${encoded}@db:5432/pycroft?options=-csearch_path%3Dpycroft,public`);
      expect(secret.PYCROFT_CELERY_BROKER_URI.plaintext).toBe(`amqp://celery:${encoded}@mq:5672/`);
      expect(secret.HADES_RESULT_BACKEND_URI.plaintext).toBe(`rpc://celery:${encoded}@mq:5672/`);
      expect(secret.PYCROFT_LDAP_BIND_PW.plaintext).toBe(odd);
      expect(new URL(secret.PYCROFT_DB_URI.plaintext).password).toBe(encoded);
    });
  });

  it("names its secrets per variable and per credentials: other passwords, other secrets", async () => {
    const names = async (dbName?: string) =>
      withFakeEngine(async (engine) => {
        exampleSource(engine);
        const ldapPassword = dag.setSecret("ldap", "y");
        await (await module(dbName ? { dbPassword: dag.setSecret(dbName, "x"), ldapPassword } : { ldapPassword }).devEnv()).sync();
        return Object.fromEntries(Object.entries(environment(engine.lastChain()).secret).map(([k, v]) => [k, v.name]));
      });
    const first = await names();
    expect(await names()).toEqual(first);
    const other = await names("db-from-vault");
    const scope = first.PYCROFT_LDAP_BIND_PW!.slice(-16);
    expect(scope).toMatch(/^[0-9a-f]{16}$/);
    for (const [k, name] of Object.entries(first)) expect(name).toBe(`pycroft-${k}-${scope}`);
    expect(first.PYCROFT_DB_URI).toBeUndefined();
    expect(other.PYCROFT_LDAP_BIND_PW).not.toBe(first.PYCROFT_LDAP_BIND_PW);
    expect(other.PYCROFT_LDAP_BIND_PW!.slice(-16)).toBe(other.PYCROFT_DB_URI!.slice(-16));
  });

  it("is the workers' environment too", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().worker()).sync();
      const { container, args } = serviceChain(engine.lastChain());
      // Its Celery node is named after it, on the app's default queue.
      expect(args.slice(-6)).toEqual(["celery", "-A", "pycroft.task", "worker", "--loglevel=info", "--hostname=celery-worker@%h"]);
      const { plain, secret } = environment(container);
      expect(plain.PYCROFT_LDAP_HOST).toBe("ldap");
      expect([plain.PYCROFT_CELERY_BROKER_URI, secret.OIDC_CLIENT_SECRET?.plaintext]).toEqual(["amqp://celery:celery@mq:5672/", "uwADNIGphXRjmzavgZXtBdaWdWWil0QP"]);
      expect(steps(container, "withServiceBinding").map((s) => s.args.alias)).toEqual(["db", "ldap", "mq"]);
      // A worker listens on no port and keeps no data.
      expect(steps(container.slice(-3), "withExposedPort")).toEqual([]);
      await expect(module().worker("pycroft task")).rejects.toThrow(/celeryApp must be a module/);
    });
  });
});

describe("the layers", () => {
  it("base installs as the app user into the venv, copying files out of uv's cache and trusting the system's CAs", async () => {
    await withFakeEngine(async (engine) => {
      await module({ uid: 1100, gid: 1200, home: "/srv/app", venv: "/srv/app/venv", appDir: "/srv/app/src" }).base().sync();
      const chain = engine.lastChain();
      const { plain } = environment(chain);
      expect(plain).toMatchObject({
        LANG: "C.UTF-8",
        DEBIAN_FRONTEND: "noninteractive",
        HOME: "/srv/app",
        VIRTUAL_ENV: "/srv/app/venv",
        UV_PROJECT_ENVIRONMENT: "/srv/app/venv",
        UV_LINK_MODE: "copy",
        UV_NATIVE_TLS: "1",
        UV_LOCK_TIMEOUT: "1800",
        PATH: "/srv/app/venv/bin:$PATH",
      });
      expect(step(chain, "withWorkdir").args.path).toBe("/srv/app");
      const cache = step(chain, "withMountedCache", { path: "/srv/app/.cache/uv" });
      expect(cache.args.owner).toBe("1100:1200");
      expect(cache.args.cache[0].args.key).toBe("pycroft-uv-cache");
      const execsAfter = (i: number) => steps(chain.slice(i), "withExec").map((s) => (s.args.args as string[]).join(" "));
      expect(execsAfter(chain.indexOf(cache))).toEqual(["uv venv /srv/app/venv", "mkdir -p /srv/app/src"]);
      expect(chain.at(-2)).toEqual({ field: "withoutMount", args: { path: "/srv/app/.cache/uv" } });
      expect(step(chain, "container").args.platform).toBeUndefined();
    });
  });

  it("installs the extra Debian packages asked for with the runtime ones", async () => {
    await withFakeEngine(async (engine) => {
      await module({ aptPackages: ["vim", "less"] }).base().sync();
      const install = steps(engine.lastChain(), "withExec").find((s) => (s.args.args as string[])[3] === "apt-install")!;
      expect((install.args.args as string[]).slice(4)).toEqual(["", "bash", "libpq5", "vim", "less"]);
    });
  });

  it("prod runs without base's install settings, with its release labels in a stable order", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module({ pythonIndex: "http://pypi.local/simple" }).buildProd(undefined, undefined, "", "abc", undefined, "2026-01-01T00:00:00Z")).sync();
      const chain = engine.lastChain();
      expect(steps(chain, "withoutEnvVariable").map((s) => s.args.name).sort()).toEqual(
        ["DEBIAN_FRONTEND", "PIP_INDEX_URL", "PIP_TRUSTED_HOST", "UV_DEFAULT_INDEX", "UV_LINK_MODE", "UV_LOCK_TIMEOUT", "UV_NATIVE_TLS", "UV_PROJECT_ENVIRONMENT"],
      );
      // Each removed after base set it: none reaches the image.
      const lastSet = (name: string) => chain.map((s) => (s.field === "withEnvVariable" && s.args.name === name ? 1 : 0)).lastIndexOf(1);
      const removed = (name: string) => chain.findIndex((s) => s.field === "withoutEnvVariable" && s.args.name === name);
      for (const name of ["DEBIAN_FRONTEND", "UV_LINK_MODE", "PIP_TRUSTED_HOST"]) expect(removed(name)).toBeGreaterThan(lastSet(name));
      expect(steps(chain, "withLabel").map((s) => [s.args.name, s.args.value])).toEqual([
        ["org.opencontainers.image.created", "2026-01-01T00:00:00Z"],
        ["org.opencontainers.image.revision", "abc"],
      ]);
    });
  });

  it("dev serves on the app's port and starts bash by default", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().dev()).sync();
      const chain = engine.lastChain().slice(0, -1);
      expect(chain.slice(-2)).toEqual([
        { field: "withExposedPort", args: { port: 5000 } },
        { field: "withDefaultArgs", args: { args: ["bash"] } },
      ]);
      // The editable install's skeleton, then the source: both the app user's.
      expect(steps(chain, "withDirectory").filter((s) => s.args.path === ".").map((s) => s.args.owner)).toEqual(["1000:1000", "1000:1000"]);
    });
  });
});

describe("the services", () => {
  it("give every service two minutes to get ready, keycloak five", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      const periods: Record<string, string> = {};
      for (const fn of ["postgres", "openldap", "rabbitmq", "keycloak"] as const) {
        await (await module()[fn]()).sync();
        periods[fn] = step(serviceChain(engine.lastChain()).container, "withDockerHealthcheck").args.startPeriod;
      }
      expect(periods).toEqual({ postgres: "120s", openldap: "120s", rabbitmq: "120s", keycloak: "300s" });
    });
  });

  it("expose their clients' ports", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      const ports: Record<string, number[]> = {};
      for (const fn of ["postgres", "openldap", "rabbitmq", "keycloak"] as const) {
        await (await module()[fn]()).sync();
        ports[fn] = steps(serviceChain(engine.lastChain()).container, "withExposedPort").map((s) => s.args.port);
      }
      expect(ports).toEqual({ postgres: [5432], openldap: [389], rabbitmq: [5672], keycloak: [8080] });
    });
  });

  it("run in UTC, with the admin keycloak bootstraps, and ldap's password as a file", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().postgres()).sync();
      expect(step(serviceChain(engine.lastChain()).container, "withEnvVariable", { name: "TZ" }).args.value).toBe("Etc/UTC");
      await (await module().keycloak()).sync();
      const kc = environment(serviceChain(engine.lastChain()).container).plain;
      expect([kc.KC_BOOTSTRAP_ADMIN_USERNAME, kc.KC_BOOTSTRAP_ADMIN_PASSWORD]).toEqual(["admin", "admin"]);
      await (await module({ ldapPassword: dag.setSecret("ldap", "s3cret") }).openldap()).sync();
      const ldap = serviceChain(engine.lastChain()).container;
      expect(step(ldap, "withEnvVariable", { name: "SLAPD_PASSWORD_FILE" }).args.value).toBe("/run/secrets/slapd-password");
      expect(step(ldap, "withMountedSecret").args.source.at(-1).args.plaintext).toBe("s3cret");
    });
  });

  it("lock no data for a dev worker, which keeps none", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devEnv()).sync();
      const bound = steps(engine.lastChain(), "withServiceBinding").map((s) => serviceChain(s.args.service));
      for (const svc of bound) {
        // Dev data is kept: no per-run value that would make a new instance each call.
        expect(steps(svc.container, "withEnvVariable").map((s) => s.args.name)).not.toContain("PYCROFT_SERVICE_RUN");
      }
    });
  });
});

describe("publish", () => {
  const digest = `sha256:${"cd".repeat(32)}`;

  it("pushes one platform's image itself, without a login when no credentials are given", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("publish", ({ args }) => `${args.address}@${digest}`);
      const out = await module().publish("localhost:5000/pycroft", ["a", "b", "a"], ["linux/arm64"] as never[]);
      expect(out).toBe(`localhost:5000/pycroft:a@${digest}\nlocalhost:5000/pycroft:b@${digest}`);
      const pushed = engine.chains("publish");
      expect(pushed.map((c) => c.at(-1)!.args.platformVariants)).toEqual([[], []]);
      expect(steps(pushed[0]!, "container").map((s) => s.args.platform)).toEqual(["linux/arm64"]);
      expect(steps(pushed[0]!, "withRegistryAuth")).toEqual([]);
    });
  });

  it("needs both username and password", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await expect(module().publish("agdsn/pycroft", [], [], undefined, dag.setSecret("t", "x"))).rejects.toThrow(
        "registry credentials need both --username and --password",
      );
      expect(engine.chains("publish")).toEqual([]);
    });
  });

  it.each([
    ["denied: requested access to the resource is denied", "credentials"],
    ["unexpected status from PUT request: 403 Forbidden", "credentials"],
    ["authentication required", "credentials"],
    ["UNAUTHORIZED: authentication required", "credentials"],
    ["unexpected status: 404 Not Found", "address"],
    ["received 4013 bytes, then EOF", "address"],
  ])("reads %j as a problem with the %s", async (cause, kind) => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("publish", () => {
        throw new Error(`  ${cause}\n`);
      });
      const err = await module().publish("agdsn/pycroft", ["1", "2"]).catch((e: Error) => e);
      expect((err as Error).message.split("\n")[0]).toBe(`could not publish agdsn/pycroft:1: ${cause}`);
      expect((err as Error).message.split("\n")[1]).toBe(
        kind === "credentials"
          ? "the registry refused the credentials: check --username and --password, and the user's push rights"
          : "check the address, and that the registry is reachable from the Dagger engine (not only from this machine)",
      );
      // The first refusal stops the run: the second tag is not tried.
      expect(engine.chains("publish")).toHaveLength(1);
    });
  });
});

describe("the checks' reports", () => {
  it("joins stdout and stderr without blank lines, and keeps a passing tool's output", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", "");
      engine.respond("stderr", "Success: no issues found in 3 source files\n\n");
      expect(await module().typecheck()).toBe("Success: no issues found in 3 source files");
      engine.respond("stdout", "All checks passed!\n");
      engine.respond("stderr", "");
      expect(await module().lint()).toBe("All checks passed!");
      engine.respond("stdout", "");
      expect(await module().lint()).toBe("");
    });
  });

  it("makes only the app dir's paths relative", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 1);
      engine.respond("stdout", "/opt/pycroft/app/web/a.py:1:1: E1\n/opt/pycroft/application/b.py:2:2: E2\n/usr/lib/x.py:3:3: E3\n");
      await expect(module().lint()).rejects.toThrow("ruff failed with exit code 1:\nweb/a.py:1:1: E1\n/opt/pycroft/application/b.py:2:2: E2\n/usr/lib/x.py:3:3: E3");
    });
  });
});

describe("a test run", () => {
  it("builds the image while the services start, and stops them again when the build fails", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("sync", () => {
        throw execError({ exitCode: 1, stderr: "uv.lock is out of date with pyproject.toml: run 'uv lock' in the source and commit uv.lock" });
      });
      await expect(module().test()).rejects.toMatchObject({ stderr: expect.stringContaining("uv.lock is out of date with pyproject.toml") });
      expect(engine.chains("start")).toHaveLength(5);
      expect(engine.chains("stop")).toHaveLength(5);
      expect(engine.chains("exitCode")).toEqual([]);
    });
  });

  it("kills the services after pytest has run, and binds the worker only where it runs", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().test([], true, false);
      await vi.waitFor(() => expect(engine.chains("stop")).toHaveLength(4));
      const order = engine.queries.map((q) => q.leaf).filter((leaf) => ["start", "exitCode", "stop"].includes(leaf));
      expect(order.slice(0, 4)).toEqual(["start", "start", "start", "start"]);
      expect(order.indexOf("exitCode")).toBeLessThan(order.indexOf("stop"));
      const pytest = engine.chains("exitCode")[0]!;
      expect(steps(pytest, "withServiceBinding").map((s) => s.args.alias)).toEqual(["db", "ldap", "mq", "dummy-worker"]);
      // The worker reaches its broker alone (compose: depends_on mq), not the other services or itself.
      const worker = engine.chains("start").map(serviceChain).find((s) => s.args.includes("helpers/dummy_celery_worker.py"))!;
      expect(steps(worker.container, "withServiceBinding").map((s) => s.args.alias)).toEqual(["mq"]);
    });
  });
});
