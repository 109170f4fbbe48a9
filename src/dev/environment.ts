import { Container, Service } from "@dagger.io/dagger";

import { DEFAULTS } from "../config.js";
import { serve, SERVICE_LOG, Storage } from "../services/service.js";

/** Healthy once the worker reports ready: connected to the broker and consuming. */
const WORKER_READY = `grep -q "^\\[.*\\] celery@.* ready\\.$" ${SERVICE_LOG}`;

/**
 * A Celery worker of the app from the app container (compose's `dev-celery-worker`), healthy once it
 * reports ready. (`celery inspect ping` would need the broker URI, a secret, which health checks do not get.)
 */
export function worker(app: Container, celeryApp: string, storage: Storage): Service {
  return serve(
    {
      host: "celery-worker",
      container: app,
      command: ["celery", "-A", celeryApp, "worker", "--loglevel=info"],
      dataDirs: [],
      ready: WORKER_READY,
    },
    storage,
  );
}

/**
 * Pycroft's stand-in for hades (compose's `test-dummy-worker`): its script run as a program, as
 * Pycroft does, so its tasks are named `dummy_tasks.*` as the client sends them, with enough worker
 * processes that its 10-second tasks do not queue behind one another.
 */
export function dummyWorker(app: Container, script: string, storage: Storage): Service {
  return serve(
    {
      host: "dummy-worker",
      container: app,
      command: ["python", script, "worker", "--loglevel=info", `--concurrency=${DEFAULTS.dummyWorkerConcurrency}`],
      dataDirs: [],
      ready: WORKER_READY,
    },
    storage,
  );
}

/** The migration command run in the app container (compose's `dev-migrate`); alembic logs to stderr, kept in stdout. */
export function migration(app: Container, command: string): Container {
  return app.withExec(["sh", "-c", `${command} 2>&1`]);
}

/** flask's dev server on all interfaces, after the migrations (compose's `dev-app`). */
export function devServer(app: Container, migrateCommand: string): Service {
  return app
    .withExposedPort(DEFAULTS.port)
    .asService({
      args: ["sh", "-c", `${migrateCommand} && exec flask run --debug --host=0.0.0.0 --port=${DEFAULTS.port}`],
    });
}

/** The app container for an interactive shell. */
export function shellInto(app: Container): Container {
  return app.withDefaultTerminalCmd(["bash"]);
}
