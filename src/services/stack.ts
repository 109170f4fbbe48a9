import { Container, Directory, Service } from "@dagger.io/dagger";

import { DEFAULTS, Settings } from "../config.js";
import { Project } from "../images/project.js";
import { keycloak } from "./keycloak.js";
import { mail } from "./mail.js";
import { openldap } from "./openldap.js";
import { Password } from "./password.js";
import { postgres } from "./postgres.js";
import { rabbitmq } from "./rabbitmq.js";
import { serve, ServiceSpec, Storage } from "./service.js";

/** The backing services' passwords; the app's connection settings carry them too. */
export interface Credentials {
  db: Password;
  ldap: Password;
  mq: Password;
}

/** What a set of backing services is made from. */
export interface StackOptions {
  settings: Settings;
  source: Directory;
  project: Project;
  credentials: Credentials;
  /** Build context of the slapd image. */
  openldapContext: Directory;
  storage: Storage;
  keycloak?: boolean;
}

/** The specs of Pycroft's backing services, keyed by the hostname the app reaches them under. */
export function specs(o: StackOptions): ServiceSpec[] {
  const { settings: s, source, project, credentials } = o;
  const list = [
    postgres({
      image: s.postgresImage,
      password: credentials.db,
      initScripts: project.hasDbInit ? source.directory("docker/db/docker-entrypoint-initdb.d") : undefined,
      tuned: o.storage.kind === "tmpfs",
    }),
    openldap({
      context: o.openldapContext,
      baseImage: s.debianImage,
      aptMirror: s.aptMirror,
      domain: DEFAULTS.ldapDomain,
      password: credentials.ldap,
      schemas: project.hasLdapSchema ? source.directory("docker/ldap/schema") : undefined,
    }),
    rabbitmq({ image: s.rabbitmqImage, password: credentials.mq }),
  ];
  // Development only, as in compose: the debugging mail server.
  const dev = o.storage.kind === "volumes" && project.hasMailServer ? [mail(s, source.file(DEFAULTS.mailScript))] : [];
  return o.keycloak
    ? [...list, ...dev, keycloak({ image: DEFAULTS.keycloakImage, realm: project.hasKeycloakRealm ? source.file(DEFAULTS.keycloakRealm) : undefined })]
    : [...list, ...dev];
}

/** The services of these specs, by hostname. */
export function serveAll(list: ServiceSpec[], storage: Storage): Record<string, Service> {
  return Object.fromEntries(list.map((spec) => [spec.host, serve(spec, storage)]));
}

/** Binds every service under its hostname, as compose's network aliases did. */
export function bindAll(services: Record<string, Service>) {
  return (c: Container): Container =>
    Object.entries(services).reduce((acc, [host, svc]) => acc.withServiceBinding(host, svc), c);
}
