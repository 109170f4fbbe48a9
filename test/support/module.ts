// Builds the module object the way `dagger call --flag value …` does: named options, defaults for the rest.
import { Directory, Secret } from "@dagger.io/dagger";

import { Pycroft } from "../../src/index.js";

export interface Options {
  uid?: number;
  gid?: number;
  user?: string;
  home?: string;
  venv?: string;
  appDir?: string;
  pythonImage?: string;
  uvVersion?: string;
  aptPackages?: string[];
  aptMirror?: string;
  pythonIndex?: string;
  postgresImage?: string;
  rabbitmqImage?: string;
  debianImage?: string;
  dbPassword?: Secret;
  ldapPassword?: Secret;
  mqPassword?: Secret;
}

/** `new Pycroft(…)` with the constructor's positional arguments filled from named options. */
export function newPycroft(source: Directory, openldapContext: Directory, o: Options = {}): Pycroft {
  return new Pycroft(
    source,
    openldapContext,
    o.uid,
    o.gid,
    o.user,
    o.home,
    o.venv,
    o.appDir,
    o.pythonImage,
    o.uvVersion,
    o.aptPackages,
    o.aptMirror,
    o.pythonIndex,
    o.postgresImage,
    o.rabbitmqImage,
    o.debianImage,
    o.dbPassword,
    o.ldapPassword,
    o.mqPassword,
  );
}
