import { Container, dag, Service } from "@dagger.io/dagger";

import { DEFAULTS, owner, Settings, WorkerSpec } from "../config.js";
import { script, shellWords } from "../scripts/index.js";
import { DB_INIT_LOG } from "../services/db-init.js";
import { awaitedByRun, serve, SERVICE_LOG, ServiceSpec, Storage } from "../services/service.js";
import { AMQP_PORT } from "../services/rabbitmq.js";
import { bindAll } from "../services/stack.js";

/** Healthy once the worker's node (`NODE@HOST`) reports ready: connected to the broker and consuming. */
function workerReady(node: string): string {
  return `grep -q "^\\[.*\\] ${node}@.* ready\\.$" ${SERVICE_LOG}`;
}

const AFTER_BROKER = script("after-broker.sh");

/**
 * A worker's command, which on a run that waits for its services itself (`awaitedByRun`: the worker
 * starts beside its broker, not after it) first waits until mq answers (src/scripts/after-broker.sh).
 */
export function afterBroker(storage: Storage, command: string[]): string[] {
  if (!awaitedByRun(storage)) return command;
  return ["bash", "-c", AFTER_BROKER, "after-broker", script("amqp-ready.sh"), "mq", String(AMQP_PORT), ...command];
}

/** The Celery worker `worker` and the dev stack start when none is asked for: the app's default queue. */
export const DEFAULT_WORKER: WorkerSpec = { name: DEFAULTS.workerName, queues: [] };

/** A Celery worker's command line: the app's Celery app, its node named after the worker, its queues and processes. */
export function workerCommand(celeryApp: string, w: WorkerSpec): string[] {
  return [
    "celery", "-A", celeryApp, "worker", "--loglevel=info",
    `--hostname=${w.name}@%h`,
    ...(w.queues.length > 0 ? [`--queues=${w.queues.join(",")}`] : []),
    ...(w.concurrency === undefined ? [] : [`--concurrency=${w.concurrency}`]),
  ];
}

/**
 * A Celery worker of the app from the app container (compose's `dev-celery-worker`), under its own
 * name and on its own queues: several from the one container make a named split (an app worker and
 * a signer, say) on one broker. Healthy once it reports ready. (`celery inspect ping` would need the
 * broker URI, a secret, which health checks do not get.)
 */
export function celeryWorker(app: Container, celeryApp: string, storage: Storage, w: WorkerSpec = DEFAULT_WORKER): Service {
  return serve(celeryWorkerSpec(app, celeryApp, storage, w), storage);
}

/** `celeryWorker`'s spec. */
export function celeryWorkerSpec(app: Container, celeryApp: string, storage: Storage, w: WorkerSpec): ServiceSpec {
  return {
    host: w.name,
    // A worker serves nothing: without the app image's port, which a start without a health check would wait for.
    container: app.withoutExposedPort(DEFAULTS.port),
    command: afterBroker(storage, workerCommand(celeryApp, w)),
    dataDirs: [],
    ready: workerReady(w.name),
    probe: { kind: "celery", node: w.name, brokerEnv: "PYCROFT_CELERY_BROKER_URI" },
  };
}

/**
 * What the dummy worker skips: it is its app's only worker (named app workers, if any, serve other
 * queues), so the 1 s that mingle waits at start for other workers' replies (to sync revoked tasks)
 * and gossip's event subscription buy nothing.
 */
export const DUMMY_WORKER_ALONE = ["--without-mingle", "--without-gossip"];

/**
 * Pycroft's stand-in for hades (compose's `test-dummy-worker`): its script run as a program, as
 * Pycroft does, so its tasks are named `dummy_tasks.*` as the client sends them, with enough worker
 * processes that its 10-second tasks do not queue behind one another. It is bound to the broker
 * alone, as compose's depends only on mq: it starts as soon as mq is ready, not after keycloak.
 */
export function dummyWorker(image: Container, mq: Service, script: string, storage: Storage): Service {
  return serve(dummyWorkerSpec(image, mq, script, storage), storage);
}

/** `dummyWorker`'s spec. */
export function dummyWorkerSpec(image: Container, mq: Service, script: string, storage: Storage): ServiceSpec {
  return {
    host: "dummy-worker",
    container: image.withoutExposedPort(DEFAULTS.port).with(bindAll({ mq })),
    command: afterBroker(storage, ["python", script, "worker", "--loglevel=info", `--concurrency=${DEFAULTS.dummyWorkerConcurrency}`, ...DUMMY_WORKER_ALONE]),
    dataDirs: [],
    // Celery's default node name: the script names none.
    ready: workerReady("celery"),
    probe: { kind: "celery", node: "celery", brokerEnv: "TEST_HADES_BROKER_URI" },
  };
}

/**
 * The migration command run in the app container (compose's `dev-migrate`), after what the load of
 * `--db-init` said, if there was one; alembic logs to stderr, kept in stdout.
 */
export function migration(app: Container, command: string): Container {
  return app.withExec(["sh", "-c", MIGRATE, "migrate", DB_INIT_LOG, command]);
}

const MIGRATE = script("migrate.sh");

/**
 * flask's dev server on all interfaces, after the migrations (compose's `dev-app`), with the given
 * commands running beside it in the same container (each seeing the same files).
 */
export function devServer(app: Container, migrateCommand: string, beside: string[] = []): Service {
  return app.withExposedPort(DEFAULTS.port).asService({ args: ["sh", "-c", DEV_SERVER, "dev-server", String(DEFAULTS.port), migrateCommand, ...beside] });
}

const DEV_SERVER = script("dev-server.sh");

/**
 * Serves the Sphinx docs on `DEFAULTS.docsPort` and rebuilds them on every change, as compose's
 * `dev-docs` (`serve-docs`: sphinx-autobuild); a source without sphinx-autobuild gets them built once.
 */
export const DOCS_SERVER = shellWords(["sh", "-c", script("serve-docs.sh"), "serve-docs", DEFAULTS.docsDir, String(DEFAULTS.docsPort)]);

/** The app container for an interactive shell. */
export function shellInto(app: Container): Container {
  return app.withDefaultTerminalCmd(["bash"]);
}

/**
 * The dev user's state on a cache volume under the home (compose keeps the whole home on its `home`
 * volume): bash's, psql's and Python's histories outlive the session, shared by every dev container.
 * bash appends after each command (the user's Debian .bashrc sets histappend), since a terminal that the
 * CLI closes never runs bash's exit hook.
 */
export function withDevState(s: Settings, project: string) {
  const dir = `${s.home}/${DEFAULTS.devStateDir}`;
  return (c: Container): Container =>
    c
      .withMountedCache(dir, dag.cacheVolume(`${project}-dev-state`), { owner: owner(s) })
      .withEnvVariable("XDG_STATE_HOME", dir)
      .withEnvVariable("HISTFILE", `${dir}/bash_history`)
      .withEnvVariable("PROMPT_COMMAND", "history -a")
      .withEnvVariable("PSQL_HISTORY", `${dir}/psql_history`)
      // Python 3.13 reads PYTHON_HISTORY; earlier ones write ~/.python_history, linked there.
      .withEnvVariable("PYTHON_HISTORY", `${dir}/python_history`)
      .withSymlink(`${dir}/python_history`, `${s.home}/.python_history`);
}
