// The example application as the fake engine presents it, and the module built on it.
import { dag } from "@dagger.io/dagger";

import { FakeEngine, steps } from "./fake-engine.js";
import { newPycroft, Options } from "./module.js";

/** The example app's top level, as `Directory.entries` lists it. */
export const EXAMPLE_ENTRIES = ["pyproject.toml", "uv.lock", "deps/", "package.json", "package-lock.json", "docker/", "web/"];
export const EXAMPLE_DOCKER = [
  "db/docker-entrypoint-initdb.d/swdd.sql",
  "ldap/schema/group-of-members.ldif",
  "keycloak/test-realm.json",
];

/** Makes the fake engine answer like the example source, and secrets with their plaintext. */
export function exampleSource(engine: FakeEngine, entries = EXAMPLE_ENTRIES) {
  engine.respond("entries", entries);
  engine.respond("glob", EXAMPLE_DOCKER);
  engine.respond("plaintext", ({ parent }) => steps(parent, "setSecret").at(-1)?.args.plaintext);
}

/** The module on the example source, as `dagger call` builds it, plus the options a test sets. */
export function module(opts: Options = {}) {
  return newPycroft(dag.host().directory("example"), dag.host().directory("dockerfiles/openldap"), opts);
}
