import { dag, Directory } from "@dagger.io/dagger";

import { Password, withPasswordVariable } from "./password.js";
import { ServiceSpec } from "./service.js";

/** The database Pycroft's URIs name, and the superuser they log in as. */
export const DATABASE = "pycroft";
export const SUPERUSER = "postgres";

/** Pycroft's test-db flags: durability off, since test data lives on tmpfs and dies with the run. */
export const TEST_TUNING = [
  "shared_buffers=64MB",
  "work_mem=128MB",
  "fsync=off",
  "full_page_writes=off",
  "wal_level=minimal",
  "max_wal_senders=0",
];

export interface PostgresOptions {
  image: string;
  password: Password;
  /** The source's docker/db/docker-entrypoint-initdb.d (Pycroft: the swdd schema), if it has one. */
  initScripts?: Directory;
  /** Apply `TEST_TUNING` (tests) or run stock settings (dev). */
  tuned: boolean;
}

/** PostgreSQL as Pycroft's `db` service: database `pycroft`, C locale, UTF-8. */
export function postgres(o: PostgresOptions): ServiceSpec {
  const container = dag
    .container()
    .from(o.image)
    .withEnvVariable("TZ", "Etc/UTC")
    .withEnvVariable("POSTGRES_DB", DATABASE)
    .withEnvVariable("POSTGRES_INITDB_ARGS", "--locale=C --encoding=UTF-8")
    .with(withPasswordVariable("POSTGRES_PASSWORD", o.password));
  return {
    host: "db",
    container: o.initScripts ? container.withMountedDirectory("/docker-entrypoint-initdb.d", o.initScripts) : container,
    command: ["docker-entrypoint.sh", "postgres", ...(o.tuned ? TEST_TUNING.flatMap((flag) => ["-c", flag]) : [])],
    port: 5432,
    dataDirs: ["/var/lib/postgresql/data"],
    // The postgres image's STOPSIGNAL: TERM would wait for every client to disconnect first.
    stopSignal: "INT",
    // Over TCP: the entrypoint's init-time server listens on the socket only, so this waits for the real one.
    ready: `pg_isready -q -h 127.0.0.1 -U ${SUPERUSER} -d ${DATABASE}`,
    probe: { kind: "postgres", port: 5432, user: SUPERUSER },
  };
}
