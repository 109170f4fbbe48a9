// Builds the module object the way `dagger call --flag value …` does: named options, defaults for the rest.
import { Directory, Secret } from "@dagger.io/dagger";

import { Options as ModuleOptions } from "../../src/config.js";
import { Pycroft } from "../../src/index.js";

/** The constructor's named options: the validated ones of `config.ts` plus the service passwords. */
export type Options = Partial<ModuleOptions> & { dbPassword?: Secret; ldapPassword?: Secret; mqPassword?: Secret };

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
    o.noInstallPackages,
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

/**
 * The module options `npm run call` and test/pycroft take from the environment: PYCROFT_PYTHON_IMAGE,
 * and PYCROFT_NO_INSTALL_PACKAGES (space-separated) as --no-install-package.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): Options {
  return {
    pythonImage: env.PYCROFT_PYTHON_IMAGE,
    noInstallPackages: (env.PYCROFT_NO_INSTALL_PACKAGES ?? "").split(/\s+/).filter(Boolean),
  };
}
