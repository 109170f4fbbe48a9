import { dag, File } from "@dagger.io/dagger";

import { script, shellWords } from "../scripts/index.js";
import { ServiceSpec } from "./service.js";

export interface KeycloakOptions {
  image: string;
  /** The source's docker/keycloak/test-realm.json (Pycroft's OIDC test realm), if it has one. */
  realm?: File;
}

/** Keycloak's build-time options, as `start-dev` has them: its file database and the health endpoints. */
const BUILD_OPTIONS = ["--db=dev-file", "--health-enabled=true"];

/** Where the realm to import is put, as the official image's `--import-realm` reads it. */
const REALM = "/opt/keycloak/data/import/realm-config.json";

/** What else `start-dev` gives: plain HTTP, any hostname, one node with local caches (no cluster discovery). */
const START_OPTIONS = ["--http-enabled=true", "--hostname-strict=false", "--cache=local"];

/**
 * The JVM's options for a keycloak that starts once per test run and answers a few requests: the
 * client compiler only (C2's optimizing compiles cost CPU that the start, and the services starting
 * beside it, need more on two cores). 7.4-8.7 s to ready here against 9.0-9.8 s without.
 */
export const KEYCLOAK_JAVA_OPTS = "-XX:TieredStopAtLevel=1";

/** How long keycloak may take to get ready: the service's start period and the training start's limit. */
const START_SECONDS = 300;

/** The classes a start loads, archived by a training start (AppCDS): each start maps them instead of loading them. */
const CDS_ARCHIVE = "/opt/keycloak/data/keycloak.jsa";

/** The service's command: what `start-dev` gives, from the optimized build. */
const START = ["/opt/keycloak/bin/kc.sh", "start", "--optimized", ...START_OPTIONS];

/** The port of keycloak's health endpoints (its management interface). */
const MANAGEMENT_PORT = 9000;

/** Ready once the management port's readiness endpoint says so (src/scripts/keycloak-ready.sh). */
const READY = shellWords(["bash", "-c", script("keycloak-ready.sh"), "keycloak-ready", String(MANAGEMENT_PORT)]);

/**
 * A start in a layer, as the service starts, stopped once it is ready: the JVM then writes the classes
 * it loaded to `CDS_ARCHIVE` as it exits (`-XX:ArchiveClassesAtExit`, in this step's JAVA_OPTS_APPEND).
 * Fails, with keycloak's output above, when it exits or never gets ready, or no archive was written.
 */
export const CDS_TRAINING = script("keycloak-cds-training.sh");

/** The training start's command (see CDS_TRAINING). */
const TRAINING = ["bash", "-c", CDS_TRAINING, "cds-training", String(START_SECONDS), CDS_ARCHIVE, READY, ...START];

/**
 * Keycloak as Pycroft's `keycloak` service, for its OIDC tests: what `start-dev` gives (plain HTTP,
 * any hostname, the file database), started from an optimized build. `start-dev` re-runs Quarkus'
 * build step and, on a fresh container, creates its database and imports the realm at every start;
 * here `kc.sh build` and `kc.sh import` run once, in cached layers, and `start --optimized` only
 * starts: 8.5 s to ready on two cores, against 27 s for `start-dev --import-realm`. A training start
 * in a layer archives the classes a start loads, and each start maps them: 5.3 s against 8.6 s.
 */
export function keycloak(o: KeycloakOptions): ServiceSpec {
  const container = dag
    .container()
    .from(o.image)
    .withEnvVariable("JAVA_OPTS_APPEND", KEYCLOAK_JAVA_OPTS)
    .withExec(["/opt/keycloak/bin/kc.sh", "build", ...BUILD_OPTIONS])
    .withEnvVariable("KC_BOOTSTRAP_ADMIN_USERNAME", "admin")
    .withEnvVariable("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin");
  // The realm goes into the file database once, in a layer too: each start then finds its schema made
  // and the realm in it, rather than creating both (Liquibase's migrations take most of a start).
  const imported = o.realm
    ? container
        .withFile(REALM, o.realm)
        .withExec(["/opt/keycloak/bin/kc.sh", "import", "--optimized", "--file", REALM])
    : container;
  // After the import, so that the training start loads what a start with the realm loads.
  const trained = imported
    .withEnvVariable("JAVA_OPTS_APPEND", `${KEYCLOAK_JAVA_OPTS} -XX:ArchiveClassesAtExit=${CDS_ARCHIVE} -Xlog:cds=error,cds+dynamic=error`)
    .withExec(TRAINING)
    .withEnvVariable("JAVA_OPTS_APPEND", `${KEYCLOAK_JAVA_OPTS} -XX:SharedArchiveFile=${CDS_ARCHIVE}`);
  return {
    host: "keycloak",
    container: trained,
    command: START,
    port: 8080,
    dataDirs: [],
    ready: READY,
    probe: { kind: "http", port: MANAGEMENT_PORT, path: "/health/ready" },
    startSeconds: START_SECONDS,
  };
}
