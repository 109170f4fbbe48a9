/**
 * A test run as Pycroft's test compose does it: the services, the dummy worker and the app's named
 * workers started fresh on tmpfs, pytest in the app container, its result read while they are up;
 * in one pytest process or in shards whose reports are merged into one.
 */
import { Container, dag, Directory, Secret, Service } from "@dagger.io/dagger";

import { checkShards, DEFAULTS, parseWorkers, Settings, UsageError, WorkerSpec } from "../config.js";
import { Context } from "../context.js";
import { Project } from "../images/project.js";
import { awaitedByRun, startAll, Storage } from "../services/service.js";
import { bindAll, serveAll } from "../services/stack.js";
import { celeryWorkerSpec, dummyWorkerSpec, shellInto } from "../dev/servers.js";
import { pytest, pytestOnDemand, reportDir, summary } from "./pytest.js";
import { awaitingServices, NOT_READY } from "./ready.js";
import { mayReach, USED_BY } from "./reach.js";
import { inShard, mergeShards, Shard } from "./shards.js";

/** What a caller asks of a test run: `test`'s, `test-report`'s, `test-stack`'s and `test-shell`'s arguments. */
export interface SuiteOptions {
  args?: string[];
  /** Start the dummy hades worker; undefined: when the source has it and `args` may reach its tests. */
  withWorker?: boolean;
  /** Start keycloak; undefined: when the source has its test realm and `args` may reach its tests. */
  withKeycloak?: boolean;
  /** The app's Celery workers as `--worker` spells them. */
  worker?: string[];
}

/** What a test run is about, checked: the same for every shard. */
export interface Suite {
  project: Project;
  args: string[];
  keycloak: boolean;
  /** Whether the dummy hades worker runs. */
  worker: boolean;
  /** The app's Celery workers `--worker` asked for. */
  workers: WorkerSpec[];
  /** The packages whose coverage is measured (none given: the coverage configuration's); undefined: not measured. */
  coverage?: string[];
}

/** A finished pytest run (or the merge of several): its output, exit code and reports directory. */
export interface TestRun {
  output: string;
  exitCode: number;
  reports: Directory;
}

/** `test`: the run's output; a failed run fails with pytest's summary. */
export async function test(ctx: Context, options: SuiteOptions, shards: number): Promise<string> {
  const { output, exitCode } = await runTests(ctx, options, shards, false);
  if (exitCode !== 0) throw new Error(`pytest failed with exit code ${exitCode}:\n${summary(output)}`);
  return output;
}

/** `test-stack`: the test services kept up, pytest run on request in the app container beside them. */
export async function testStack(ctx: Context, options: SuiteOptions, token: Secret, startAhead: boolean): Promise<Service> {
  const { app } = await testApp(ctx, await suite(ctx, options), ctx.tmpfs());
  return pytestOnDemand(ctx.settings, app, token, startAhead);
}

/** `test-shell`: a shell in the app container of a test run, its services bound. */
export async function testShell(ctx: Context, options: SuiteOptions): Promise<Container> {
  const { app } = await testApp(ctx, await suite(ctx, options), ctx.tmpfs());
  return shellInto(app);
}

/**
 * Runs the suite in one pytest process, or in `shards` at once whose reports are then merged into
 * one. Options are checked before anything starts. Coverage is measured only for a run whose
 * reports are returned.
 */
export async function runTests(ctx: Context, options: SuiteOptions, shards: number, coverage: boolean): Promise<TestRun> {
  const count = checkShards(shards);
  const asked = await suite(ctx, options);
  const checked = coverage ? { ...asked, coverage: asked.project.coveragePackages } : asked;
  return count === 1 ? runShard(ctx, checked) : runShards(ctx, checked, count);
}

/**
 * A suite's options, checked: the dummy worker and keycloak follow the source, and the tests the
 * arguments may reach, unless asked otherwise.
 */
export async function suite(ctx: Context, o: SuiteOptions): Promise<Suite> {
  const workers = parseWorkers(o.worker ?? []);
  const project = await ctx.project();
  const args = o.args ?? [];
  const reaches = (host: keyof typeof USED_BY) => mayReach(args, USED_BY[host], ctx.settings.appDir);
  const worker = o.withWorker ?? (project.hasDummyWorker && reaches("dummy-worker"));
  if (worker && !project.hasDummyWorker) {
    throw new UsageError(`--with-worker needs the dummy worker ${DEFAULTS.dummyWorker} in the source`);
  }
  return { project, args, keycloak: o.withKeycloak ?? (project.hasKeycloakRealm && reaches("keycloak")), worker, workers };
}

/**
 * The app image with what Pycroft's test compose starts bound: its services and, when the suite
 * wants them, the dummy worker (bound to mq alone: it starts before keycloak is ready) and the
 * app's named workers (`extra`). On storage `awaitedByRun`, pytest waits for them itself (ready.ts).
 */
export async function testApp(ctx: Context, suite: Suite, storage: Storage) {
  const run = await ctx.appStack(storage, suite.keycloak);
  const workers = [
    ...(suite.worker ? [dummyWorkerSpec(run.image, run.services.mq!, DEFAULTS.dummyWorker, storage)] : []),
    ...suite.workers.map((w) => celeryWorkerSpec(run.app, DEFAULTS.celeryApp, storage, w)),
  ];
  const extra: Record<string, Service> = serveAll(workers, storage);
  const bound = run.app.with(bindAll(extra));
  return { run, extra, app: awaitedByRun(storage) ? bound.with(awaitingServices([...run.specs, ...workers], USED_BY)) : bound };
}

/**
 * The shards at once, each to its end (a shard whose services fail does not cut the others short),
 * then one report of all of them, merged in the app's image without services.
 */
async function runShards(ctx: Context, suite: Suite, count: number): Promise<TestRun> {
  const runs = await Promise.allSettled(Array.from({ length: count }, (_, i) => runShard(ctx, suite, { index: i + 1, count })));
  const failed = runs.flatMap((r, i) => (r.status === "rejected" ? [`shard ${i + 1}/${count}: ${(r.reason as Error).message ?? r.reason}`] : []));
  if (failed.length > 0) throw new Error(failed.join("\n\n"));
  const reports = runs.map((r) => (r as PromiseFulfilledResult<TestRun>).value.reports);
  const merged = (await ctx.appImage(suite.project)).with(mergeShards(ctx.settings, suite.coverage, reports));
  return readRun(merged, ctx.settings);
}

/**
 * Starts what Pycroft's test compose starts, runs pytest (all of it, or one shard), reads the result,
 * kills them. The services start unchecked beside the image's build and pytest waits for them after
 * its collection (ready.ts); if one never answers, they start again checked, for named errors.
 */
async function runShard(ctx: Context, suite: Suite, shard?: Shard): Promise<TestRun> {
  const storage = { ...ctx.tmpfs(), awaitedByRun: true };
  const { run, extra, app: bound } = await testApp(ctx, suite, storage);
  // The image builds while the services' processes start.
  const [started, built] = await Promise.allSettled([startAll({ ...run.services, ...extra }, storage), run.image.sync()]);
  if (started.status === "rejected") throw started.reason;
  const stop = started.value;
  if (built.status === "rejected") {
    await stop();
    throw built.reason;
  }
  const s = ctx.settings;
  const app = shard ? bound.with(inShard(s, shard)) : bound;
  try {
    const ran = await readRun(app.with(pytest(s, suite.coverage, suite.args, storage.runId)), s).catch(async (err: unknown) => {
      throw SERVICE_EXITED.test(err instanceof Error ? err.message : String(err)) ? await notReady(ctx, suite, err as Error) : err;
    });
    const line = ran.output.split("\n").find((l) => l.includes(NOT_READY));
    if (line) throw await notReady(ctx, suite, new Error(line));
    return ran;
  } finally {
    // Killed without waiting: the result is read, and the kill took 1.7-2.3 s here (whatever is
    // left when the session ends, the engine kills too).
    void stop();
  }
}

/**
 * How the engine fails an exec when one of its bound services has exited: during the exec, `bound
 * service HOST ([db]) exited: …`; before it, the service's name is gone from its DNS, `lookup HOST for
 * hosts file: … no such host`.
 */
const SERVICE_EXITED = /bound service \S+ \(.*\) exited|lookup \S+ for hosts file: .*no such host/;

/**
 * The error of a run whose services did not all come up (one exited, or never answered pytest's
 * wait): they start again, checked by the engine, so that each one that fails is named with its
 * log's tail; `why` if they all start this time.
 */
async function notReady(ctx: Context, suite: Suite, why: Error): Promise<Error> {
  const storage = ctx.tmpfs();
  const { run, extra } = await testApp(ctx, suite, storage);
  try {
    void (await startAll({ ...run.services, ...extra }, storage))();
  } catch (err) {
    return err as Error;
  }
  return why;
}

/** Reads a run while its services are still up: nothing is left to run again once they are gone. */
async function readRun(ran: Container, s: Settings): Promise<TestRun> {
  return {
    output: await ran.stdout(),
    exitCode: await ran.exitCode(),
    reports: dag.directory().withDirectory(".", await ran.directory(reportDir(s)).sync()),
  };
}
