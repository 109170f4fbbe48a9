/**
 * Builds, tests and publishes Pycroft's containers: the base, dev and prod images, the test suite
 * against PostgreSQL, OpenLDAP and RabbitMQ services on tmpfs, and a dev environment — everything
 * Pycroft's Dockerfiles, `docker buildx bake` and docker-compose files did, as Dagger functions.
 *
 * Every function works without arguments on the example application in this repository; point
 * `--source` at a Pycroft checkout to run it on Pycroft.
 */
import { randomUUID } from "node:crypto";

import { argument, check, Container, dag, Directory, File, func, object, Platform, Secret, Service } from "@dagger.io/dagger";

import { up } from "./decorators.js";

import {
  checkCeleryApp, checkPlatform, checkProtocol, checkRuffFormat, checkShards, checkWorker, checkWsgiApp, DEFAULTS, parseWorkers, settings, Settings,
  UPLOAD_EXCLUDES, UsageError, WorkerSpec,
} from "./config.js";
import { base, checkImagePlatform } from "./images/base.js";
import { dev, jsBundle, withBundle } from "./images/dev.js";
import { inspect, Project } from "./images/project.js";
import { ProdCommands, prod, ReleaseInfo } from "./images/prod.js";
import { vcsData, vcsVersions, withoutVcs } from "./images/vcs.js";
import { publishImage } from "./publish/publish.js";
import { serve, ServiceSpec, startAll, Storage } from "./services/service.js";
import { bindAll, Credentials, specs, stack, StackOptions } from "./services/stack.js";
import { withDbInit } from "./services/db-init.js";
import { appEnvironment, withEnvironment } from "./app/environment.js";
import { watcherFile } from "./app/watcher.js";
import { pytest, pytestOnDemand, reportDir, summary } from "./testing/pytest.js";
import { inShard, mergeShards, Shard } from "./testing/shards.js";
import { celeryWorker, DEFAULT_WORKER, devServer, DOCS_SERVER, dummyWorker, migration, shellInto, withDevState } from "./dev/environment.js";
import { atPort, publishPorts } from "./dev/ports.js";
import { liveDevServer } from "./dev/sync.js";
import { mypy, ruff } from "./checks/lint.js";
import { DOCS_HTML, sphinx, sphinxLog } from "./checks/docs.js";
import { relativeTo, report, verdict } from "./checks/verdict.js";

@object()
export class Pycroft {
  // The options, kept for every call on this object; not functions of their own (the constructor's
  // @param lines are their help).
  source: Directory;
  /** The upload's git data alone: the versions a build takes from git are computed from it (`vcsVersions`). */
  vcs: Directory;
  openldapContext: Directory;
  uid: number;
  gid: number;
  user: string;
  home: string;
  venv: string;
  appDir: string;
  pythonImage: string;
  uvVersion: string;
  aptPackages: string[];
  noInstallPackage: string[];
  aptMirror: string;
  pythonIndex: string;
  postgresImage: string;
  rabbitmqImage: string;
  debianImage: string;
  // Given secrets only: one made here with setSecret would not outlive this call, and the next
  // function of a chain (`dagger call --db-password … test`) could no longer read it.
  dbPassword?: Secret;
  ldapPassword?: Secret;
  mqPassword?: Secret;

  /**
   * @param source The application: a uv project (pyproject.toml + uv.lock) laid out like Pycroft. Defaults to ./example. Its git data goes up too, only to compute the versions builds take from git tags.
   * @param openldapContext Build context of the slapd image (Dockerfile + entrypoint). Defaults to ./dockerfiles/openldap.
   * @param uid UID of the app user, so bind-mounted files keep their owner (Pycroft: 1000).
   * @param gid GID of the app user (Pycroft: 1000).
   * @param user Name of the app user.
   * @param home Home of the app user; holds the venv, the app and the caches.
   * @param venv The virtual environment, first on PATH.
   * @param appDir Where the source goes in the dev image.
   * @param pythonImage The Python image every layer starts from.
   * @param uvVersion The uv release installed into the images.
   * @param aptPackages Extra Debian packages for the base layer.
   * @param noInstallPackage Leave this locked Python package out of the installs (repeatable), e.g. a git dependency a runner cannot reach (Pycroft's docs-only guzzle-sphinx-theme).
   * @param aptMirror A Debian mirror replacing deb.debian.org (e.g. http://ftp.agdsn.de/debian).
   * @param pythonIndex A Python package index replacing PyPI for pip and uv (air-gapped runners).
   * @param postgresImage The PostgreSQL image of the db service.
   * @param rabbitmqImage The RabbitMQ image (management variant) of the mq service.
   * @param debianImage The Debian image the slapd image is built on.
   * @param dbPassword Password of the db service's `postgres` user (default: "password", as in Pycroft's compose files).
   * @param ldapPassword Password of the ldap service's admin (default: "password").
   * @param mqPassword Password of the mq service's `celery` user (default: "celery").
   */
  constructor(
    @argument({ defaultPath: "./example", ignore: UPLOAD_EXCLUDES })
    source: Directory,
    @argument({ defaultPath: "./dockerfiles/openldap" })
    openldapContext: Directory,
    uid: number = DEFAULTS.uid,
    gid: number = DEFAULTS.gid,
    user: string = DEFAULTS.user,
    home: string = DEFAULTS.home,
    venv: string = DEFAULTS.venv,
    appDir: string = DEFAULTS.appDir,
    pythonImage: string = DEFAULTS.pythonImage,
    uvVersion: string = DEFAULTS.uvVersion,
    aptPackages: string[] = [],
    noInstallPackage: string[] = [],
    aptMirror: string = "",
    pythonIndex: string = "",
    postgresImage: string = DEFAULTS.postgresImage,
    rabbitmqImage: string = DEFAULTS.rabbitmqImage,
    debianImage: string = DEFAULTS.debianImage,
    dbPassword?: Secret,
    ldapPassword?: Secret,
    mqPassword?: Secret,
  ) {
    this.source = withoutVcs(source);
    this.vcs = vcsData(source);
    this.openldapContext = openldapContext;
    this.uid = uid;
    this.gid = gid;
    this.user = user;
    this.home = home;
    this.venv = venv;
    this.appDir = appDir;
    this.pythonImage = pythonImage;
    this.uvVersion = uvVersion;
    this.aptPackages = aptPackages;
    this.noInstallPackage = noInstallPackage;
    this.aptMirror = aptMirror;
    this.pythonIndex = pythonIndex;
    this.postgresImage = postgresImage;
    this.rabbitmqImage = rabbitmqImage;
    this.debianImage = debianImage;
    this.dbPassword = dbPassword;
    this.ldapPassword = ldapPassword;
    this.mqPassword = mqPassword;
    this.settings(); // fail at once on bad options
  }

  /** The base image: python, libpq5, the app user and an empty venv first on PATH (base.Dockerfile). */
  @func()
  base(): Container {
    return base(this.settings());
  }

  /**
   * The dev image: base plus build tools, the locked Python and JS deps and the source, editable.
   *
   * The dev layer: base + build tools and node, the locked Python deps (dev group) and JS deps
   * installed before the source, the source at the app dir installed editable (dev.Dockerfile).
   */
  @func()
  async dev(): Promise<Container> {
    return this.devImage(await this.project());
  }

  /**
   * The prod image: the app's venv built in a builder and copied onto base, with no compiler.
   *
   * The prod image: the venv (runtime + prod deps and the app, non-editable, JS bundled) built in a
   * builder and copied onto base (prod.Dockerfile). As the app user, its default command `uwsgi`
   * serves the app on port 5000; `worker` runs the Celery worker with beat, any other command runs
   * as given. Chain `export --path pycroft.tar`, `as-tarball`, `publish --address …` or `terminal` on it.
   *
   * @param wsgiApp The WSGI callable uwsgi serves, as module:callable, or module:factory() for uwsgi to call.
   * @param platform Build for this platform instead of the engine's (emulated where needed).
   * @param imageSource org.opencontainers.image.source label (the repository URL).
   * @param revision org.opencontainers.image.revision label (the commit).
   * @param version org.opencontainers.image.version label.
   * @param created org.opencontainers.image.created label (RFC 3339 time).
   * @param protocol What uwsgi speaks on port 5000: http, or uwsgi behind a proxy (as Pycroft's image is run, --uwsgi-socket).
   * @param celeryApp The Celery app of the image's `worker` command.
   */
  @func()
  async buildProd(
    wsgiApp: string = DEFAULTS.wsgiApp,
    platform?: Platform,
    imageSource?: string,
    revision?: string,
    version?: string,
    created?: string,
    protocol: string = DEFAULTS.protocol,
    celeryApp: string = DEFAULTS.celeryApp,
  ): Promise<Container> {
    const commands = prodCommands(wsgiApp, protocol, celeryApp);
    const target = platform === undefined ? undefined : checkPlatform(platform);
    await checkImagePlatform({ ...this.settings(), platform: target });
    return this.prodImage(await this.project(), commands, target, { source: imageSource, revision, version, created });
  }

  /**
   * Publishes the prod image for one or more platforms under every tag, as one manifest list.
   *
   * Builds the prod image for each platform and publishes it under every tag as one manifest list;
   * prints the digest-pinned references, one per line.
   *
   * @param address Image repository without tag, e.g. registry.agdsn.de/agdsn/coreos/pycroft/pycroft.
   * @param tag Tags to publish (repeatable); default: latest.
   * @param platform Platforms of the manifest list (repeatable); default: the engine's.
   * @param username Registry user, together with --password.
   * @param password Registry password or token.
   * @param wsgiApp The WSGI callable uwsgi serves, as module:callable, or module:factory() for uwsgi to call.
   * @param imageSource org.opencontainers.image.source label.
   * @param revision org.opencontainers.image.revision label.
   * @param version org.opencontainers.image.version label.
   * @param created org.opencontainers.image.created label.
   * @param protocol What uwsgi speaks on port 5000: http, or uwsgi behind a proxy.
   * @param celeryApp The Celery app of the image's `worker` command.
   */
  @func({ cache: "never" })
  async publish(
    address: string,
    tag: string[] = [],
    platform: Platform[] = [],
    username?: string,
    password?: Secret,
    wsgiApp: string = DEFAULTS.wsgiApp,
    imageSource?: string,
    revision?: string,
    version?: string,
    created?: string,
    protocol: string = DEFAULTS.protocol,
    celeryApp: string = DEFAULTS.celeryApp,
  ): Promise<string> {
    const commands = prodCommands(wsgiApp, protocol, celeryApp);
    const platforms = platform.length > 0 ? platform.map(checkPlatform) : [await dag.defaultPlatform()];
    await Promise.all(platforms.map((p) => checkImagePlatform({ ...this.settings(), platform: p })));
    const project = await this.project();
    const release: ReleaseInfo = { source: imageSource, revision, version, created };
    const variants = platforms.map((p) => this.prodImage(project, commands, p, release));
    const refs = await publishImage(variants, { address, tags: tag, username, password });
    return refs.join("\n");
  }

  /**
   * PostgreSQL as Pycroft's test db, data on tmpfs.
   *
   * Database pycroft, the source's init SQL, tuned for speed.
   */
  @func()
  async postgres(): Promise<Service> {
    return this.serviceNamed("db");
  }

  /**
   * OpenLDAP as Pycroft's ldap service, base DN dc=agdsn,dc=de, data on tmpfs.
   *
   * slapd with MDB, ppolicy and the source's schemas.
   */
  @func()
  async openldap(): Promise<Service> {
    return this.serviceNamed("ldap");
  }

  /** RabbitMQ with management as Pycroft's mq service, user celery, data on tmpfs. */
  @func()
  async rabbitmq(): Promise<Service> {
    return this.serviceNamed("mq");
  }

  /**
   * Keycloak with the source's test realm, for Pycroft's OIDC tests.
   *
   * start-dev's settings: plain HTTP, a file database.
   */
  @func()
  async keycloak(): Promise<Service> {
    return this.serviceNamed("keycloak", true);
  }

  /**
   * One Celery worker of the app from the dev image, with its own db, ldap and mq services.
   *
   * One Celery worker of the app from the dev image, against its own db, ldap and mq services (compose's
   * `dev-celery-worker`): by default `celery-worker` on the app's default queue. Its name is its
   * hostname and its Celery node's (`NAME@HOST`); `dev-stack` and `test` start several on one broker
   * with `--worker`.
   *
   * @param celeryApp The Celery app the worker runs.
   * @param name The worker's name: its hostname, and its Celery node's NAME@HOST.
   * @param queues The queues it consumes (celery --queues; repeatable); default: the app's default queue.
   * @param concurrency Its worker processes (celery --concurrency), 1 to 64; default: Celery's, one per core.
   */
  @func()
  async worker(celeryApp: string = DEFAULTS.celeryApp, name: string = DEFAULTS.workerName, queues: string[] = [], concurrency?: number): Promise<Service> {
    const spec = checkWorker({ name, queues, concurrency });
    const storage = this.tmpfs();
    const run = await this.run(storage, false);
    return celeryWorker(run.app, checkCeleryApp(celeryApp), storage, spec);
  }

  /**
   * Runs the test suite with pytest against Pycroft's test services, fresh on tmpfs.
   *
   * Runs pytest in the dev image with the JS bundle built and what Pycroft's docker-compose.test.yml
   * starts, each fresh on tmpfs and bound under Pycroft's hostnames: db, ldap and mq, the dummy hades
   * worker when the source has helpers/dummy_celery_worker.py, keycloak when it has
   * docker/keycloak/test-realm.json. Returns pytest's output; fails with its summary when a test
   * fails. Coverage is not measured: test-report measures it, with Pycroft CI's packages.
   *
   * @param args Arguments for pytest, e.g. --args=-k,ldap or --args=-m,"not legacy".
   * @param withWorker Start the dummy worker (default: when the source has it); false leaves it out.
   * @param withKeycloak Start keycloak (default: when the source has its test realm); false leaves it out.
   * @param shards Split the test files over this many pytest processes, each with its own services, and
   * merge their results: worth it with a core per shard. 1 (the default) is one process.
   * @param worker Also start a Celery worker of the app (pycroft.task) as NAME:QUEUE[+QUEUE…][:CONCURRENCY]
   * (repeatable), e.g. --worker signer:timestamp+snapshot:2: all on the one broker, ready before pytest starts.
   */
  @func({ cache: "never" })
  @check()
  async test(args: string[] = [], withWorker?: boolean, withKeycloak?: boolean, shards = 1, worker: string[] = []): Promise<string> {
    const { output, exitCode } = await this.runTests(args, withWorker, withKeycloak, shards, false, worker);
    if (exitCode !== 0) {
      throw new Error(`pytest failed with exit code ${exitCode}:\n${summary(output)}`);
    }
    return output;
  }

  /**
   * Runs the tests like `test` and returns the reports CI publishes (JUnit, coverage, log).
   *
   * Runs the tests like `test`, measuring the coverage of Pycroft CI's packages, and never fails on
   * test failures: returns the reports directory (junit.xml, coverage.xml, htmlcov/, pytest.log and
   * exit-code) for CI to publish. With shards, one report of all of them.
   *
   * @param args Arguments for pytest.
   * @param withWorker Start the dummy worker (default: when the source has it); false leaves it out.
   * @param withKeycloak Start keycloak (default: when the source has its test realm); false leaves it out.
   * @param shards Split the test files over this many pytest processes, each with its own services.
   * @param worker Also start a Celery worker of the app (pycroft.task) as NAME:QUEUE[+QUEUE…][:CONCURRENCY]
   * (repeatable), e.g. --worker signer:timestamp+snapshot:2: all on the one broker, ready before pytest starts.
   */
  @func({ cache: "never" })
  async testReport(args: string[] = [], withWorker?: boolean, withKeycloak?: boolean, shards = 1, worker: string[] = []): Promise<Directory> {
    return (await this.runTests(args, withWorker, withKeycloak, shards, true, worker)).reports;
  }

  /**
   * Keeps the test services up and runs pytest on request, with live edits (see `watcher`).
   *
   * What Pycroft's test compose starts, kept running, with pytest on demand and live edits: as
   * `docker compose run --rm test-app test …` leaves test-db, test-ldap, test-mq (and the dummy
   * worker and keycloak) up between runs, so that a run after an edit costs pytest's own time, with
   * nothing to build or start. Port 5099 takes every request with the token: POST /files and /delete
   * as dev-stack's live edits, and POST /run with pytest's arguments, one a line, which answers with
   * pytest's output as it comes and a last line `exit-code: N`. Run it with
   * `dagger call test-stack --sync-token env://PYCROFT_SYNC_TOKEN up --ports 5099:5099`; the
   * `watcher` function's script (`--run PYTEST_ARG…`) sends each saved edit and runs pytest after
   * it. Each run's pytest is started before it is asked for, with what the last run imported from
   * the venv already imported; the app's own modules are imported by the run, after the edits. The
   * services keep what a run leaves (Pycroft's conftest recreates its schema each session); `test`
   * is the run that starts from nothing.
   *
   * @param syncToken Take edits and runs from whoever has this token (e.g. env://PYCROFT_SYNC_TOKEN).
   * @param withWorker Start the dummy worker (default: when the source has it); false leaves it out.
   * @param withKeycloak Start keycloak (default: when the source has its test realm); false leaves it out.
   * @param startAhead Start each run's pytest before it is asked for, with the venv's imports of the last run done (false: a new pytest process per run).
   * @param worker Also start a Celery worker of the app (pycroft.task) as NAME:QUEUE[+QUEUE…][:CONCURRENCY]
   * (repeatable), e.g. --worker signer:timestamp+snapshot:2: all on the one broker, kept up with the rest.
   */
  @func()
  async testStack(syncToken: Secret, withWorker?: boolean, withKeycloak?: boolean, startAhead = true, worker: string[] = []): Promise<Service> {
    const { app } = await this.testApp(await this.suite([], withWorker, withKeycloak, worker), this.tmpfs());
    return pytestOnDemand(this.settings(), app, syncToken, startAhead);
  }

  /**
   * Returns pycroft-watch.py, the host side of live edits for `test-stack` and `dev-stack`.
   *
   * The host side of live edits, for `test-stack` and `dev-stack --sync-token` (Dagger has no bind
   * mount): a Python 3 script, standard library only, that watches a checkout and sends each saved
   * edit to the stack's port 5099; with `--run PYTEST_ARG…` it runs pytest in the test stack at once
   * and after each edit, printing its output and exit code. `dagger call watcher export --path
   * pycroft-watch.py`, then `python3 pycroft-watch.py --help`.
   */
  @func()
  watcher(): File {
    return watcherFile();
  }

  /**
   * A shell in `test`'s app container with the test services bound (`just test-shell`).
   *
   * A shell in `test`'s app container with what Pycroft's test compose starts bound, fresh on tmpfs:
   * Pycroft's `just test-shell` (`docker compose run --rm test-app shell`), for pytest by hand, e.g.
   * `--pdb` on a failing test: `dagger call test-shell terminal`.
   *
   * @param withWorker Start the dummy worker (default: when the source has it); false leaves it out.
   * @param withKeycloak Start keycloak (default: when the source has its test realm); false leaves it out.
   * @param worker Also start a Celery worker of the app (pycroft.task) as NAME:QUEUE[+QUEUE…][:CONCURRENCY]
   * (repeatable), e.g. --worker signer:timestamp+snapshot:2: all on the one broker, e.g. to send them tasks by hand.
   */
  @func()
  async testShell(withWorker?: boolean, withKeycloak?: boolean, worker: string[] = []): Promise<Container> {
    const { app } = await this.testApp(await this.suite([], withWorker, withKeycloak, worker), this.tmpfs());
    return shellInto(app);
  }

  /**
   * Applies the migrations (alembic upgrade head) to a fresh PostgreSQL.
   *
   * Applies the migrations (alembic upgrade head) to a fresh PostgreSQL, the only service it starts:
   * a check that they apply. Migrations that start from a production schema rather than an empty
   * database (Pycroft's first one alters `subnet`) get it loaded first with --db-init or
   * --db-init-file, as Pycroft's `just schema-import` loads it before `alembic upgrade head`.
   *
   * @param command The migration command.
   * @param dbInit SQL files to load into the fresh database before the migrations: this directory's *.sql, in name order.
   * @param dbInitFile SQL files to load after --db-init's, in the order given (repeatable), e.g. Pycroft's
   * --db-init-file data/pycroft_schema.sql --db-init-file data/pycroft.sql.
   */
  @func({ cache: "never" })
  @check()
  async migrate(command: string = DEFAULTS.migrateCommand, dbInit?: Directory, dbInitFile?: File[]): Promise<string> {
    // The database alone, as Pycroft's dev-migrate depends on dev-db alone: no broker or ldap to wait for.
    const { services, image } = await this.run(this.tmpfs(), false);
    const init = await withDbInit({ image: this.settings().postgresImage, password: this.credentials().db, db: services.db!, dir: dbInit, files: dbInitFile });
    return migration(image.with(bindAll({ db: services.db! })).with(init), command).stdout();
  }

  /**
   * Lints the source with ruff and the settings in its pyproject.toml (`ruff check .`).
   *
   * Lints the source with ruff and its settings in pyproject.toml (Pycroft CI's `ruff check .`);
   * returns ruff's report, or fails with it when ruff finds a problem.
   *
   * @param outputFormat ruff's --output-format: full, concise, github (annotations on a GitHub runner), gitlab, junit, json, …
   */
  @func()
  @check()
  async lint(outputFormat: string = DEFAULTS.lintFormat): Promise<string> {
    const format = checkRuffFormat(outputFormat);
    const ran = this.devImage(await this.project()).with(ruff(format));
    return verdict("ruff", relativeTo(this.settings().appDir, await report(ran)));
  }

  /**
   * Type-checks the source with mypy (scripts/run_mypy.sh when the source has it).
   *
   * Type-checks the source with mypy as the source runs it: scripts/run_mypy.sh when it has one
   * (Pycroft's CI), else `mypy` with pyproject.toml's settings. Fails with mypy's errors.
   */
  @func()
  @check()
  async typecheck(): Promise<string> {
    const project = await this.project();
    return verdict("mypy", await report(this.devImage(project).with(mypy(project))));
  }

  /**
   * Builds the Sphinx docs in doc/ as Pycroft's CI does and returns the HTML.
   *
   * Builds the Sphinx docs in doc/ as Pycroft's CI does (`make SPHINXOPTS="-EN -w sphinx.log" -C doc
   * html`) and returns the HTML, e.g. for Pages: `docs export --path html`. A warning fails the build,
   * after every warning has been reported.
   *
   * @param allowWarnings Only report warnings (in the log) rather than fail on them, as Pycroft's CI does today.
   */
  @func()
  @check()
  async docs(allowWarnings: boolean = false): Promise<Directory> {
    const project = await this.project();
    const ran = this.devImage(project).with(sphinx(project, allowWarnings));
    verdict("sphinx", await report(ran));
    return ran.directory(DOCS_HTML);
  }

  /**
   * Returns Sphinx's warning log of the docs build, with paths relative to the source.
   *
   * Returns Sphinx's warning log (`-w sphinx.log`) of the build `docs --allow-warnings` runs, answered
   * from the engine's cache right after it, with the paths relative to the source as on the checkout:
   * for a CI step that turns its lines into annotations (ci/github/pycroft.yml). Kept apart from the
   * HTML, so Pages does not publish it. Returned whatever Sphinx's verdict; fails only without a log.
   */
  @func()
  async docsLog(): Promise<File> {
    const project = await this.project();
    return sphinxLog(this.devImage(project), project, this.settings().appDir);
  }

  /**
   * Builds the production JS bundle and returns web/static with dist/ and manifest.json.
   *
   * Builds the production JS bundle (Pycroft CI's `bun run bundle --prod`; npm for a package-lock.json)
   * and returns web/static with it: the hashed files in dist/ and the manifest.json the app reads.
   */
  @func()
  @check()
  async bundle(): Promise<Directory> {
    const bundle = jsBundle(this.settings(), this.source, await this.project());
    if (!bundle) throw new UsageError("the source has no package.json: there is no JS to bundle");
    return bundle;
  }

  /**
   * Flask's dev server on port 5000 after the migrations, with the dev services bound.
   *
   * The dev environment (docker-compose.dev.yml): flask's dev server on port 5000 with migrations
   * applied and db, ldap and mq bound; their data is kept on cache volumes across restarts.
   * Run it with `dagger call dev-env up --ports 5000:5000`; `dev-stack` adds the workers and keycloak
   * and publishes the services too. A fresh dev database can get a production schema and dump loaded
   * before the first migration: --db-init-file.
   *
   * @param migrateCommand Run before the server starts.
   * @param dbInit SQL files to load into the dev database before the migrations, once per data volume:
   * this directory's *.sql, in name order. A volume that holds a load keeps it and is not loaded again.
   * @param dbInitFile SQL files to load after --db-init's, in the order given (repeatable), e.g. Pycroft's
   * --db-init-file data/pycroft_schema.sql --db-init-file data/pycroft.sql.
   */
  @func()
  async devEnv(migrateCommand: string = DEFAULTS.migrateCommand, dbInit?: Directory, dbInitFile?: File[]): Promise<Service> {
    const project = await this.project();
    const run = await this.run({ kind: "volumes", project: project.name }, false, project);
    const init = await withDbInit({ image: this.settings().postgresImage, password: this.credentials().db, db: run.services.db!, dir: dbInit, files: dbInitFile });
    return devServer(run.app.with(init), migrateCommand);
  }

  /**
   * Pycroft's whole dev stack on its dev ports, its data kept across sessions (`dagger up`).
   *
   * Pycroft's whole dev stack (docker-compose.dev.yml) as one service: flask's dev server with the
   * migrations applied, the app's Celery worker, the dummy hades worker when the source has it, db,
   * ldap, mq, and keycloak when the source has its realm — one instance of each, on the dev data
   * volumes that dev-env and shell use too. Published on Pycroft's dev host ports: app 5000,
   * db 55432, ldap 389, mq 5672, its management UI 15672, keycloak 8080. Run it with `dagger up`
   * (it carries the up marker) or `dagger call dev-stack up`; `up --ports 1389:389 --ports …`
   * maps ports elsewhere (list each one wanted), e.g. where a non-root user cannot bind 389.
   *
   * With --sync-token, the app takes live edits on port 5099 and the bundler runs in watch mode beside
   * it: the `watcher` function's script watches a checkout and sends each change (docs/development.md).
   *
   * @param withKeycloak Start keycloak (default: when the source has its test realm); false leaves it out.
   * @param migrateCommand Run before the dev server starts.
   * @param celeryApp The Celery app the workers run.
   * @param syncToken Take live edits on port 5099 from whoever has this token (e.g. env://PYCROFT_SYNC_TOKEN).
   * @param dbInit SQL files to load into the dev database before the migrations, once per data volume:
   * this directory's *.sql, in name order. A volume that holds a load keeps it and is not loaded again.
   * @param dbInitFile SQL files to load after --db-init's, in the order given (repeatable), e.g. Pycroft's
   * --db-init-file data/pycroft_schema.sql --db-init-file data/pycroft.sql.
   * @param worker The app's Celery workers instead of the one celery-worker, as NAME:QUEUE[+QUEUE…][:CONCURRENCY]
   * (repeatable): e.g. --worker tasks:celery --worker signer:timestamp+snapshot:2, each under its name, from
   * the one app container, on the one broker.
   */
  @func()
  @up()
  async devStack(
    withKeycloak?: boolean,
    migrateCommand: string = DEFAULTS.migrateCommand,
    celeryApp: string = DEFAULTS.celeryApp,
    syncToken?: Secret,
    dbInit?: Directory,
    dbInitFile?: File[],
    worker: string[] = [],
  ): Promise<Service> {
    const celery = checkCeleryApp(celeryApp);
    const named = worker.length > 0 ? parseWorkers(worker) : [DEFAULT_WORKER];
    const project = await this.project();
    const storage: Storage = { kind: "volumes", project: project.name };
    const run = await this.run(storage, withKeycloak ?? project.hasKeycloakRealm, project);
    const workers = {
      ...Object.fromEntries(named.map((w) => [w.name, celeryWorker(run.app, celery, storage, w)])),
      ...(project.hasDummyWorker ? { "dummy-worker": dummyWorker(run.image, run.services.mq!, DEFAULTS.dummyWorker, storage) } : {}),
    };
    const init = await withDbInit({ image: this.settings().postgresImage, password: this.credentials().db, db: run.services.db!, dir: dbInit, files: dbInitFile });
    // The docs are served from the app container, so that live edits reach them too.
    const beside = project.docs ? [DOCS_SERVER] : [];
    const app = syncToken
      ? liveDevServer(this.settings(), run.app.with(init), project, syncToken, migrateCommand, beside)
      : devServer(run.app.with(init), migrateCommand, beside);
    const sync = { port: DEFAULTS.syncPort, host: "app", target: DEFAULTS.syncPort, what: "live edits" };
    const ports = [...DEFAULTS.devPorts.filter((p) => p.target !== DEFAULTS.docsPort || project.docs), ...(syncToken ? [sync] : [])];
    return publishPorts(base(this.settings()), { ...run.services, ...workers, app }, ports);
  }

  /**
   * The dev container with the dev services bound (`dagger call shell terminal`).
   *
   * The dev container with the dev environment's services bound: `dagger call shell terminal`. While a
   * dev stack runs in another call, join its services through their host ports instead of starting
   * the dev services here (which that stack holds): `shell --db tcp://localhost:55432 --ldap
   * tcp://localhost:389 --mq tcp://localhost:5672 terminal`.
   *
   * @param db Use this PostgreSQL (e.g. a dev stack's, tcp://localhost:55432) instead of starting one.
   * @param ldap Use this OpenLDAP (e.g. tcp://localhost:389) instead of starting one.
   * @param mq Use this RabbitMQ (e.g. tcp://localhost:5672) instead of starting one.
   */
  @func()
  async shell(db?: Service, ldap?: Service, mq?: Service): Promise<Container> {
    const project = await this.project();
    const run = await this.run({ kind: "volumes", project: project.name }, false, project);
    const given = Object.entries({ db, ldap, mq }).filter((e): e is [string, Service] => e[1] !== undefined);
    const joined = await Promise.all(
      given.map(async ([host, svc]) => [host, await atPort(base(this.settings()), svc, host, devPort(host))] as const),
    );
    return shellInto(run.image.with(bindAll({ ...run.services, ...Object.fromEntries(joined) })));
  }

  /** Validated options; the one place raw constructor input turns into `Settings`. */
  private settings(): Settings {
    return settings({
      uid: this.uid,
      gid: this.gid,
      user: this.user,
      home: this.home,
      venv: this.venv,
      appDir: this.appDir,
      pythonImage: this.pythonImage,
      uvVersion: this.uvVersion,
      aptPackages: this.aptPackages,
      noInstallPackages: this.noInstallPackage,
      aptMirror: this.aptMirror,
      pythonIndex: this.pythonIndex,
      postgresImage: this.postgresImage,
      rabbitmqImage: this.rabbitmqImage,
      debianImage: this.debianImage,
    });
  }

  private async project(): Promise<Project> {
    return vcsVersions(this.settings(), this.source, this.vcs, await inspect(this.source));
  }

  private devImage(project: Project): Container {
    return dev(this.settings(), this.source, project);
  }

  private prodImage(project: Project, commands: ProdCommands, platform: Platform | undefined, release: ReleaseInfo): Container {
    return prod({ ...this.settings(), platform }, this.source, project, commands, release);
  }

  private credentials(): Credentials {
    const { db, ldap, mq } = DEFAULTS.passwords;
    return {
      db: this.dbPassword ?? dag.setSecret("pycroft-db-password", db),
      ldap: this.ldapPassword ?? dag.setSecret("pycroft-ldap-password", ldap),
      mq: this.mqPassword ?? dag.setSecret("pycroft-mq-password", mq),
    };
  }

  private tmpfs(): Extract<Storage, { kind: "tmpfs" }> {
    return { kind: "tmpfs", runId: randomUUID() };
  }

  private stackOptions(storage: Storage, keycloak: boolean, project: Project): StackOptions {
    return {
      settings: this.settings(),
      source: this.source,
      project,
      credentials: this.credentials(),
      ldapContext: this.openldapContext,
      storage,
      keycloak,
    };
  }

  private async serviceNamed(host: string, keycloak = false): Promise<Service> {
    const storage = this.tmpfs();
    const spec = specs(this.stackOptions(storage, keycloak, await this.project())).find((s: ServiceSpec) => s.host === host);
    if (!spec) throw new UsageError(`no service named ${host}`);
    return serve(spec, storage);
  }

  /**
   * The dev image, bundled, with the app's environment and a stack of services bound; on the dev
   * volumes, with the dev user's state (histories) kept too.
   */
  private async run(storage: Storage, keycloak: boolean, project?: Project) {
    const options = this.stackOptions(storage, keycloak, project ?? (await this.project()));
    const services = stack(options);
    const built = await this.appImage(options.project);
    const image = storage.kind === "volumes" ? built.with(withDevState(options.settings, storage.project)) : built;
    return { services, image, app: image.with(bindAll(services)) };
  }

  /** The dev image, bundled, with the app's environment: what the tests and the dev services run in. */
  private async appImage(project: Project): Promise<Container> {
    const env = await appEnvironment(this.credentials(), DEFAULTS.ldapDomain, project.flaskApp);
    return this.devImage(project).with(withBundle(this.settings(), this.source, project)).with(withEnvironment(env));
  }

  /**
   * Runs the suite in one pytest process, or in N shards at once whose reports are then merged into
   * one. Options are checked before anything starts. Coverage is measured only for a run whose
   * reports are returned.
   */
  private async runTests(
    args: string[],
    withWorker: boolean | undefined,
    withKeycloak: boolean | undefined,
    shards: number,
    coverage: boolean,
    workers: string[],
  ): Promise<TestRun> {
    const count = checkShards(shards);
    const asked = await this.suite(args, withWorker, withKeycloak, workers);
    const suite = coverage ? { ...asked, coverage: asked.project.coveragePackages } : asked;
    return count === 1 ? this.runShard(suite) : this.runShards(suite, count);
  }

  /** A suite's options, checked: the dummy worker and keycloak follow the source unless asked otherwise. */
  private async suite(args: string[], withWorker: boolean | undefined, withKeycloak: boolean | undefined, workers: string[]): Promise<Suite> {
    const named = parseWorkers(workers);
    const project = await this.project();
    const worker = withWorker ?? project.hasDummyWorker;
    if (worker && !project.hasDummyWorker) {
      throw new UsageError(`--with-worker needs the dummy worker ${DEFAULTS.dummyWorker} in the source`);
    }
    return { project, args, keycloak: withKeycloak ?? project.hasKeycloakRealm, worker, workers: named };
  }

  /**
   * The app image with what Pycroft's test compose starts bound: its services and, when the suite
   * wants them, the dummy worker (bound to mq alone: it starts before keycloak is ready) and the
   * app's named workers (`extra`).
   */
  private async testApp(suite: Suite, storage: Storage) {
    const run = await this.run(storage, suite.keycloak, suite.project);
    const extra: Record<string, Service> = {
      ...(suite.worker ? { "dummy-worker": dummyWorker(run.image, run.services.mq!, DEFAULTS.dummyWorker, storage) } : {}),
      ...Object.fromEntries(suite.workers.map((w) => [w.name, celeryWorker(run.app, DEFAULTS.celeryApp, storage, w)])),
    };
    return { run, extra, app: run.app.with(bindAll(extra)) };
  }

  /**
   * The shards at once, each to its end (a shard whose services fail does not cut the others short),
   * then one report of all of them, merged in the app's image without services.
   */
  private async runShards(suite: Suite, count: number): Promise<TestRun> {
    const runs = await Promise.allSettled(Array.from({ length: count }, (_, i) => this.runShard(suite, { index: i + 1, count })));
    const failed = runs.flatMap((r, i) => (r.status === "rejected" ? [`shard ${i + 1}/${count}: ${(r.reason as Error).message ?? r.reason}`] : []));
    if (failed.length > 0) throw new Error(failed.join("\n\n"));
    const reports = runs.map((r) => (r as PromiseFulfilledResult<TestRun>).value.reports);
    const merged = (await this.appImage(suite.project)).with(mergeShards(this.settings(), suite.coverage, reports));
    return readRun(merged, this.settings());
  }

  /**
   * Starts what Pycroft's test compose starts (named errors if one never gets ready), runs pytest
   * (all of it, or one shard), reads the result, kills them.
   */
  private async runShard(suite: Suite, shard?: Shard): Promise<TestRun> {
    const storage = this.tmpfs();
    const { run, extra, app: bound } = await this.testApp(suite, storage);
    // The image builds while the services start (keycloak alone takes most of a minute).
    const [started, built] = await Promise.allSettled([startAll({ ...run.services, ...extra }, storage), run.image.sync()]);
    if (started.status === "rejected") throw started.reason;
    const stop = started.value;
    if (built.status === "rejected") {
      await stop();
      throw built.reason;
    }
    const s = this.settings();
    const app = shard ? bound.with(inShard(s, shard)) : bound;
    try {
      return await readRun(app.with(pytest(s, suite.coverage, suite.args, storage.runId)), s);
    } finally {
      // Killed without waiting: the result is read, and the kill took 1.7-2.3 s here (whatever is
      // left when the session ends, the engine kills too).
      void stop();
    }
  }
}

/** What a test run is about: the same for every shard. */
interface Suite {
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
interface TestRun {
  output: string;
  exitCode: number;
  reports: Directory;
}

/** Reads a run while its services are still up: nothing is left to run again once they are gone. */
async function readRun(ran: Container, s: Settings): Promise<TestRun> {
  return {
    output: await ran.stdout(),
    exitCode: await ran.exitCode(),
    reports: dag.directory().withDirectory(".", await ran.directory(reportDir(s)).sync()),
  };
}

/** The port the app reaches a dev service's host on (its first in `DEFAULTS.devPorts`). */
function devPort(host: string): number {
  return DEFAULTS.devPorts.find((p) => p.host === host)!.target;
}

/** The prod image's commands from the options, validated. */
function prodCommands(wsgiApp: string, protocol: string, celeryApp: string): ProdCommands {
  return { wsgiApp: checkWsgiApp(wsgiApp), protocol: checkProtocol(protocol), celeryApp: checkCeleryApp(celeryApp) };
}
