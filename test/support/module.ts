// Builds the module object the way `dagger call --flag value …` does: named options, defaults for the rest.
import { readFileSync } from "node:fs";

import { Directory, Secret } from "@dagger.io/dagger";
import ts from "typescript";

import { Options as ModuleOptions } from "../../src/config.js";
import { Pycroft } from "../../src/index.js";

/** The constructor's named options: the checked ones of `config.ts` plus the service passwords. */
export type Options = ModuleOptions & { dbPassword?: Secret; ldapPassword?: Secret; mqPassword?: Secret };

/** The constructor's parameter names in their order, read from its source as the Dagger runtime reads them. */
export function constructorParameters(): string[] {
  const path = new URL("../../src/index.ts", import.meta.url);
  const file = ts.createSourceFile(path.pathname, readFileSync(path, "utf8"), ts.ScriptTarget.ES2022, true);
  let names: string[] | undefined;
  const visit = (node: ts.Node) => {
    if (ts.isClassDeclaration(node) && node.name?.text === "Pycroft") {
      const ctor = node.members.find(ts.isConstructorDeclaration);
      names = ctor?.parameters.map((p) => p.name.getText(file));
    }
    ts.forEachChild(node, visit);
  };
  visit(file);
  if (!names) throw new Error("src/index.ts has no constructor of Pycroft");
  return names;
}

const PARAMETERS = constructorParameters();

/** `new Pycroft(…)` with the constructor's positional arguments filled from named options. */
export function newPycroft(source: Directory, openldapContext: Directory, o: Options = {}): Pycroft {
  const named: Record<string, unknown> = { ...o, source, openldapContext };
  const unknown = Object.keys(named).filter((name) => !PARAMETERS.includes(name));
  if (unknown.length > 0) throw new Error(`the constructor has no option ${unknown.join(", ")}`);
  const args = PARAMETERS.map((name) => named[name]) as ConstructorParameters<typeof Pycroft>;
  return new Pycroft(...args);
}

/**
 * The module options `npm run call` and test/pycroft take from the environment: PYCROFT_PYTHON_IMAGE,
 * and PYCROFT_NO_INSTALL_PACKAGES (space-separated) as --no-install-package.
 */
export function optionsFromEnv(env: NodeJS.ProcessEnv = process.env): Options {
  return {
    pythonImage: env.PYCROFT_PYTHON_IMAGE,
    noInstallPackage: (env.PYCROFT_NO_INSTALL_PACKAGES ?? "").split(/\s+/).filter(Boolean),
  };
}
