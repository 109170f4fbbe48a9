// The object's state between the calls of a chain: `dagger call --db-password env:… test` runs the
// constructor in one call and `test` in the next, which reads the state the first one returned. A
// Secret made by setSecret inside the constructor does not outlive that call (the next one fails with
// "missing shared result"): the constructor keeps only what it was given.
import { dag, Directory, Secret } from "@dagger.io/dagger";
import { afterEach, describe, expect, it, vi } from "vitest";

import { OPTIONS, settings } from "../../src/config.js";
import { Context, State } from "../../src/context.js";
import { constructorParameters, newPycroft } from "../support/module.js";

afterEach(() => vi.restoreAllMocks());

describe("the state a chained call reads", () => {
  it("holds no secret the constructor made: with no password given, none is set until a function needs it", () => {
    const setSecret = vi.spyOn(dag, "setSecret");
    const pycroft = newPycroft(dag.directory(), dag.directory());
    expect(setSecret).not.toHaveBeenCalled();
    expect(Object.entries(pycroft).filter(([, v]) => v instanceof Secret)).toEqual([]);
  });

  it("keeps the passwords it was given", () => {
    const given = { dbPassword: dag.setSecret("db", "a"), ldapPassword: dag.setSecret("ldap", "b"), mqPassword: dag.setSecret("mq", "c") };
    const pycroft = newPycroft(dag.directory(), dag.directory(), given);
    expect(pycroft.dbPassword).toBe(given.dbPassword);
    expect(pycroft.ldapPassword).toBe(given.ldapPassword);
    expect(pycroft.mqPassword).toBe(given.mqPassword);
  });
});

describe("the options, written once", () => {
  it("has a constructor parameter for each entry of OPTIONS and an entry for each option parameter", () => {
    const options = constructorParameters().filter((p) => !["source", "openldapContext", "dbPassword", "ldapPassword", "mqPassword"].includes(p));
    expect(options).toEqual(Object.keys(OPTIONS));
  });

  it("carries every checked option to the next call of a chain in its one state field", () => {
    const pycroft = newPycroft(dag.directory(), dag.directory(), { uid: 1234, home: "/srv/pycroft/", aptPackages: ["vim"], noInstallPackage: ["docs-theme"] });
    // What the next call reads: the state as JSON, as the runtime hands it over, into a context.
    const next = new Context(JSON.parse(JSON.stringify({ options: pycroft.options })) as State);
    expect(next.settings).toEqual({ ...settings({}), uid: 1234, home: "/srv/pycroft", aptPackages: ["vim"], noInstallPackage: ["docs-theme"] });
    const plain = Object.entries(pycroft).filter(([, v]) => v !== undefined && !(v instanceof Directory) && !(v instanceof Secret));
    expect(plain.map(([k]) => k)).toEqual(["options"]);
  });

  it("defaults each left-out option to its OPTIONS default", () => {
    const s = JSON.parse(newPycroft(dag.directory(), dag.directory()).options);
    for (const [name, option] of Object.entries(OPTIONS)) {
      if ("default" in option) expect(s[name], name).toBe(option.default);
    }
  });

  it("fails at construction on a bad option, naming it", () => {
    expect(() => newPycroft(dag.directory(), dag.directory(), { gid: 0 })).toThrow("gid must be a whole number from 1 to 65534, got 0");
  });
});

describe("a call's context", () => {
  it("inspects the project once, however often the call asks for it", () => {
    const ctx = new Context(newPycroft(dag.directory(), dag.directory()));
    const first = ctx.project();
    first.catch(() => {}); // no engine here: the inspection itself fails, after the call asked for it
    expect(ctx.project()).toBe(first);
  });
});
