import { randomUUID } from "node:crypto";

import { Container, dag, Directory, File, Secret, Service } from "@dagger.io/dagger";

import { dbInitOrder } from "../config.js";
import { DATABASE, SUPERUSER } from "./postgres.js";

/** Where the app container finds what the load said (`migrate` prints it before the migrations' output). */
export const DB_INIT_LOG = "/var/log/pycroft-db-init.log";

/** Where the loader keeps the files and what it said. */
const DIR = "/db-init";
const LOG = "/db-init.log";

/** How a load is marked in the database: the comment on it starts so. */
export const DB_INIT_MARK = "pycroft db-init";

/**
 * Loads the SQL files (`$3`…) into the database in one transaction, unless the database already holds
 * a load (its comment says so): a dev volume is loaded once, and what a failed load did is rolled
 * back. The transaction's advisory lock keeps two loaders of one session from both loading. Files run
 * with psql's ON_ERROR_STOP, as Pycroft's `schema-import` runs them; notices are left out. `$1` is
 * the log, `$2` the files' names as given, for the messages.
 */
export const LOAD_DB_INIT = `set -euo pipefail
log=$1 list=$2; shift 2
digest=$(for f in "$@"; do sha256sum < "$f"; done | sha256sum | cut -c1-16)
script=$(mktemp)
{
  printf '%s\\n' 'BEGIN;' \\
    "SELECT pg_advisory_xact_lock(hashtext('${DB_INIT_MARK}'));" \\
    "SELECT coalesce(shobj_description(oid, 'pg_database'), '') AS held FROM pg_database WHERE datname = current_database() \\\\gset" \\
    "SELECT :'held' LIKE '${DB_INIT_MARK} %' AS loaded \\\\gset" \\
    '\\if :loaded' '\\echo held :held' '\\else'
  for f in "$@"; do printf '\\\\i %s\\n' "$f"; done
  printf '%s\\n' "COMMENT ON DATABASE :\\"DBNAME\\" IS :'mark';" '\\echo loaded' '\\endif' 'COMMIT;'
} > "$script"
mark="${DB_INIT_MARK} sha256:$digest ($list), loaded $(date -u +%Y-%m-%dT%H:%M:%SZ)"
if ! said=$(PGOPTIONS="-c client_min_messages=warning" psql -X -q -v ON_ERROR_STOP=1 -v mark="$mark" -o /dev/null -f "$script"); then
  echo "db-init: nothing of $list was loaded: psql stopped at the error above, and the transaction was rolled back" >&2
  exit 1
fi
case $said in
  loaded) message="db-init: loaded $list into the database $PGDATABASE, in one transaction" ;;
  "held ${DB_INIT_MARK} sha256:$digest "*) message="db-init: not loaded again: the database already holds $list (\${said#held })" ;;
  held\\ *) message="db-init: not loaded: the database already holds other init SQL (\${said#held }) and keeps it. To load $list instead, drop what that SQL made and its mark (COMMENT ON DATABASE $PGDATABASE IS NULL), then start again" ;;
  *) echo "db-init: psql said neither loaded nor held: $said" >&2; exit 1 ;;
esac
printf '%s\\n' "$message" | tee "$log"`;

/** One SQL file to load, with the name it was given by. */
export interface InitFile {
  name: string;
  file: File;
}

/** The files of `--db-init` (its `*.sql`, in name order) and `--db-init-file` (in the order given), checked. */
export async function initFiles(dir: Directory | undefined, files: File[]): Promise<InitFile[]> {
  const [entries, names] = await Promise.all([dir?.entries(), Promise.all(files.map((f) => f.name()))]);
  const order = dbInitOrder(entries, names);
  return [...order.fromDir.map((name) => ({ name, file: dir!.file(name) })), ...files.map((file, i) => ({ name: names[i]!, file }))];
}

export interface DbInitOptions {
  /** The db service's image: its psql reads every meta-command its own pg_dump writes. */
  image: string;
  password: Secret;
  /** The db service the app is bound to. */
  db: Service;
  files: InitFile[];
}

/**
 * The loader: psql from the db's image, bound to the db, run again on every call (a dev volume may
 * have been loaded, or lost, since the last).
 */
export function dbInitLoader(o: DbInitOptions): Container {
  // Numbered, so psql's errors name the file and its place; the names kept to what a path takes unquoted.
  const paths = o.files.map((f, i) => `${DIR}/${String(i + 1).padStart(3, "0")}-${f.name.replace(/[^A-Za-z0-9._-]/g, "_")}`);
  return o.files
    .reduce((c, f, i) => c.withFile(paths[i]!, f.file), dag.container().from(o.image))
    .withServiceBinding("db", o.db)
    .withEnvVariable("PGHOST", "db")
    .withEnvVariable("PGUSER", SUPERUSER)
    .withEnvVariable("PGDATABASE", DATABASE)
    .withSecretVariable("PGPASSWORD", o.password)
    .withEnvVariable("PYCROFT_DB_INIT_RUN", randomUUID())
    .withExec(["bash", "-c", LOAD_DB_INIT, "load-db-init", LOG, o.files.map((f) => f.name).join(", "), ...paths]);
}

/**
 * The SQL files loaded into the db before the app container runs anything (`--db-init`,
 * `--db-init-file`): the app container gets what the load said, so it cannot start before the load
 * has ended. No files: the container as it is.
 */
export async function withDbInit(o: Omit<DbInitOptions, "files"> & { dir?: Directory; files?: File[] }): Promise<(c: Container) => Container> {
  const files = await initFiles(o.dir, o.files ?? []);
  if (files.length === 0) return (c) => c;
  const loaded = dbInitLoader({ ...o, files }).file(LOG);
  return (c) => c.withFile(DB_INIT_LOG, loaded);
}
