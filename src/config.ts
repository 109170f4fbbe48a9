/**
 * Pycroft's container conventions and every default of the module, in one typed place.
 *
 * The Dagger functions in `index.ts` take their argument defaults from `DEFAULTS` (it is `as const`
 * so the Dagger introspector can read the literal values into the CLI help); the stages take a
 * validated `Settings` value and never invent a default of their own.
 */
import type { Platform } from "@dagger.io/dagger";

/**
 * The module's options (the constructor's), one entry each: its default, which the constructor's
 * parameter takes (`as const`, so the Dagger introspector reads it into the CLI help), and the check
 * `settings()` runs on what the caller gave. The list options and the two URLs default to empty.
 */
export const OPTIONS = {
  uid: { default: 1000, check: id },
  gid: { default: 1000, check: id },
  user: { default: "pycroft", check: loginName },
  home: { default: "/opt/pycroft", check: absolutePath },
  venv: { default: "/opt/pycroft/venv", check: absolutePath },
  appDir: { default: "/opt/pycroft/app", check: absolutePath },
  pythonImage: { default: "python:3.12-slim-bookworm", check: image },
  /** uv as pinned by Pycroft's base.Dockerfile and CI. */
  uvVersion: { default: "0.9.28", check: exactVersion },
  aptPackages: { check: aptPackageNames },
  noInstallPackage: { check: pythonPackageNames },
  aptMirror: { check: url },
  pythonIndex: { check: url },
  /** The supported PostgreSQL major whose client Debian bookworm ships (postgresql-client in dev). */
  postgresImage: { default: "postgres:15-bookworm", check: image },
  rabbitmqImage: { default: "rabbitmq:3-management", check: image },
  /** Base of the slapd image built from `dockerfiles/openldap`. */
  debianImage: { default: "debian:bookworm-slim", check: image },
} as const;

type OptionName = keyof typeof OPTIONS;
type Check<K extends OptionName> = (typeof OPTIONS)[K]["check"];

/** The options as the caller gives them (`dagger call --uid …`), before their checks; any left out take their default. */
export type Options = { [K in OptionName]?: Parameters<Check<K>>[1] };

/** The checked options every stage works from, and the platform of a build. */
export type Settings = { -readonly [K in OptionName]: ReturnType<Check<K>> } & {
  /** Target platform of the images; the engine's own when unset. */
  platform?: Platform;
};

/** Every other default: of the functions' arguments, the services and the stacks. */
export const DEFAULTS = {
  keycloakImage: "quay.io/keycloak/keycloak:26.0",
  /** Where the app listens, in dev (flask) and prod (uwsgi) alike. */
  port: 5000,
  /**
   * The WSGI callable uwsgi serves in prod, as `module:callable`; a trailing `()` makes uwsgi call a
   * factory. Pycroft's app factory also wires the database session and the mail settings.
   */
  wsgiApp: "scripts.server_run:prepare_server()",
  /** How uwsgi serves in prod: `http`, or `uwsgi` behind a proxy (how Pycroft's image runs, `--uwsgi-socket`). */
  protocol: "http",
  /** FLASK_APP of the dev server and the flask CLI when the source has no `.flaskenv` saying it. */
  flaskApp: "scripts.server_run:prepare_server",
  /** Brings the database schema up to date (Pycroft's `dev-migrate`). */
  migrateCommand: "flask alembic upgrade head",
  /** The app's Celery app: the `worker` service and the prod image's `worker` command run it (Pycroft: `celery -A pycroft.task worker -B`). */
  celeryApp: "pycroft.task",
  /**
   * Pycroft's stand-in for the hades Celery worker (docker-compose.test.yml's `test-dummy-worker`),
   * run as a script so its tasks are named `dummy_tasks.*`; `test` starts it when the source has it.
   */
  dummyWorker: "helpers/dummy_celery_worker.py",
  /** The services' passwords when none is given, as in Pycroft's compose files. */
  passwords: { db: "password", ldap: "password", mq: "celery" },
  /** Worker processes of the dummy worker: its 10-second `magic_sleep` tasks must not queue behind each other. */
  dummyWorkerConcurrency: 4,
  /** The app's Celery worker's name (compose's `celery-worker` alias; its Celery node is `celery-worker@HOST`). */
  workerName: "celery-worker",
  /** The most processes one worker may fork (`--concurrency`): each is a copy of the app, on the engine's cores. */
  maxWorkerConcurrency: 64,
  /**
   * How long uv waits for its cache's lock, in seconds (its default is 300): builds share one uv cache
   * volume, and on a busy engine another build's compile of an sdist (uwsgi) can hold it longer.
   */
  uvLockTimeout: 1800,
  /** Keycloak's test realm; `test` starts keycloak for the OIDC tests when the source has it. */
  keycloakRealm: "docker/keycloak/test-realm.json",
  /**
   * The tests that use keycloak (from the source's root): a `test` whose arguments name only other
   * tests starts without it (`--with-keycloak` overrides). Pycroft's OIDC login test.
   */
  keycloakTests: ["tests/frontend/user/test_login.py"],
  /**
   * The tests that use the dummy worker (Pycroft's `hades_logs` marker's): a `test` whose arguments
   * name only other tests starts without it (`--with-worker` overrides).
   */
  dummyWorkerTests: ["tests/hades_logs", "tests/frontend/user/test_logs.py"],
  /** The cache volume where test runs keep the app's compiled modules for the next run (src/scripts/pycroft-pytest.py). */
  bytecodeVolume: "pycroft-bytecode",
  /** The packages Pycroft's CI measures coverage of (those the source has). */
  coveragePackages: ["pycroft", "web", "ldap_sync", "hades_logs"],
  /** ruff's report format for `lint` (`github` turns findings into annotations on a GitHub runner). */
  lintFormat: "full",
  /** How Pycroft's CI runs mypy; `typecheck` runs plain `mypy` when the source has no such script. */
  mypyScript: "scripts/run_mypy.sh",
  /** The Sphinx project (`conf.py`, built with its Makefile when it has one, as Pycroft's CI does). */
  docsDir: "doc",
  /** Where the JS bundle lands (`dist/` and `manifest.json`): what `bundle` returns. */
  bundleDir: "web/static",
  /** The LDAP domain of Pycroft's test and dev directory (base DN dc=agdsn,dc=de). */
  ldapDomain: "agdsn.de",
  /** How long a service may take to answer its health check before the call fails. */
  serviceStartSeconds: 120,
  /** The most pytest processes `test --shards` runs at once, each with its own stack of services. */
  maxShards: 16,
  /**
   * The dev stack's host ports: Pycroft's docker-compose.dev.yml publishes the app on 5000, the
   * database on 55432, RabbitMQ's management UI on 15672 and keycloak on 8080; ldap and the broker
   * are published too, for tools on the host. `up --ports HOST:PORT` maps them elsewhere.
   */
  devPorts: [
    { port: 5000, host: "app", target: 5000, what: "flask dev server" },
    { port: 55432, host: "db", target: 5432, what: "PostgreSQL" },
    { port: 389, host: "ldap", target: 389, what: "OpenLDAP" },
    { port: 5672, host: "mq", target: 5672, what: "RabbitMQ (AMQP)" },
    { port: 15672, host: "mq", target: 15672, what: "RabbitMQ management UI" },
    { port: 8080, host: "keycloak", target: 8080, what: "Keycloak" },
    { port: 2500, host: "mail", target: 2500, what: "debugging mail server (SMTP)" },
    { port: 5001, host: "app", target: 8000, what: "docs (sphinx-autobuild)" },
  ],
  /** Where Pycroft's debugging mail server (docker/mail.py) listens; the app's PYCROFT_SMTP_PORT. */
  mailPort: 2500,
  /** The source's debugging mail server: the dev stack runs it as `mail` when the source has it. */
  mailScript: "docker/mail.py",
  /** Where the dev stack serves the docs in the app container (compose's `dev-docs`: 8000, on the host 5001). */
  docsPort: 8000,
  /** Where `dev-stack --sync-token` takes live edits and `test-stack` edits and pytest runs (container, and dev-stack's host port); see src/live/receiver.ts. */
  syncPort: 5099,
  /**
   * Where the dev containers (dev-env, dev-stack, shell) keep what their user leaves behind (shell,
   * psql and Python histories): a cache volume under the home, so it outlives the session, as
   * compose's `home` volume does. The rest of the home is the image's (the venv, the app).
   */
  devStateDir: ".local/state",
} as const;

/**
 * What of the source never enters an image or a cache key: version control data, local envs,
 * installed JS deps, build and test output. The module drops it from `--source` at once
 * (`withoutVcs`); the live-edit watcher never sends it.
 */
export const SOURCE_EXCLUDES = [
  "**/.git",
  "**/.hg",
  "**/.svn",
  "**/.bzr",
  "**/.venv",
  "**/node_modules",
  "**/__pycache__",
  "**/.pytest_cache",
  "**/.mypy_cache",
  "**/.ruff_cache",
  "htmlcov",
  "**/*.egg-info",
  // A bundle built on the host would hide a broken bundle step.
  "web/static/dist",
  "web/static/manifest.json",
];

/** Git's data in a source: the checkout's .git directory, submodules' .git files (or directories) and what is in them. */
export const VCS_DATA = ["**/.git", "**/.git/**"];

/**
 * What never leaves the caller's machine with `--source` (`dagger call` applies it to the upload,
 * the tests' host directories too): `SOURCE_EXCLUDES` but git's data, which a build backend taking a
 * version from git tags (versioningit, setuptools-scm, hatch-vcs) needs; without git LFS's object
 * store, which no version needs. Split off at once (`vcsData`), it only computes those versions.
 * A list of literals: the Dagger runtime reads it from this file without running it.
 */
export const UPLOAD_EXCLUDES = [
  "**/.git/lfs",
  "**/.hg",
  "**/.svn",
  "**/.bzr",
  "**/.venv",
  "**/node_modules",
  "**/__pycache__",
  "**/.pytest_cache",
  "**/.mypy_cache",
  "**/.ruff_cache",
  "htmlcov",
  "**/*.egg-info",
  "web/static/dist",
  "web/static/manifest.json",
];

/**
 * What of the source no JS bundler reads: Python code, tests, docs and the Python project files. The
 * bundle is built from the rest, so an edit to these reuses it; an edit anywhere else rebuilds it.
 */
export const BUNDLE_IGNORES = [
  "**/*.py",
  "**/*.pyi",
  "pyproject.toml",
  "uv.lock",
  "tests",
  "doc",
  "deps",
  "helpers",
  "scripts/*.sh",
];

/** What the app needs at run time (Pycroft's base.Dockerfile). */
export const RUNTIME_PACKAGES = ["bash", "libpq5"] as const;

/** What building and developing needs on top (Pycroft's dev.Dockerfile; node/npm bundle the JS). */
export const BUILD_PACKAGES = [
  "build-essential",
  "git",
  "libpq-dev",
  "postgresql-client",
  "curl",
  "nodejs",
  "npm",
] as const;

/** A mistake in what the caller passed: reported as a plain message, never a stack trace. */
export class UsageError extends Error {
  override name = "UsageError";
}

const MAX_ID = 65534; // 65535 is "no id" to the kernel's setuid family; 0 would run the app as root

function id(name: string, value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > MAX_ID) {
    throw new UsageError(`${name} must be a whole number from 1 to ${MAX_ID}, got ${value}`);
  }
  return value;
}

function absolutePath(name: string, value: string): string {
  if (!value.startsWith("/") || /\s/.test(value) || value.split("/").includes("..")) {
    throw new UsageError(`${name} must be an absolute path without spaces or "..", got "${value}"`);
  }
  return value.replace(/\/+$/, "") || "/";
}

const USER_NAME = /^[a-z_][a-z0-9_-]{0,31}$/;
const APT_PACKAGE = /^[a-z0-9][a-z0-9+.:=~-]*$/;
// PEP 508 names, as uv.lock spells them.
const PYTHON_PACKAGE = /^[A-Za-z0-9](?:[A-Za-z0-9._-]*[A-Za-z0-9])?$/;

function loginName(name: string, value: string): string {
  if (!USER_NAME.test(value)) throw new UsageError(`${name} must be a lower-case login name (letters, digits, _ and -), got "${value}"`);
  return value;
}

function aptPackageNames(_name: string, value: readonly string[] = []): string[] {
  for (const pkg of value) {
    if (!APT_PACKAGE.test(pkg)) throw new UsageError(`"${pkg}" is not a Debian package name`);
  }
  return [...value];
}

function pythonPackageNames(name: string, value: readonly string[] = []): string[] {
  for (const pkg of value) {
    if (!PYTHON_PACKAGE.test(pkg)) throw new UsageError(`${name}: "${pkg}" is not a Python package name`);
  }
  return [...value];
}

function exactVersion(name: string, value: string): string {
  if (!/^\d+\.\d+\.\d+$/.test(value)) {
    throw new UsageError(`${name} must be an exact version such as ${OPTIONS.uvVersion.default}, got "${value}"`);
  }
  return value;
}

/** An http(s) URL without its trailing slashes; empty: none given. */
function url(name: string, value: string = ""): string | undefined {
  if (value === "") return undefined;
  let parsed: URL;
  try {
    parsed = new URL(value);
  } catch {
    throw new UsageError(`${name} must be a URL such as http://ftp.agdsn.de/debian, got "${value}"`);
  }
  if (parsed.protocol !== "http:" && parsed.protocol !== "https:") {
    throw new UsageError(`${name} must be an http(s) URL, got "${value}"`);
  }
  return value.replace(/\/+$/, "");
}

function image(name: string, value: string): string {
  if (!value || /\s/.test(value)) {
    throw new UsageError(`${name} must be an image reference such as python:3.12-slim-bookworm, got "${value}"`);
  }
  return value;
}

/** The OCI platforms an image can be built for here: Linux on the architectures Debian and Python ship. */
const PLATFORM = /^linux\/(amd64|arm64(\/v8)?|arm\/v[567]|386|ppc64le|s390x|riscv64)$/;

/** Refuses a platform no image can be built for, before anything is built. */
export function checkPlatform(value: Platform): Platform {
  if (!PLATFORM.test(value)) {
    throw new UsageError(`unknown platform "${value}": use linux/ARCH (amd64, arm64, arm/v7, 386, ppc64le, s390x, riscv64), e.g. linux/arm64`);
  }
  return value;
}

/**
 * Refuses a shard count that cannot run: each shard is a pytest process with a stack of services of
 * its own, so more than `DEFAULTS.maxShards` would only fight over the engine's cores and memory.
 */
export function checkShards(value: number): number {
  if (!Number.isInteger(value) || value < 1 || value > DEFAULTS.maxShards) {
    throw new UsageError(
      `shards must be a whole number from 1 to ${DEFAULTS.maxShards}, got ${value}: 1 runs the suite in one pytest process, N splits its files over N processes, each with its own services`,
    );
  }
  return value;
}

/** ruff's `--output-format` values (ruff 0.3 and later). */
export const RUFF_FORMATS = [
  "concise", "full", "json", "json-lines", "junit", "grouped", "github", "gitlab", "pylint", "rdjson", "azure", "sarif",
] as const;

export function checkRuffFormat(value: string): string {
  if (!(RUFF_FORMATS as readonly string[]).includes(value)) {
    throw new UsageError(`outputFormat must be one of ${RUFF_FORMATS.join(", ")} (ruff's --output-format), got "${value}"`);
  }
  return value;
}

/** Checks every option (a left-out one takes its default) into `Settings`, naming the first bad one. */
export function settings(raw: Options = {}): Settings {
  const checked: Record<string, unknown> = {};
  for (const [name, option] of Object.entries(OPTIONS) as [OptionName, { default?: unknown; check: (n: string, v: never) => unknown }][]) {
    checked[name] = option.check(name, (raw[name] ?? option.default) as never);
  }
  return checked as Settings;
}

/** `uid:gid` as Dagger's `owner` options want it. */
export function owner(s: Settings): string {
  return `${s.uid}:${s.gid}`;
}

const MODULE_PATH = String.raw`[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*)*`;
const WSGI_APP = new RegExp(String.raw`^${MODULE_PATH}:[A-Za-z_][A-Za-z0-9_]*(?:\(\))?$`);
const CELERY_APP = new RegExp(String.raw`^${MODULE_PATH}(?::[A-Za-z_][A-Za-z0-9_]*)?$`);

/** Checks uwsgi's `module:callable` (or `module:factory()`). */
export function checkWsgiApp(value: string): string {
  if (!WSGI_APP.test(value)) {
    throw new UsageError(`wsgiApp must be module:callable or module:factory(), such as ${DEFAULTS.wsgiApp}, got "${value}"`);
  }
  return value;
}

/** Checks a Celery app as `celery -A` takes it: a module, optionally `:attribute`. */
export function checkCeleryApp(value: string): string {
  if (!CELERY_APP.test(value)) {
    throw new UsageError(`celeryApp must be a module such as ${DEFAULTS.celeryApp} (optionally module:app), got "${value}"`);
  }
  return value;
}

/** The protocols uwsgi serves on the port: HTTP, or the uwsgi protocol behind a proxy. */
export const PROTOCOLS = ["http", "uwsgi"] as const;

export function checkProtocol(value: string): (typeof PROTOCOLS)[number] {
  const found = PROTOCOLS.find((p) => p === value);
  if (!found) throw new UsageError(`protocol must be ${PROTOCOLS.join(" or ")}, got "${value}"`);
  return found;
}

/** The hostnames the stacks' own services already have: no worker may take one of them. */
export const SERVICE_HOSTS = ["app", "db", "ldap", "mq", "keycloak", "mail", "dummy-worker"] as const;

/** One Celery worker of the app, started from the same app container as every other. */
export interface WorkerSpec {
  /** Its hostname in the stack and its Celery node name (`NAME@HOST`). */
  name: string;
  /** The queues it consumes (`--queues`); none: the app's default queue. */
  queues: string[];
  /** Its pool's processes (`--concurrency`); unset: Celery's default, one per core. */
  concurrency?: number;
}

/** A hostname label: what a service binding takes, and what reads well in Celery's `NAME@HOST`. */
const WORKER_NAME = /^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$/;
/** A queue name as Celery's `--queues` takes it (commas separate queues there); a leading digit is refused, see `WORKER_FORMAT`. */
const QUEUE = /^[A-Za-z_][A-Za-z0-9_.-]{0,254}$/;
const WORKER_FORMAT =
  "NAME:QUEUE[+QUEUE…][:CONCURRENCY], e.g. tasks:celery or signer:timestamp+snapshot:2 (dagger call splits list flags at commas: join queues with +)";

/** Checks one worker's name, queues and concurrency, as `worker` takes them and `--worker` spells them. */
export function checkWorker(raw: WorkerSpec): WorkerSpec {
  const { name, queues, concurrency } = raw;
  if (!WORKER_NAME.test(name)) {
    throw new UsageError(`worker name must be a hostname (lower-case letters, digits and -, at most 63), such as ${DEFAULTS.workerName}, got "${name}"`);
  }
  if ((SERVICE_HOSTS as readonly string[]).includes(name)) {
    throw new UsageError(`worker name "${name}" is the ${name} service's hostname: give the worker another name`);
  }
  for (const queue of queues) {
    if (!QUEUE.test(queue)) {
      const number = /^\d+$/.test(queue) ? ` (a concurrency after a comma? ${WORKER_FORMAT})` : "";
      throw new UsageError(`worker ${name}: queue "${queue}" must start with a letter or _ and hold only letters, digits, _, . and -${number}`);
    }
  }
  if (new Set(queues).size !== queues.length) throw new UsageError(`worker ${name}: a queue is named twice in ${queues.join(", ")}`);
  if (concurrency !== undefined && (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > DEFAULTS.maxWorkerConcurrency)) {
    throw new UsageError(`worker ${name}: concurrency must be a whole number from 1 to ${DEFAULTS.maxWorkerConcurrency}, got ${concurrency}`);
  }
  return concurrency === undefined ? { name, queues: [...queues] } : { name, queues: [...queues], concurrency };
}

/** Reads one `--worker` value, `NAME:QUEUE[+QUEUE…][:CONCURRENCY]`, and checks it. */
export function parseWorker(value: string): WorkerSpec {
  const parts = value.split(":");
  if (parts.length < 2 || parts.length > 3) throw new UsageError(`--worker "${value}" must be ${WORKER_FORMAT}`);
  const [name, queues, concurrency] = parts as [string, string, string | undefined];
  if (queues === "") throw new UsageError(`--worker "${value}" names no queue: ${WORKER_FORMAT}`);
  if (concurrency !== undefined && !/^\d+$/.test(concurrency)) {
    throw new UsageError(`--worker "${value}": the concurrency must be a whole number from 1 to ${DEFAULTS.maxWorkerConcurrency}, got "${concurrency}"`);
  }
  return checkWorker({ name, queues: queues.split("+"), concurrency: concurrency === undefined ? undefined : Number(concurrency) });
}

/** Reads every `--worker` value; two workers may share queues, but not a name. */
export function parseWorkers(values: string[]): WorkerSpec[] {
  const workers = values.map(parseWorker);
  const names = workers.map((w) => w.name);
  const twice = names.find((name, i) => names.indexOf(name) !== i);
  if (twice !== undefined) throw new UsageError(`two workers are named "${twice}": each --worker needs a name of its own`);
  return workers;
}

/** A file `--db-init` and `--db-init-file` load: plain SQL, as psql runs it (a pg_dump in its plain format too). */
const SQL_FILE = /\.sql$/;

/**
 * Which SQL files are loaded, in which order: the `--db-init` directory's top-level `*.sql` in the
 * byte order of their names (give them number prefixes to order them), then each `--db-init-file`
 * in the order given. A file that is no `.sql` file, or a directory without one, is a mistake.
 */
export function dbInitOrder(dirEntries: string[] | undefined, files: string[]): { fromDir: string[]; files: string[] } {
  const fromDir = (dirEntries ?? []).filter((name) => SQL_FILE.test(name) && !name.includes("/"));
  if (dirEntries !== undefined && fromDir.length === 0) {
    throw new UsageError(`--db-init holds no .sql file at its top level${dirEntries.length ? ` (it has ${dirEntries.slice(0, 5).join(", ")})` : ""}: it loads DIR/*.sql in name order`);
  }
  for (const name of files) {
    if (!SQL_FILE.test(name)) throw new UsageError(`--db-init-file "${name}" is no .sql file: give plain SQL files (a pg_dump in its plain format too)`);
  }
  return { fromDir: [...fromDir].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)), files };
}
