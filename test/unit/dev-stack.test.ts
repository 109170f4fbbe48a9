// dev-stack as the fake engine sees it: which services it brings up, and which host ports it publishes.
import { dag } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { DEFAULTS } from "../../src/config.js";
import { DOCS_SERVER } from "../../src/dev/servers.js";
import { script } from "../../src/scripts/index.js";
import { bound, serviceOf, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";
import { runScript } from "../support/run-script.js";

describe("dev-stack", () => {
  it("brings up the app, both workers and every dev service once, and publishes them on Pycroft's dev ports", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devStack()).sync();
      const forwarder = serviceOf(engine.lastChain());
      const services = bound(forwarder.container);
      expect(Object.keys(services).sort()).toEqual(["app", "celery-worker", "db", "dummy-worker", "keycloak", "ldap", "mail", "mq"]);

      const exposed = steps(forwarder.container, "withExposedPort").map((s) => s.args.port);
      expect(exposed).toEqual([5000, 55432, 389, 5672, 15672, 8080, 2500, 5001]);
      // Each host port goes to its service's own port.
      const rules = forwarder.args.slice(2);
      expect(rules).toEqual(["5000=app:5000", "55432=db:5432", "389=ldap:389", "5672=mq:5672", "15672=mq:15672", "8080=keycloak:8080", "2500=mail:2500", "5001=app:8000"]);
      // The docs are served from the app container (where live edits land), on compose's dev-docs port.
      const app = services.app!.args;
      expect(app.slice(0, 4)).toEqual(["sh", "-c", script("dev-server.sh"), "dev-server"]);
      // Beside flask: the docs server alone.
      expect(app.slice(6)).toEqual([DOCS_SERVER]);
      // It runs sphinx-autobuild on the docs, on that port.
      const docs = runScript(["sh", "-c", DOCS_SERVER], { standIns: { "sphinx-autobuild": {} } });
      expect([docs.status, docs.calls]).toEqual([0, ["sphinx-autobuild -v doc doc/_build/html --host 0.0.0.0 --port 8000"]]);

      // The app migrates, then serves; the Celery worker runs the app's Celery app; both use the same db.
      expect(app.slice(4, 6)).toEqual(["5000", "flask alembic upgrade head"]);
      expect(services["celery-worker"]!.args).toEqual(expect.arrayContaining(["celery", "-A", DEFAULTS.celeryApp, "worker"]));
      const dbOf = (name: string) => JSON.stringify(bound(services[name]!.container).db);
      expect(dbOf("app")).toBe(JSON.stringify(services.db));
      expect(dbOf("celery-worker")).toBe(JSON.stringify(services.db));
      // The dummy worker needs the broker alone, as compose's depends only on dev-mq.
      const dummy = bound(services["dummy-worker"]!.container);
      expect(Object.keys(dummy)).toEqual(["mq"]);
      expect(JSON.stringify(dummy.mq)).toBe(JSON.stringify(services.mq));
      // Live edits only when asked: no receiver, no sync port.
      expect(app.join(" ")).not.toMatch(/pycroft-sync/);
      expect(exposed).not.toContain(DEFAULTS.syncPort);
    });
  });

  it("starts the commands beside flask, migrates, then serves; no server when the migration fails", async () => {
    const app = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devStack()).sync();
      return bound(serviceOf(engine.lastChain()).container).app!.args;
    });
    const standIns = (migration: string) => ({ flask: { does: `[ "$1" = alembic ] && ${migration}; exit 0` }, "sphinx-autobuild": {} });
    const docs = "sphinx-autobuild -v doc doc/_build/html --host 0.0.0.0 --port 8000";
    const served = runScript(app, { standIns: standIns("true") });
    expect(served.status).toBe(0);
    // The docs server runs in the background: its place among flask's calls is not fixed.
    expect(served.calls.filter((c) => c !== docs)).toEqual(["flask alembic upgrade head", "flask run --debug --host=0.0.0.0 --port=5000"]);
    expect(served.calls).toContain(docs);
    const failed = runScript(app, { standIns: standIns("exit 3") });
    expect(failed.status).toBe(3);
    expect(failed.calls.sort()).toEqual(["flask alembic upgrade head", docs]);
  });

  it("with a sync token, the app runs the receiver (token as a secret) and the bundler in watch mode, and 5099 is published", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devStack(undefined, undefined, undefined, dag.setSecret("token", "t0ken"))).sync();
      const forwarder = serviceOf(engine.lastChain());
      const app = bound(forwarder.container).app!;
      // Migrates, then serves; beside flask: the receiver, the bundler in watch mode and the docs.
      expect(app.args.slice(0, 6)).toEqual(["sh", "-c", script("dev-server.sh"), "dev-server", "5000", "flask alembic upgrade head"]);
      const [receiver, bundler, ...rest] = app.args.slice(6);
      expect(receiver).toMatch(/^'python' '\/usr\/local\/bin\/pycroft-sync\.py' '5099' '\/opt\/pycroft\/app'( |$)/);
      expect(bundler).toBe("'npm' 'run' 'bundle' '--' '--watch'");
      expect(rest).toEqual([DOCS_SERVER]);
      expect(steps(app.container, "withSecretVariable").map((s) => s.args.name)).toContain("PYCROFT_SYNC_TOKEN");
      expect(steps(app.container, "withEnvVariable").map((s) => s.args.name)).not.toContain("PYCROFT_SYNC_TOKEN");
      expect(steps(forwarder.container, "withExposedPort").map((s) => s.args.port)).toContain(5099);
      expect(forwarder.args).toContain("5099=app:5099");
    });
  });

  it("runs the debugging mail server for development only: shell has it, test does not", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().shell()).sync();
      const mail = bound(engine.lastChain()).mail;
      expect(mail?.args.slice(-3)).toEqual(["python3", "-u", "/opt/mail/mail.py"]);
      expect(steps(mail!.container, "withExposedPort").map((s) => s.args.port)).toEqual([2500]);

      await module().test().catch(() => undefined);
      const testRun = engine.chains().find((c) => c.some((s) => s.field === "withExec" && JSON.stringify(s.args).includes("--junitxml")));
      expect(testRun, "the pytest run").toBeDefined();
      expect(Object.keys(bound(testRun!))).not.toContain("mail");
    });
  });
});
