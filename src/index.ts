/**
 * Builds, tests and publishes Pycroft's containers: the base, dev and prod images, the test suite
 * against PostgreSQL, OpenLDAP and RabbitMQ services on tmpfs, and a dev environment — everything
 * Pycroft's Dockerfiles, `docker buildx bake` and docker-compose files did, as Dagger functions.
 *
 * Every function works without arguments on the example application in this repository; point
 * `--source` at a Pycroft checkout to run it on Pycroft.
 */
import { argument, check, Container, Directory, File, func, object, Platform, Secret, Service } from "@dagger.io/dagger";

import { up } from "./decorators.js";
import { DEFAULTS, OPTIONS, settings, UPLOAD_EXCLUDES } from "./config.js";
import { Context } from "./context.js";
import { base } from "./images/base.js";
import { vcsData, withoutVcs } from "./images/vcs.js";
import { buildProd, publish } from "./publish/release.js";
import { bundle, docs, docsLog, lint, typecheck } from "./checks/checks.js";
import { devEnv, devStack, migrate, shell, worker } from "./dev/stack.js";
import { watcherFile } from "./live/watcher.js";
import { runTests, test, testShell, testStack } from "./testing/run.js";

@object()
export class Pycroft {
  // The state every call of a chain reads (`dagger call --uid 1001 test`: the constructor, then `test`);
  // no functions of their own, so `dagger functions` lists only the verbs.
  /** The checked options (config.ts `OPTIONS`), as JSON: one field for all of them. */
  options: string;
  source: Directory;
  /** The upload's git data alone: the versions a build takes from git are computed from it (`vcsVersions`). */
  vcs: Directory;
  openldapContext: Directory;
  // Given secrets only: one made here with setSecret would not outlive this call (see Context).
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
   * @param dbPassword Password of the db service's `postgres` user (default: "password", as in Pycroft's compose files). A password given is a secret: the engine scrubs it from all output; the public defaults are passed as plain text.
   * @param ldapPassword Password of the ldap service's admin (default: "password").
   * @param mqPassword Password of the mq service's `celery` user (default: "celery").
   */
  constructor(
    @argument({ defaultPath: "./example", ignore: UPLOAD_EXCLUDES })
    source: Directory,
    @argument({ defaultPath: "./dockerfiles/openldap" })
    openldapContext: Directory,
    uid: number = OPTIONS.uid.default, gid: number = OPTIONS.gid.default, user: string = OPTIONS.user.default,
    home: string = OPTIONS.home.default, venv: string = OPTIONS.venv.default, appDir: string = OPTIONS.appDir.default,
    pythonImage: string = OPTIONS.pythonImage.default, uvVersion: string = OPTIONS.uvVersion.default,
    aptPackages: string[] = [], noInstallPackage: string[] = [], aptMirror: string = "", pythonIndex: string = "",
    postgresImage: string = OPTIONS.postgresImage.default, rabbitmqImage: string = OPTIONS.rabbitmqImage.default,
    debianImage: string = OPTIONS.debianImage.default,
    dbPassword?: Secret, ldapPassword?: Secret, mqPassword?: Secret,
  ) {
    // Checked here, so that a bad option fails at once, before anything is built.
    this.options = JSON.stringify(settings({
      uid, gid, user, home, venv, appDir, pythonImage, uvVersion, aptPackages, noInstallPackage, aptMirror, pythonIndex, postgresImage, rabbitmqImage, debianImage,
    }));
    this.source = withoutVcs(source);
    this.vcs = vcsData(source);
    this.openldapContext = openldapContext;
    this.dbPassword = dbPassword;
    this.ldapPassword = ldapPassword;
    this.mqPassword = mqPassword;
  }

  /** The base image: python, libpq5, the app user and an empty venv first on PATH (base.Dockerfile). */
  @func()
  base(): Container {
    return base(this.context().settings);
  }

  /** The dev image: base plus build tools, the locked Python and JS deps and the source, editable. */
  @func()
  async dev(): Promise<Container> {
    const ctx = this.context();
    return ctx.devImage(await ctx.project());
  }

  /**
   * The prod image: the app's venv built in a builder and copied onto base, with no compiler.
   *
   * Its command `uwsgi` serves the app on port 5000, `worker` runs Celery with beat (prod.Dockerfile).
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
    wsgiApp: string = DEFAULTS.wsgiApp, platform?: Platform, imageSource?: string, revision?: string, version?: string, created?: string,
    protocol: string = DEFAULTS.protocol, celeryApp: string = DEFAULTS.celeryApp,
  ): Promise<Container> {
    return buildProd(this.context(), { wsgiApp, protocol, celeryApp, source: imageSource, revision, version, created }, platform);
  }

  /**
   * Publishes the prod image for one or more platforms under every tag, as one manifest list.
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
    address: string, tag: string[] = [], platform: Platform[] = [], username?: string, password?: Secret,
    wsgiApp: string = DEFAULTS.wsgiApp, imageSource?: string, revision?: string, version?: string, created?: string,
    protocol: string = DEFAULTS.protocol, celeryApp: string = DEFAULTS.celeryApp,
  ): Promise<string> {
    const image = { wsgiApp, protocol, celeryApp, source: imageSource, revision, version, created };
    return publish(this.context(), image, { address, tags: tag, platforms: platform, username, password });
  }

  /** PostgreSQL as Pycroft's test db, data on tmpfs: database pycroft, the source's init SQL. */
  @func()
  async postgres(): Promise<Service> {
    return this.context().service("db");
  }

  /** OpenLDAP as Pycroft's ldap service, base DN dc=agdsn,dc=de, the source's schemas, on tmpfs. */
  @func()
  async openldap(): Promise<Service> {
    return this.context().service("ldap");
  }

  /** RabbitMQ with management as Pycroft's mq service, user celery, data on tmpfs. */
  @func()
  async rabbitmq(): Promise<Service> {
    return this.context().service("mq");
  }

  /** Keycloak in start-dev with the source's test realm, for Pycroft's OIDC tests. */
  @func()
  async keycloak(): Promise<Service> {
    return this.context().service("keycloak", true);
  }

  /**
   * One Celery worker of the app from the dev image, with its own db, ldap and mq services.
   *
   * @param celeryApp The Celery app the worker runs.
   * @param name The worker's name: its hostname, and its Celery node's NAME@HOST.
   * @param queues The queues it consumes (celery --queues; repeatable); default: the app's default queue.
   * @param concurrency Its worker processes (celery --concurrency), 1 to 64; default: Celery's, one per core.
   */
  @func()
  async worker(celeryApp: string = DEFAULTS.celeryApp, name: string = DEFAULTS.workerName, queues: string[] = [], concurrency?: number): Promise<Service> {
    return worker(this.context(), celeryApp, { name, queues, concurrency });
  }

  /**
   * Runs the test suite with pytest against Pycroft's test services, fresh on tmpfs.
   *
   * What docker-compose.test.yml starts, under its hostnames: db, ldap, mq, and the dummy hades worker
   * and keycloak when the source has them, unless the arguments name only tests that do not use them
   * (e.g. --args=tests/model/test_user.py). Returns pytest's output; fails with its summary.
   *
   * @param args Arguments for pytest, e.g. --args=-k,ldap or --args=-m,"not legacy".
   * @param withWorker Start the dummy worker (default: when the source has it and the arguments may reach the tests that use it, tests/hades_logs and tests/frontend/user/test_logs.py); false leaves it out.
   * @param withKeycloak Start keycloak (default: when the source has its test realm and the arguments may reach its OIDC test, tests/frontend/user/test_login.py); false leaves it out.
   * @param shards Split the test files over this many pytest processes, each with its own services, and merge their results: worth it with a core per shard.
   * @param worker Also start a Celery worker of the app as NAME:QUEUE[+QUEUE…][:CONCURRENCY] (repeatable), e.g. --worker signer:timestamp+snapshot:2, ready before the first test runs.
   */
  @func({ cache: "never" })
  @check()
  async test(args: string[] = [], withWorker?: boolean, withKeycloak?: boolean, shards = 1, worker: string[] = []): Promise<string> {
    return test(this.context(), { args, withWorker, withKeycloak, worker }, shards);
  }

  /**
   * Runs the tests like `test` and returns the reports CI publishes (JUnit, coverage, log).
   *
   * With the coverage of Pycroft CI's packages, never failing on a test: junit.xml, coverage.xml,
   * htmlcov/, pytest.log and exit-code.
   *
   * @param args Arguments for pytest.
   * @param withWorker Start the dummy worker (default: when the source has it and the arguments may reach the tests that use it, tests/hades_logs and tests/frontend/user/test_logs.py); false leaves it out.
   * @param withKeycloak Start keycloak (default: when the source has its test realm and the arguments may reach its OIDC test, tests/frontend/user/test_login.py); false leaves it out.
   * @param shards Split the test files over this many pytest processes, each with its own services.
   * @param worker Also start a Celery worker of the app as NAME:QUEUE[+QUEUE…][:CONCURRENCY] (repeatable).
   */
  @func({ cache: "never" })
  async testReport(args: string[] = [], withWorker?: boolean, withKeycloak?: boolean, shards = 1, worker: string[] = []): Promise<Directory> {
    return (await runTests(this.context(), { args, withWorker, withKeycloak, worker }, shards, true)).reports;
  }

  /**
   * Keeps the test services up and runs pytest on request, with live edits (see `watcher`).
   *
   * As compose's services left up: a run after an edit costs pytest's own time. Port 5099 takes, with
   * the token, live edits and POST /run with pytest's arguments (docs/development.md): `test-stack
   * --sync-token env://PYCROFT_SYNC_TOKEN up --ports 5099:5099`, then `watcher`'s script with `--run`.
   *
   * @param syncToken Take edits and runs from whoever has this token (e.g. env://PYCROFT_SYNC_TOKEN).
   * @param withWorker Start the dummy worker (default: when the source has it); false leaves it out.
   * @param withKeycloak Start keycloak (default: when the source has its test realm); false leaves it out.
   * @param startAhead Start each run's pytest before it is asked for, with the venv's imports of the last run done (false: a new pytest process per run).
   * @param worker Also start a Celery worker of the app as NAME:QUEUE[+QUEUE…][:CONCURRENCY] (repeatable), kept up with the rest.
   */
  @func()
  async testStack(syncToken: Secret, withWorker?: boolean, withKeycloak?: boolean, startAhead = true, worker: string[] = []): Promise<Service> {
    return testStack(this.context(), { withWorker, withKeycloak, worker }, syncToken, startAhead);
  }

  /**
   * Returns pycroft-watch.py, the host side of live edits for `test-stack` and `dev-stack`.
   *
   * Sends each saved edit to the stack's port 5099 (Dagger has no bind mount); with `--run PYTEST_ARG…`
   * runs pytest in the test stack after each: `dagger call watcher export --path pycroft-watch.py`.
   */
  @func()
  watcher(): File {
    return watcherFile();
  }

  /**
   * A shell in `test`'s app container with the test services bound (`just test-shell`).
   *
   * Fresh on tmpfs, for pytest by hand, e.g. `--pdb` on a failing test: `dagger call test-shell terminal`.
   *
   * @param withWorker Start the dummy worker (default: when the source has it); false leaves it out.
   * @param withKeycloak Start keycloak (default: when the source has its test realm); false leaves it out.
   * @param worker Also start a Celery worker of the app as NAME:QUEUE[+QUEUE…][:CONCURRENCY] (repeatable), e.g. to send it tasks by hand.
   */
  @func()
  async testShell(withWorker?: boolean, withKeycloak?: boolean, worker: string[] = []): Promise<Container> {
    return testShell(this.context(), { withWorker, withKeycloak, worker });
  }

  /**
   * Applies the migrations (alembic upgrade head) to a fresh PostgreSQL.
   *
   * Migrations that start from a production schema get it loaded first, as `just schema-import` does.
   *
   * @param command The migration command.
   * @param dbInit SQL files to load into the fresh database before the migrations: this directory's *.sql, in name order.
   * @param dbInitFile SQL files to load after --db-init's, in the order given (repeatable), e.g. --db-init-file data/pycroft_schema.sql --db-init-file data/pycroft.sql.
   */
  @func({ cache: "never" })
  @check()
  async migrate(command: string = DEFAULTS.migrateCommand, dbInit?: Directory, dbInitFile?: File[]): Promise<string> {
    return migrate(this.context(), command, { dir: dbInit, files: dbInitFile });
  }

  /**
   * Lints the source with ruff and the settings in its pyproject.toml (`ruff check .`).
   *
   * @param outputFormat ruff's --output-format: full, concise, github (annotations on a GitHub runner), gitlab, junit, json, …
   */
  @func()
  @check()
  async lint(outputFormat: string = DEFAULTS.lintFormat): Promise<string> {
    return lint(this.context(), outputFormat);
  }

  /** Type-checks the source with mypy (scripts/run_mypy.sh when the source has it). */
  @func()
  @check()
  async typecheck(): Promise<string> {
    return typecheck(this.context());
  }

  /**
   * Builds the Sphinx docs in doc/ as Pycroft's CI does and returns the HTML.
   *
   * `make SPHINXOPTS="-EN -w sphinx.log" -C doc html`; a warning fails it, after all are reported.
   *
   * @param allowWarnings Only report warnings (in the log) rather than fail on them, as Pycroft's CI does today.
   */
  @func()
  @check()
  async docs(allowWarnings: boolean = false): Promise<Directory> {
    return docs(this.context(), allowWarnings);
  }

  /**
   * Returns Sphinx's warning log of the docs build, with paths relative to the source.
   *
   * The log of `docs --allow-warnings`, for a CI step that turns its lines into annotations.
   */
  @func()
  async docsLog(): Promise<File> {
    return docsLog(this.context());
  }

  /** Builds the production JS bundle (`bun run bundle --prod`) and returns web/static with it. */
  @func()
  @check()
  async bundle(): Promise<Directory> {
    return bundle(this.context());
  }

  /**
   * Flask's dev server on port 5000 after the migrations, with the dev services bound.
   *
   * db, ldap and mq keep their data on cache volumes: `dagger call dev-env up --ports 5000:5000`.
   *
   * @param migrateCommand Run before the server starts.
   * @param dbInit SQL files to load into the dev database before the migrations, once per data volume: this directory's *.sql, in name order.
   * @param dbInitFile SQL files to load after --db-init's, in the order given (repeatable).
   */
  @func()
  async devEnv(migrateCommand: string = DEFAULTS.migrateCommand, dbInit?: Directory, dbInitFile?: File[]): Promise<Service> {
    return devEnv(this.context(), migrateCommand, { dir: dbInit, files: dbInitFile });
  }

  /**
   * Pycroft's whole dev stack on its dev ports, its data kept across sessions (`dagger up`).
   *
   * docker-compose.dev.yml as one service on app 5000, db 55432, ldap 389, mq 5672 and 15672, keycloak
   * 8080 (`up --ports 1389:389 …` maps them elsewhere); --sync-token: live edits (docs/development.md).
   *
   * @param withKeycloak Start keycloak (default: when the source has its test realm); false leaves it out.
   * @param migrateCommand Run before the dev server starts.
   * @param celeryApp The Celery app the workers run.
   * @param syncToken Take live edits on port 5099 from whoever has this token (e.g. env://PYCROFT_SYNC_TOKEN).
   * @param dbInit SQL files to load into the dev database before the migrations, once per data volume: this directory's *.sql, in name order.
   * @param dbInitFile SQL files to load after --db-init's, in the order given (repeatable).
   * @param worker The app's Celery workers instead of the one celery-worker, as NAME:QUEUE[+QUEUE…][:CONCURRENCY] (repeatable), e.g. --worker tasks:celery --worker signer:timestamp+snapshot:2.
   */
  @func()
  @up()
  async devStack(
    withKeycloak?: boolean, migrateCommand: string = DEFAULTS.migrateCommand, celeryApp: string = DEFAULTS.celeryApp,
    syncToken?: Secret, dbInit?: Directory, dbInitFile?: File[], worker: string[] = [],
  ): Promise<Service> {
    return devStack(this.context(), { withKeycloak, migrateCommand, celeryApp, syncToken, dbInit: { dir: dbInit, files: dbInitFile }, worker });
  }

  /**
   * The dev container with the dev services bound (`dagger call shell terminal`).
   *
   * Beside a running dev stack, join its services instead: `shell --db tcp://localhost:55432 terminal`.
   *
   * @param db Use this PostgreSQL (e.g. a dev stack's, tcp://localhost:55432) instead of starting one.
   * @param ldap Use this OpenLDAP (e.g. tcp://localhost:389) instead of starting one.
   * @param mq Use this RabbitMQ (e.g. tcp://localhost:5672) instead of starting one.
   */
  @func()
  async shell(db?: Service, ldap?: Service, mq?: Service): Promise<Container> {
    return shell(this.context(), { db, ldap, mq });
  }

  /** This call's context: built once at its start, from the state the constructor left. */
  private context(): Context {
    return new Context(this);
  }
}
