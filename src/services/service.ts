import { Container, dag, Service } from "@dagger.io/dagger";

import { DEFAULTS } from "../config.js";
import { script } from "../scripts/index.js";

/**
 * Where a service keeps its data: `tmpfs` for tests (fresh and fast, like compose's `tmpfs:`), or
 * `volumes` for the dev environment: named cache volumes, so data survives restarts, named after the
 * project as compose names its volumes, so two applications never share dev data.
 */
export type Storage = { kind: "tmpfs"; runId: string; awaitedByRun?: boolean } | { kind: "volumes"; project: string };

/**
 * How a client on the network asks whether the service answers: what a test run's pytest asks
 * itself (src/testing/ready.ts) when its services start with it, unchecked by the engine.
 */
export type Probe =
  | { kind: "postgres"; port: number; user: string }
  | { kind: "ldap" | "amqp"; port: number }
  | { kind: "http"; port: number; path: string }
  /** A Celery worker named `node@…` that answers a ping on the broker in the app's variable `brokerEnv`. */
  | { kind: "celery"; node: string; brokerEnv: string };

/** Whether a run's services are waited for by the run itself (its pytest), not by the engine. */
export function awaitedByRun(storage: Storage): boolean {
  return storage.kind === "tmpfs" && storage.awaitedByRun === true;
}

/** Everything that differs between the backing services; the rest is `serve`'s business. */
export interface ServiceSpec {
  /** The hostname clients use (Pycroft's compose aliases: db, ldap, mq, …); also names it in errors. */
  host: string;
  /** The configured container, before any data mount or health check. */
  container: Container;
  /** The full command, entrypoint included. */
  command: string[];
  /** The port clients use; none for a worker that only talks to the broker. */
  port?: number;
  /** Directories holding state: tmpfs or volumes, per `Storage`. */
  dataDirs: string[];
  /** A shell command that exits 0 once the service really answers (not merely listens). */
  ready: string;
  /** The same question asked by a client (see `Probe`); without one, the engine always checks `ready`. */
  probe?: Probe;
  /** How long it may take to get ready; defaults to `DEFAULTS.serviceStartSeconds`. */
  startSeconds?: number;
  /**
   * The signal that shuts the service down cleanly, as its image's STOPSIGNAL says (postgres: INT,
   * a fast shutdown that does not wait for clients to disconnect); TERM when unset.
   */
  stopSignal?: "TERM" | "INT" | "QUIT";
}

/** Where `serve` keeps a copy of the service's output, for health checks and failure reports. */
export const SERVICE_LOG = "/tmp/service.log";
const LOG_TAIL_LINES = 40;

/** Where a dev service holds the lock on its data volumes (a volume of its own, shared by every session). */
export const DEV_LOCK_DIR = "/run/pycroft-dev-lock";

/** What a second session's dev service says when another one has the data, and how to share it instead. */
export const DATA_IN_USE = "is already running in another Dagger session (dev-env, dev-stack, shell or worker) on the same data volumes";

/** How a shell uses a running dev-stack's services (its host ports) rather than starting its own. */
export const JOIN_HINT = `shell ${["db", "ldap", "mq"]
  .map((host) => `--${host} tcp://localhost:${DEFAULTS.devPorts.find((p) => p.host === host)!.port}`)
  .join(" ")}`;

/**
 * Runs the service as the child this shell waits for, so the engine's stop reaches it and the
 * container lives until it has shut down: the engine sends SIGTERM to the process group and ends the
 * container once its first process exits. A `bash -c "… | tee"` exited at once and the service was
 * killed mid-shutdown. The output also goes to the log, through a tee that ignores the stop signal
 * and ends with its input. On dev volumes, a lock (flock, seen across containers) keeps a second
 * session from starting a second server on the same data, saying so (DATA_IN_USE).
 */
export const RUN_SERVICE = script("run-service.sh");

/**
 * Turns a spec into a Dagger service: data on tmpfs or volumes, output kept in a log file as well as
 * streamed, and a Docker health check that — when it fails — prints the log's tail, so a service that
 * never gets ready fails with its own last words rather than a bare timeout. A run that waits for
 * the service itself (`awaitedByRun`, and the spec has a probe) gets it without the check: it counts
 * as started once its process runs.
 */
export function serve(spec: ServiceSpec, storage: Storage): Service {
  const withData = spec.dataDirs.reduce(
    (c, dir) =>
      storage.kind === "tmpfs"
        ? c.withMountedTemp(dir)
        : c.withMountedCache(dir, dag.cacheVolume(devVolume(storage.project, spec.host, dir))),
    spec.container,
  );
  // A distinct value per test run gives each run its own service instances instead of shared ones.
  const fresh = storage.kind === "tmpfs" ? withData.withEnvVariable("PYCROFT_SERVICE_RUN", storage.runId) : withData;
  const locked = storage.kind === "volumes" && spec.dataDirs.length > 0;
  const lock = locked ? `${DEV_LOCK_DIR}/${storage.project}-${spec.host}.lock` : "";
  const busy = locked ? `${spec.host} ${DATA_IN_USE}: stop that one first, or join a running dev-stack: ${JOIN_HINT}` : "";
  const withLock = locked ? fresh.withMountedCache(DEV_LOCK_DIR, dag.cacheVolume("pycroft-dev-locks")) : fresh;
  const unchecked = awaitedByRun(storage) && spec.probe !== undefined;
  const exposed = !spec.port ? withLock : unchecked ? withLock.withExposedPort(spec.port, { experimentalSkipHealthcheck: true }) : withLock.withExposedPort(spec.port);
  // Unchecked also drops what the image's own HEALTHCHECK would have the engine wait for (the slapd image has one).
  const checked = unchecked
    ? exposed.withoutDockerHealthcheck()
    : exposed.withDockerHealthcheck(healthCheck(spec.ready), { interval: "1s", timeout: "10s", startPeriod: `${startSeconds(spec)}s`, retries: 3 });
  return checked.asService({ args: ["bash", "-c", RUN_SERVICE, "run-service", SERVICE_LOG, spec.stopSignal ?? "TERM", lock, busy, ...spec.command] });
}

/** How long the service may take to get ready. */
export function startSeconds(spec: ServiceSpec): number {
  return spec.startSeconds ?? DEFAULTS.serviceStartSeconds;
}

/** How many times one health check asks whether the service is ready, and how long it waits in between. */
const POLLS = 50;
const POLL_SECONDS = 0.1;
const HEALTH_CHECK = script("health-check.sh");

/**
 * One health check (src/scripts/health-check.sh): asks every 0.1 s, quietly, until the service is
 * ready; the 50th time (5 s on) with its error shown, then fails with the log's tail. The engine runs
 * the first check at once and each next one an interval after a failure: a check that asked only once
 * saw a ready service up to an interval late, and each probe as an exec of its own cost more than it saved.
 */
export function healthCheck(ready: string): string[] {
  return ["sh", "-c", HEALTH_CHECK, "health-check", ready, SERVICE_LOG, String(LOG_TAIL_LINES), String(POLLS), String(POLL_SECONDS)];
}

/** The cache volume that keeps a dev service's data directory across sessions (Pycroft's: `pycroft-dev-db-…`). */
export function devVolume(project: string, host: string, dir: string): string {
  return `${project}-dev-${host}${dir.replaceAll("/", "-")}`;
}

/**
 * Whether `err` is the SDK's ExecError, told by its name and fields: the SDK that `dagger call` bundles
 * into a module exports no error classes, so `instanceof ExecError` cannot be written there.
 */
function isExecError(err: unknown): err is Error & { stdout: string; stderr: string } {
  const e = err as { name?: unknown; stdout?: unknown; stderr?: unknown };
  return err instanceof Error && e.name === "ExecError" && typeof e.stdout === "string" && typeof e.stderr === "string";
}

/** The message of a failed service start: its name, then what its health check or exit left behind. */
export function startFailure(host: string, err: unknown): string {
  const detail =
    isExecError(err)
      ? [err.stderr, err.stdout].filter((t) => t.trim()).join("\n") || err.message
      : err instanceof Error
        ? err.message
        : String(err);
  const tail = detail.trim().split("\n").slice(-LOG_TAIL_LINES).join("\n");
  return `service "${host}" never became ready:\n${tail}`;
}

/**
 * Starts the services in parallel and returns a function that stops them. Fails with every service
 * that did not come up, each named with its log tail; those that did come up are stopped again.
 * Services whose data is thrown away (tmpfs) are killed: a clean shutdown of data that is about to
 * vanish only costs time (RabbitMQ and a Celery worker take seconds).
 */
export async function startAll(services: Record<string, Service>, storage: Storage): Promise<() => Promise<void>> {
  const entries = Object.entries(services);
  const results = await Promise.allSettled(entries.map(([, svc]) => svc.start()));
  const kill = storage.kind === "tmpfs";
  const stop = async () => {
    await Promise.allSettled(
      results.flatMap((r) => (r.status === "fulfilled" ? [r.value.stop({ kill })] : [])),
    );
  };
  const failures = results.flatMap((r, i) => (r.status === "rejected" ? [startFailure(entries[i][0], r.reason)] : []));
  if (failures.length > 0) {
    await stop();
    throw new Error(failures.join("\n\n"));
  }
  return stop;
}
