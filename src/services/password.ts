import { Container, Secret } from "@dagger.io/dagger";

/**
 * A service's password: a Secret when the caller gave one, else the default as plain text (public:
 * Pycroft's compose files hold it). Only a given one is a secret, because the engine scrubs a
 * secret's value from all output: the defaults "password" and "celery" would become *** in Pycroft's
 * test names and logs.
 */
export type Password = Secret | string;

/** Its value, for the connection settings that carry it. */
export function reveal(password: Password): Promise<string> {
  return typeof password === "string" ? Promise.resolve(password) : password.plaintext();
}

/** Whether it was given as a secret, so what carries it must be one too. */
export function isSecret(password: Password): password is Secret {
  return typeof password !== "string";
}

/** Sets a variable to the password: a secret variable when it is one. */
export function withPasswordVariable(name: string, password: Password) {
  return (c: Container): Container => (isSecret(password) ? c.withSecretVariable(name, password) : c.withEnvVariable(name, password));
}

/** Puts the password in a file at path: a mounted secret when it is one. */
export function withPasswordFile(path: string, password: Password) {
  return (c: Container): Container => (isSecret(password) ? c.withMountedSecret(path, password) : c.withNewFile(path, password, { permissions: 0o644 }));
}
