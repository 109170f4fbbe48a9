import { randomUUID } from "node:crypto";

import { Container, dag, Directory, File, Service } from "@dagger.io/dagger";

import { dbInitOrder } from "../config.js";
import { withSettings } from "../scripts/index.js";
import { Password, withPasswordVariable } from "./password.js";
import { DATABASE, SUPERUSER } from "./postgres.js";

/** Where the app container finds what the load said (`migrate` prints it before the migrations' output). */
export const DB_INIT_LOG = "/var/log/pycroft-db-init.log";

/** Where the loader keeps the files and what it said. */
const DIR = "/db-init";
const LOG = "/db-init.log";

/** How a load is marked in the database: the comment on it starts so. */
export const DB_INIT_MARK = "pycroft db-init";

/** The loader's script (src/scripts/load-db-init.sh), with the mark it looks for and sets. */
export const LOAD_DB_INIT = withSettings("load-db-init.sh", [`MARK="${DB_INIT_MARK}"`]);

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
  password: Password;
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
    .with(withPasswordVariable("PGPASSWORD", o.password))
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
