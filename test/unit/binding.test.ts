// What `dagger call` will see of the module, read by the Dagger runtime's own introspector.
import { beforeAll, describe, expect, it } from "vitest";

import { UPLOAD_EXCLUDES } from "../../src/config.js";
import { Introspected, introspect } from "../support/introspect.js";

let module: Introspected;
let pycroft: Introspected;

beforeAll(async () => {
  module = await introspect("src", "pycroft");
  pycroft = module.objects.Pycroft;
}, 60_000);

const FUNCTIONS = [
  "base", "dev", "buildProd", "publish",
  "postgres", "openldap", "rabbitmq", "keycloak", "worker",
  "test", "testReport", "testStack", "testShell", "watcher", "migrate", "devEnv", "devStack", "shell",
  "lint", "typecheck", "docs", "docsLog", "bundle",
];
/** What `dagger check` runs: Pycroft's CI jobs that pass or fail. */
const CHECKS = ["test", "migrate", "lint", "typecheck", "docs", "bundle"];

describe("the dagger call binding", () => {
  it("has the main object Pycroft with a module description", () => {
    expect(module.name).toBe("Pycroft");
    expect(module.description).toMatch(/^Builds, tests and publishes Pycroft's containers/);
  });

  it("exposes every stage as a function", () => {
    expect(Object.keys(pycroft.methods).sort()).toEqual([...FUNCTIONS].sort());
  });

  it("lists only functions in `dagger functions`: the options it keeps are no fields of their own", () => {
    const fields = Object.values<Introspected>(pycroft.properties);
    expect(fields.map((f) => f.name)).toContain("dbPassword"); // kept between chained calls all the same
    expect(fields.filter((f) => f.isExposed).map((f) => f.name)).toEqual([]);
  });

  it("marks Pycroft's CI jobs as checks, so `dagger check` runs them, and nothing else", () => {
    const checks = Object.values<Introspected>(pycroft.methods).filter((fn) => fn.isCheck).map((fn) => fn.name);
    expect(checks.sort()).toEqual([...CHECKS].sort());
    // `dagger check` calls them with no arguments.
    for (const name of CHECKS) {
      for (const arg of Object.values<Introspected>(pycroft.methods[name].arguments)) {
        expect(arg.isOptional || arg.defaultValue !== undefined, `${name} --${arg.name}`).toBe(true);
      }
    }
  });

  it("marks the dev stack, and only it, for `dagger up`: every marked service starts on its own ports", () => {
    const ups = Object.values<Introspected>(pycroft.methods).filter((fn) => fn.isUp).map((fn) => fn.name);
    expect(ups).toEqual(["devStack"]);
  });

  it("begins each function's help with a whole sentence on one line, which `dagger functions` shows", () => {
    for (const fn of Object.values<Introspected>(pycroft.methods)) {
      const [first, second] = fn.description.split("\n");
      expect(first, fn.name).toMatch(/^[A-Z`].{10,98}\.$/);
      expect(second ?? "", `${fn.name}: a blank line after the summary`).toBe("");
    }
  });

  it("documents every function and argument: the docstrings are the CLI help", () => {
    for (const fn of Object.values<Introspected>(pycroft.methods)) {
      expect(fn.description, fn.name).not.toBe("");
      for (const arg of Object.values<Introspected>(fn.arguments)) {
        expect(arg.description, `${fn.name} --${arg.name}`).not.toBe("");
      }
    }
    for (const arg of Object.values<Introspected>(pycroft._constructor.arguments)) {
      expect(arg.description, `constructor --${arg.name}`).not.toBe("");
    }
  });

  it("needs no arguments: the source defaults to the example app, options to Pycroft's values", () => {
    const args = pycroft._constructor.arguments;
    expect(args.source.defaultPath).toBe("./example");
    // One list, read by the runtime from config.ts: git's data goes up (versions taken from git tags
    // are computed from it), LFS's objects and other version control data, envs and JS deps never do.
    expect(args.source.ignore).toEqual(UPLOAD_EXCLUDES);
    expect(args.source.ignore).toEqual(expect.arrayContaining(["**/.git/lfs", "**/.hg", "**/node_modules", "**/.venv"]));
    expect(args.source.ignore).not.toContain("**/.git");
    expect(args.openldapContext.defaultPath).toBe("./dockerfiles/openldap");
    expect(args.uid.defaultValue).toBe(1000);
    expect(args.gid.defaultValue).toBe(1000);
    expect(args.user.defaultValue).toBe("pycroft");
    expect(args.venv.defaultValue).toBe("/opt/pycroft/venv");
    expect(args.appDir.defaultValue).toBe("/opt/pycroft/app");
    expect(args.pythonImage.defaultValue).toBe("python:3.12-slim-bookworm");
    for (const secret of ["dbPassword", "ldapPassword", "mqPassword"]) {
      expect(args[secret].isOptional, secret).toBe(true);
      expect(args[secret].type.name, secret).toBe("Secret");
    }
  });

  it("never answers test runs from the function cache", () => {
    // publish pushes: an answer from the cache would push nothing.
    for (const name of ["test", "testReport", "migrate", "publish"]) {
      expect(pycroft.methods[name].cache, name).toBe("never");
    }
    expect(pycroft.methods.buildProd.cache).toBeUndefined();
  });

  it("offers --shards on test and test-report: an integer, 1 unless given, with its help text", () => {
    for (const name of ["test", "testReport"]) {
      const shards = pycroft.methods[name].arguments.shards;
      expect(shards.type.kind, name).toBe("INTEGER_KIND");
      expect(shards.defaultValue, name).toBe(1);
      expect(shards.description, name).toMatch(/^Split the test files over this many pytest processes, each with its own services/);
    }
  });

  it("offers --start-ahead on test-stack: a boolean, true unless given, with its help text", () => {
    const ahead = pycroft.methods.testStack.arguments.startAhead;
    expect(ahead.type.kind).toBe("BOOLEAN_KIND");
    expect(ahead.defaultValue).toBe(true);
    expect(ahead.description).toBe("Start each run's pytest before it is asked for, with the venv's imports of the last run done (false: a new pytest process per run).");
  });

  it("returns chainable types", () => {
    const returns = (name: string) => pycroft.methods[name].returnType;
    expect(returns("base")).toMatchObject({ kind: "OBJECT_KIND", name: "Container" });
    expect(returns("buildProd")).toMatchObject({ kind: "OBJECT_KIND", name: "Container" });
    expect(returns("postgres")).toMatchObject({ kind: "OBJECT_KIND", name: "Service" });
    expect(returns("devEnv")).toMatchObject({ kind: "OBJECT_KIND", name: "Service" });
    expect(returns("testReport")).toMatchObject({ kind: "OBJECT_KIND", name: "Directory" });
    expect(returns("publish")).toMatchObject({ kind: "STRING_KIND" });
  });
});
