// The object's state between the calls of a chain: `dagger call --db-password env:… test` runs the
// constructor in one call and `test` in the next, which reads the state the first one returned. A
// Secret made by setSecret inside the constructor does not outlive that call (the next one fails with
// "missing shared result"): the constructor keeps only what it was given.
import { dag, Secret } from "@dagger.io/dagger";
import { afterEach, describe, expect, it, vi } from "vitest";

import { newPycroft } from "../support/module.js";

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
