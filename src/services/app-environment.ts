import { createHash } from "node:crypto";

import { Container, dag } from "@dagger.io/dagger";

import { DEFAULTS } from "../config.js";
import { baseDn } from "./openldap.js";
import { isSecret, Password, reveal } from "./password.js";
import { Credentials } from "./stack.js";

/** An app environment: plain variables, and those holding a password given as a secret, which go in as secrets. */
export interface AppEnvironment {
  plain: Record<string, string>;
  secret: Record<string, string>;
  /**
   * Names the secrets made from the passwords: a digest of the given credentials' Dagger IDs, which
   * say where a secret comes from (`env://NAME`, a `setSecret` name) and never hold its value. Other
   * credentials get other names, and a name tells nothing about a password.
   */
  scope: string;
}

/**
 * Pycroft's environment for the app: every variable of docker-compose.base.yml's `dev-base`
 * service plus docker-compose.test.yml's additions (OIDC_*, TEST_HADES_*), pointing at the services
 * under their compose hostnames. The app, the tests, the shell and the workers all get the same.
 * Values holding a password given as a secret are returned apart so they reach the container as
 * secrets, never as plain variables in the image config or the logs; the defaults are public (password.ts).
 */
export async function appEnvironment(creds: Credentials, domain: string, flaskApp: string): Promise<AppEnvironment> {
  const [db, ldap, mq] = await Promise.all([reveal(creds.db), reveal(creds.ldap), reveal(creds.mq)]);
  const ids = await Promise.all([creds.db, creds.ldap, creds.mq].map((p) => (isSecret(p) ? p.id() : "default")));
  const plain: Record<string, string> = {
    FLASK_APP: flaskApp,
    // Flask 3 ignores it; compose sets it, and code may read it.
    FLASK_ENV: "development",
    PYTHONDEVMODE: "1",
    PYCROFT_API_KEY: "secret",
    PYCROFT_LDAP_HOST: "ldap",
    PYCROFT_LDAP_PORT: "389",
    PYCROFT_LDAP_BIND_DN: `cn=admin,${baseDn(domain)}`,
    PYCROFT_LDAP_BASE_DN: `ou=pycroft,${baseDn(domain)}`,
    PYCROFT_MAIL_ENVELOPE_FROM: "pycroft@agdsn.de",
    PYCROFT_MAIL_FROM: "AG DSN <support@agdsn.de>",
    PYCROFT_SMTP_HOST: "mail",
    PYCROFT_SMTP_PORT: String(DEFAULTS.mailPort),
    // Empty, as in compose: the mail settings require them to be set (Pycroft's MailConfig.from_env).
    PYCROFT_SMTP_USER: "",
    PYCROFT_SMTP_SSL: "",
    HADES_CELERY_APP_NAME: "dummy_tasks",
    SWDD_HASH_KEY: "key",
    MAIL_CONFIRM_URL: "http://localhost/sipa/register/confirm/{}",
    PASSWORD_RESET_URL: "http://localhost/sipa/reset-password/{}",
    // docker-compose.test.yml's OIDC placeholders (the keycloak test realm's client).
    OIDC_REDIRECT_URI: "http://localhost:5000/login",
    OIDC_CLIENT_ID: "pycroft-test",
    OIDC_CLIENT_ISSUER_URI: "http://keycloak:8080/realms/internal",
  };
  // Pycroft's and hades' Celery apps share the one broker, as in docker-compose.base.yml.
  const broker = `amqp://celery:${encodeURIComponent(mq)}@mq:5672/`;
  const resultBackend = `rpc://celery:${encodeURIComponent(mq)}@mq:5672/`;
  // Each variable that holds a password, by the password it holds.
  const holding: [Password, Record<string, string>][] = [
    [creds.db, { PYCROFT_DB_URI: `postgresql://postgres:${encodeURIComponent(db)}@db:5432/pycroft?options=-csearch_path%3Dpycroft,public` }],
    [creds.ldap, { PYCROFT_LDAP_BIND_PW: ldap }],
    [
      creds.mq,
      {
        PYCROFT_CELERY_BROKER_URI: broker,
        PYCROFT_CELERY_RESULT_BACKEND_URI: resultBackend,
        HADES_BROKER_URI: broker,
        HADES_RESULT_BACKEND_URI: resultBackend,
        TEST_HADES_BROKER_URI: broker,
        TEST_HADES_RESULT_BACKEND_URI: resultBackend,
      },
    ],
  ];
  const secret: Record<string, string> = {};
  for (const [password, vars] of holding) Object.assign(isSecret(password) ? secret : plain, vars);
  Object.assign(secret, { OIDC_CLIENT_SECRET: "uwADNIGphXRjmzavgZXtBdaWdWWil0QP", PYCROFT_SMTP_PASSWORD: "" });
  return { plain, secret, scope: digest(ids.join("\n")) };
}

/** Applies an `appEnvironment` to a container. */
export function withEnvironment(env: AppEnvironment) {
  return (c: Container): Container => {
    const withPlain = Object.entries(env.plain).reduce((acc, [k, v]) => acc.withEnvVariable(k, v), c);
    return Object.entries(env.secret).reduce(
      // A secret's name is its identity within a session (and in the cache): one per variable and credentials.
      (acc, [k, v]) => acc.withSecretVariable(k, dag.setSecret(`pycroft-${k}-${env.scope}`, v)),
      withPlain,
    );
  };
}

function digest(value: string): string {
  return createHash("sha256").update(value).digest("hex").slice(0, 16);
}
