import { Container, dag, ExecError, Service } from "@dagger.io/dagger";

import { DEFAULTS } from "../config.js";

/**
 * Where a service keeps its data: `tmpfs` for tests (fresh and fast, like compose's `tmpfs:`), or
 * `volumes` for the dev environment (named cache volumes, so data survives restarts).
 */
export type Storage = { kind: "tmpfs"; runId: string } | { kind: "volumes" };

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
  /** How long it may take to get ready; defaults to `DEFAULTS.serviceStartSeconds`. */
  startSeconds?: number;
}

/** Where `serve` keeps a copy of the service's output, for health checks and failure reports. */
export const SERVICE_LOG = "/tmp/service.log";
const LOG_TAIL_LINES = 40;

/**
 * Turns a spec into a Dagger service: data on tmpfs or volumes, output kept in a log file as well as
 * streamed, and a Docker health check that — when it fails — prints the log's tail, so a service that
 * never gets ready fails with its own last words rather than a bare timeout.
 */
export function serve(spec: ServiceSpec, storage: Storage): Service {
  const withData = spec.dataDirs.reduce(
    (c, dir) =>
      storage.kind === "tmpfs"
        ? c.withMountedTemp(dir)
        : c.withMountedCache(dir, dag.cacheVolume(`pycroft-dev-${spec.host}${dir.replaceAll("/", "-")}`)),
    spec.container,
  );
  // A distinct value per test run gives each run its own service instances instead of shared ones.
  const fresh = storage.kind === "tmpfs" ? withData.withEnvVariable("PYCROFT_SERVICE_RUN", storage.runId) : withData;
  return (spec.port ? fresh.withExposedPort(spec.port) : fresh)
    .withDockerHealthcheck(["sh", "-c", `${spec.ready} || { tail -n ${LOG_TAIL_LINES} ${SERVICE_LOG} >&2; exit 1; }`], {
      interval: "1s",
      timeout: "10s",
      startPeriod: `${spec.startSeconds ?? DEFAULTS.serviceStartSeconds}s`,
      retries: 3,
    })
    .asService({ args: ["bash", "-c", `set -o pipefail; "$@" 2>&1 | tee ${SERVICE_LOG}`, spec.host, ...spec.command] });
}

/** The message of a failed service start: its name, then what its health check or exit left behind. */
export function startFailure(host: string, err: unknown): string {
  const detail =
    err instanceof ExecError
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
 */
export async function startAll(services: Record<string, Service>): Promise<() => Promise<void>> {
  const entries = Object.entries(services);
  const results = await Promise.allSettled(entries.map(([, svc]) => svc.start()));
  const stop = async () => {
    await Promise.allSettled(
      results.flatMap((r) => (r.status === "fulfilled" ? [r.value.stop()] : [])),
    );
  };
  const failures = results.flatMap((r, i) => (r.status === "rejected" ? [startFailure(entries[i][0], r.reason)] : []));
  if (failures.length > 0) {
    await stop();
    throw new Error(failures.join("\n\n"));
  }
  return stop;
}
