// Which services `test` starts from the tests its arguments name.
import { describe, expect, it } from "vitest";

import { DEFAULTS } from "../../src/config.js";
import { mayReach } from "../../src/testing/reach.js";
import { exampleSource, module } from "../support/example.js";
import { Chain, steps, withFakeEngine } from "../support/fake-engine.js";

const APP = "/opt/pycroft/app";
const LOGIN = ["tests/frontend/user/test_login.py"];
const reaches = (...args: string[]) => mayReach(args, LOGIN, APP);

describe("mayReach", () => {
  it("a run that names no tests may reach every test, however -k or -m narrow it", () => {
    expect(reaches()).toBe(true);
    expect(reaches("-m", "not legacy")).toBe(true);
    expect(reaches("-k", "tests/model", "-x")).toBe(true);
    expect(reaches("--cov=pycroft", "-p", "no:cacheprovider")).toBe(true);
  });

  it("a run that names tests reaches those at, above or below a path, and no others", () => {
    expect(reaches("tests/model/test_user.py")).toBe(false);
    expect(reaches("tests/model", "tests/lib/test_mail.py::test_send")).toBe(false);
    expect(reaches("tests/frontend/user/test_logs.py")).toBe(false);
    expect(reaches("tests/frontend/user/test_login.pyc")).toBe(false);
    for (const at of ["tests/frontend/user/test_login.py", "tests/frontend/user/test_login.py::TestUserOidcLogin::test_login", "tests/frontend", "tests/frontend/", "tests", ".", "./tests/frontend/user"]) {
      expect(reaches("tests/model", at), at).toBe(true);
    }
    // From the app dir, as pytest would take them there.
    expect(reaches(`${APP}/tests/model`)).toBe(false);
    expect(reaches(`${APP}/tests/frontend`)).toBe(true);
    expect(reaches(APP)).toBe(true);
    // Elsewhere: what it holds is not known here.
    expect(reaches("/elsewhere/tests")).toBe(true);
    // A directory is reached through its files, not a file with a name it begins with.
    expect(mayReach(["tests/hades"], ["tests/hades_logs"], APP)).toBe(false);
    expect(mayReach(["tests/hades_logs/parsing"], ["tests/hades_logs"], APP)).toBe(true);
  });

  it("options before and between the tests named are read as pytest reads them", () => {
    expect(reaches("-x", "-v", "tests/model/test_user.py", "--durations=5")).toBe(false);
    expect(reaches("tests/model/test_user.py", "-k", "password")).toBe(false);
    expect(reaches("-k", "password", "tests/model/test_user.py")).toBe(false);
    expect(reaches("--", "tests/model")).toBe(false);
    expect(reaches("--", "tests/frontend")).toBe(true);
  });

  it("errs towards the service where an argument may be an option's value, or names modules", () => {
    // --ignore's and --deselect's values are paths that narrow: the run may still reach the rest.
    expect(reaches("--ignore", "tests/model")).toBe(true);
    expect(reaches("--deselect", "tests/model/test_user.py::test_a")).toBe(true);
    // A path after an option not known to be a flag may be its value: with another test named, it counts as named too.
    expect(reaches("tests/model", "--ignore", "tests/frontend/user")).toBe(true);
    expect(reaches("--durations", "5", "tests/model")).toBe(false);
    expect(reaches("--pyargs", "tests.model")).toBe(true);
  });

  it("the defaults name files and directories of Pycroft's suite, from its root", () => {
    for (const path of [...DEFAULTS.keycloakTests, ...DEFAULTS.dummyWorkerTests]) {
      expect(path).toMatch(/^tests\/[\w/]+(\.py)?$/);
    }
  });
});

describe("test starts keycloak and the dummy worker only for the tests that use them", () => {
  const bound = (pytest: Chain) => steps(pytest, "withServiceBinding").map((s) => s.args.alias);
  let lastChecks: { host: string; tests?: string[] }[] = [];
  const boundFor = async (args: string[], withWorker?: boolean, withKeycloak?: boolean) =>
    withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", "===== 5 passed in 1.00s =====\n");
      await module().test(args, withWorker, withKeycloak);
      const pytest = engine.chains("exitCode")[0]!;
      const checks = JSON.parse(steps(pytest, "withEnvVariable").find((s) => s.args.name === "PYCROFT_READY")!.args.value);
      lastChecks = checks;
      return { bound: bound(pytest), waited: checks.map((c: { host: string }) => c.host) };
    });

  it("a run of one model test file starts neither; a run naming the OIDC or the hades tests starts its service", async () => {
    expect(await boundFor(["tests/model/test_user.py"])).toEqual({ bound: ["db", "ldap", "mq"], waited: ["db", "ldap", "mq"] });
    expect((await boundFor(["tests/model", "tests/frontend/user/test_login.py::TestUserOidcLogin"])).bound).toEqual(["db", "ldap", "mq", "keycloak"]);
    expect((await boundFor(["-x", "tests/hades_logs"])).bound).toEqual(["db", "ldap", "mq", "dummy-worker"]);
    expect((await boundFor(["tests/frontend/user/test_logs.py"])).bound).toEqual(["db", "ldap", "mq", "dummy-worker"]);
    expect((await boundFor(["-m", "not legacy"])).bound).toEqual(["db", "ldap", "mq", "keycloak", "dummy-worker"]);
    // Started, they are waited for before the first of their tests; the others before the first test.
    expect(Object.fromEntries(lastChecks.map((c) => [c.host, c.tests]))).toEqual({
      db: undefined,
      ldap: undefined,
      mq: undefined,
      keycloak: DEFAULTS.keycloakTests,
      "dummy-worker": DEFAULTS.dummyWorkerTests,
    });
  });

  it("--with-worker and --with-keycloak decide over the tests named", async () => {
    expect((await boundFor(["tests/model/test_user.py"], true, true)).bound).toEqual(["db", "ldap", "mq", "keycloak", "dummy-worker"]);
    expect((await boundFor(["tests/frontend"], false, false)).bound).toEqual(["db", "ldap", "mq"]);
  });
});
