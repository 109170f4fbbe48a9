import { dag, File } from "@dagger.io/dagger";

import { ServiceSpec } from "./service.js";

export interface KeycloakOptions {
  image: string;
  /** The source's docker/keycloak/test-realm.json (Pycroft's OIDC test realm), if it has one. */
  realm?: File;
}

/** Keycloak in dev mode as Pycroft's `keycloak` service, for its OIDC tests. */
export function keycloak(o: KeycloakOptions): ServiceSpec {
  const container = dag
    .container()
    .from(o.image)
    .withEnvVariable("KC_BOOTSTRAP_ADMIN_USERNAME", "admin")
    .withEnvVariable("KC_BOOTSTRAP_ADMIN_PASSWORD", "admin")
    .withEnvVariable("KC_HEALTH_ENABLED", "true");
  return {
    host: "keycloak",
    container: o.realm ? container.withMountedFile("/opt/keycloak/data/import/realm-config.json", o.realm) : container,
    command: ["/opt/keycloak/bin/kc.sh", "start-dev", "--import-realm"],
    port: 8080,
    dataDirs: [],
    // The image has no curl; bash's /dev/tcp asks the management port's readiness endpoint.
    ready: `bash -c 'exec 3<>/dev/tcp/127.0.0.1/9000 && printf "GET /health/ready HTTP/1.1\\r\\nHost: localhost\\r\\nConnection: close\\r\\n\\r\\n" >&3 && grep -q "200 OK" <&3'`,
    startSeconds: 300,
  };
}
