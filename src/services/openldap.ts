import { Directory } from "@dagger.io/dagger";

import { Password, withPasswordFile } from "./password.js";
import { ServiceSpec } from "./service.js";

export interface OpenldapOptions {
  /** The build context of the slapd image (this module's `dockerfiles/openldap`). */
  context: Directory;
  /** Debian image the slapd image is built on. */
  baseImage: string;
  /** A Debian mirror replacing deb.debian.org in the image build (`--apt-mirror`). */
  aptMirror?: string;
  /** Domain whose components make the base DN: agdsn.de → dc=agdsn,dc=de. */
  domain: string;
  /** Password of the admin `cn=admin,<base DN>`. */
  password: Password;
  /** The source's docker/ldap/schema (Pycroft: group-of-members.ldif), if it has one. */
  schemas?: Directory;
}

const PASSWORD_FILE = "/run/secrets/slapd-password";

/** The base DN of a DNS domain. */
export function baseDn(domain: string): string {
  return domain
    .split(".")
    .map((part) => `dc=${part}`)
    .join(",");
}

/**
 * slapd from Debian packages as Pycroft's `ldap` service: no maintained official image exists and
 * `dinkel/openldap` is abandoned, so the image is built from `dockerfiles/openldap`.
 */
export function openldap(o: OpenldapOptions): ServiceSpec {
  const container = o.context
    .dockerBuild({
      buildArgs: [
        { name: "BASE_IMAGE", value: o.baseImage },
        { name: "APT_MIRROR", value: o.aptMirror ?? "" },
      ],
    })
    .withEnvVariable("SLAPD_DOMAIN", o.domain)
    .with(withPasswordFile(PASSWORD_FILE, o.password))
    .withEnvVariable("SLAPD_PASSWORD_FILE", PASSWORD_FILE);
  return {
    host: "ldap",
    container: o.schemas ? container.withMountedDirectory("/etc/ldap/schema/custom", o.schemas) : container,
    command: ["/usr/local/bin/slapd-entrypoint"],
    port: 389,
    dataDirs: ["/var/lib/ldap", "/etc/ldap/slapd.d"],
    // A real bind as the admin, not just an open port.
    ready: `ldapwhoami -x -H ldap://127.0.0.1 -D cn=admin,${baseDn(o.domain)} -y ${PASSWORD_FILE}`,
    // A client has no password file: any answer to an anonymous bind (slapd opens its port once configured).
    probe: { kind: "ldap", port: 389 },
  };
}
