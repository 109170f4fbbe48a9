/**
 * Pycroft's dev environment (docker-compose.dev.yml) from a call's context: the migrations on a fresh
 * database, the dev server, the whole dev stack on its host ports, and a shell; the dev ones on the
 * project's dev volumes, which outlive the session.
 */
import { Container, Directory, File, Secret, Service } from "@dagger.io/dagger";

import { checkCeleryApp, checkWorker, DEFAULTS, parseWorkers, WorkerSpec } from "../config.js";
import { Context } from "../context.js";
import { base } from "../images/base.js";
import { withDbInit } from "../services/db-init.js";
import { startAll, Storage } from "../services/service.js";
import { bindAll } from "../services/stack.js";
import { liveDevServer } from "../live/dev-server.js";
import { atPort, publishPorts } from "./ports.js";
import { celeryWorker, DEFAULT_WORKER, devServer, DOCS_SERVER, dummyWorker, migration, shellInto } from "./servers.js";

/** SQL to load into a fresh database before the migrations: `--db-init DIR` and `--db-init-file FILE…`. */
export interface DbInit {
  dir?: Directory;
  files?: File[];
}

/** What `dev-stack` takes besides the context. */
export interface DevStackOptions {
  withKeycloak?: boolean;
  migrateCommand: string;
  celeryApp: string;
  syncToken?: Secret;
  dbInit: DbInit;
  worker: string[];
}

/** The load of `init` into the stack's db, before the app container runs anything (nothing to load: no step). */
async function dbInitStep(ctx: Context, db: Service, init: DbInit) {
  return withDbInit({ image: ctx.settings.postgresImage, password: ctx.credentials.db, db, dir: init.dir, files: init.files });
}

/** One Celery worker of the app, with its own db, ldap and mq on tmpfs. */
export async function worker(ctx: Context, celeryApp: string, spec: WorkerSpec): Promise<Service> {
  const checked = checkWorker(spec);
  const celery = checkCeleryApp(celeryApp);
  const storage = ctx.tmpfs();
  const { app } = await ctx.appStack(storage, false);
  return celeryWorker(app, celery, storage, checked);
}

/** The migrations on a fresh PostgreSQL on tmpfs, the only service started; their output. */
export async function migrate(ctx: Context, command: string, init: DbInit): Promise<string> {
  // The database alone, as Pycroft's dev-migrate depends on dev-db alone: no broker or ldap to wait for.
  const storage = ctx.tmpfs();
  const { services, image } = await ctx.appStack(storage, false);
  const db = services.db!;
  // Kept up from the load to the migrations' end: a service no container uses may be stopped between
  // the two, and on tmpfs it would start again empty (the migrations then miss what was loaded).
  const stop = await startAll({ db }, storage);
  try {
    return await migration(image.with(bindAll({ db })).with(await dbInitStep(ctx, db, init)), command).stdout();
  } finally {
    await stop();
  }
}

/** flask's dev server after the migrations, with db, ldap and mq on the dev volumes. */
export async function devEnv(ctx: Context, migrateCommand: string, init: DbInit): Promise<Service> {
  const run = await ctx.appStack(await ctx.devVolumes(), false);
  return devServer(run.app.with(await dbInitStep(ctx, run.services.db!, init)), migrateCommand);
}

/** The whole dev stack as one service, published on Pycroft's dev host ports. */
export async function devStack(ctx: Context, o: DevStackOptions): Promise<Service> {
  const celery = checkCeleryApp(o.celeryApp);
  const named = o.worker.length > 0 ? parseWorkers(o.worker) : [DEFAULT_WORKER];
  const project = await ctx.project();
  const storage: Storage = await ctx.devVolumes();
  const run = await ctx.appStack(storage, o.withKeycloak ?? project.hasKeycloakRealm);
  const workers = {
    ...Object.fromEntries(named.map((w) => [w.name, celeryWorker(run.app, celery, storage, w)])),
    ...(project.hasDummyWorker ? { "dummy-worker": dummyWorker(run.image, run.services.mq!, DEFAULTS.dummyWorker, storage) } : {}),
  };
  const app = run.app.with(await dbInitStep(ctx, run.services.db!, o.dbInit));
  // The docs are served from the app container, so that live edits reach them too.
  const beside = project.docs ? [DOCS_SERVER] : [];
  const server = o.syncToken
    ? liveDevServer(ctx.settings, app, project, o.syncToken, o.migrateCommand, beside)
    : devServer(app, o.migrateCommand, beside);
  const sync = { port: DEFAULTS.syncPort, host: "app", target: DEFAULTS.syncPort, what: "live edits" };
  const ports = [...DEFAULTS.devPorts.filter((p) => p.target !== DEFAULTS.docsPort || project.docs), ...(o.syncToken ? [sync] : [])];
  return publishPorts(base(ctx.settings), { ...run.services, ...workers, app: server }, ports);
}

/** The dev container with the dev services bound, or those given (a running dev stack's host ports) instead. */
export async function shell(ctx: Context, given: { db?: Service; ldap?: Service; mq?: Service }): Promise<Container> {
  const run = await ctx.appStack(await ctx.devVolumes(), false);
  const joined = await Promise.all(
    Object.entries(given)
      .filter((e): e is [string, Service] => e[1] !== undefined)
      .map(async ([host, svc]) => [host, await atPort(base(ctx.settings), svc, host, devPort(host))] as const),
  );
  return shellInto(run.image.with(bindAll({ ...run.services, ...Object.fromEntries(joined) })));
}

/** The port the app reaches a dev service's host on (its first in `DEFAULTS.devPorts`). */
function devPort(host: string): number {
  return DEFAULTS.devPorts.find((p) => p.host === host)!.target;
}
