// test-stack and test-shell as the fake engine sees them: the app container that runs pytest on
// demand or by hand, what it has bound and how it is reached.
import { dag } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { bound, Chain, serviceOf, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";
import { PYTEST_AHEAD } from "../../src/testing/ahead.js";

const token = () => dag.setSecret("token", "t0ken");

/** The ports a container ends up exposing, after every withExposedPort and withoutExposedPort. */
const exposedPorts = (chain: Chain): number[] =>
  chain.reduce<number[]>((open, s) => {
    if (s.field === "withExposedPort") return [...open, s.args.port as number];
    return s.field === "withoutExposedPort" ? open.filter((p) => p !== s.args.port) : open;
  }, []);

describe("test-stack", () => {
  it("serves the receiver that runs pytest on demand, in test's app container with test's services bound on tmpfs", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().testStack(token())).sync();
      const stack = serviceOf(engine.lastChain());
      // The receiver on 5099 over the app dir, with pytest started ahead of each run as the command it runs.
      expect(stack.args).toEqual([
        "python", "/usr/local/bin/pycroft-sync.py", "5099", "/opt/pycroft/app",
        "--ahead", "python", "/usr/local/bin/pycroft-pytest-ahead.py", "/tmp/pycroft-pytest-ahead.json",
      ]);
      expect(step(stack.container, "withNewFile", { path: "/usr/local/bin/pycroft-pytest-ahead.py" }).args.contents).toBe(PYTEST_AHEAD);
      // Its one port: the dev image's app port is gone (nothing listens there, and it would be waited for).
      expect(exposedPorts(stack.container)).toEqual([5099]);
      expect(steps(stack.container, "withSecretVariable").map((s) => s.args.name)).toContain("PYCROFT_SYNC_TOKEN");
      expect(steps(stack.container, "withEnvVariable").map((s) => s.args.name)).not.toContain("PYCROFT_SYNC_TOKEN");

      // What test binds, under the same names, and no dev mail server.
      const services = bound(stack.container);
      expect(Object.keys(services)).toEqual(["db", "ldap", "mq", "keycloak", "dummy-worker"]);
      expect(steps(services.db!.container, "withMountedTemp").map((s) => s.args.path)).toEqual(["/var/lib/postgresql/data"]);
      expect(steps(services.db!.container, "withMountedCache")).toEqual([]);
      // The dummy worker on the broker the tests reach.
      expect(JSON.stringify(bound(services["dummy-worker"]!.container).mq)).toBe(JSON.stringify(services.mq));
      // A stack is up once every service is ready, checked by the engine: its runs do not wait for them.
      for (const svc of Object.values(services)) expect(steps(svc.container, "withDockerHealthcheck")).toHaveLength(1);
      expect(steps(stack.container, "withEnvVariable").map((s) => s.args.name)).not.toContain("PYCROFT_READY");
      // test's environment: the connection settings (plain with the default passwords), the app as .flaskenv says.
      expect(step(stack.container, "withEnvVariable", { name: "PYCROFT_DB_URI" }).args.value).toBe("postgresql://postgres:password@db:5432/pycroft?options=-csearch_path%3Dpycroft,public");
      expect(step(stack.container, "withEnvVariable", { name: "FLASK_APP" }).args.value).toBe("scripts.server_run:prepare_server");
      // Nothing is started by the call itself: the services come up with the stack.
      expect(engine.chains("start")).toHaveLength(0);
    });
  });

  it("--start-ahead=false: a plain pytest process per run", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().testStack(token(), undefined, undefined, false)).sync();
      const stack = serviceOf(engine.lastChain());
      expect(stack.args).toEqual(["python", "/usr/local/bin/pycroft-sync.py", "5099", "/opt/pycroft/app", "pytest"]);
      expect(steps(stack.container, "withNewFile").map((s) => s.args.path)).not.toContain("/usr/local/bin/pycroft-pytest-ahead.py");
    });
  });

  it("leaves the worker and keycloak out when asked, and refuses --with-worker for a source without it", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().testStack(token(), false, false)).sync();
      expect(Object.keys(bound(serviceOf(engine.lastChain()).container))).toEqual(["db", "ldap", "mq"]);
    });
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "web/"]);
      await expect(module().testStack(token(), true)).rejects.toThrow("--with-worker needs the dummy worker helpers/dummy_celery_worker.py in the source");
    });
  });
});

describe("test-shell", () => {
  it("is test's app container with test's services bound on tmpfs, bash as its terminal", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().testShell()).sync();
      const shell = engine.lastChain();
      expect(step(shell, "withDefaultTerminalCmd").args.args).toEqual(["bash"]);
      const services = bound(shell);
      expect(Object.keys(services)).toEqual(["db", "ldap", "mq", "keycloak", "dummy-worker"]);
      expect(steps(services.db!.container, "withMountedTemp").map((s) => s.args.path)).toEqual(["/var/lib/postgresql/data"]);
      expect(step(shell, "withEnvVariable", { name: "PYCROFT_DB_URI" }).args.value).toBe(
        "postgresql://postgres:password@db:5432/pycroft?options=-csearch_path%3Dpycroft,public",
      );
    });
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().testShell(false, false)).sync();
      expect(Object.keys(bound(engine.lastChain()))).toEqual(["db", "ldap", "mq"]);
    });
  });
});
