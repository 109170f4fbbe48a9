// What the module reads from the source, and what each finding changes in the pipelines: the JS
// tool, FLASK_APP, the db init SQL and LDAP schemas, keycloak's realm, the dummy worker, mypy, docs.
import { describe, expect, it } from "vitest";

import { execs, formatChain, serviceOf as serviceChain, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { module, sourceOf } from "../support/example.js";

/** A uv project with the given files besides pyproject.toml and uv.lock. */
const uvProject = (files: Record<string, string> = {}) => ({ "pyproject.toml": "", "uv.lock": "", ...files });

describe("the JS tool", () => {
  it.each([
    ["bun.lock", "bun.lock"],
    ["bun.lockb", "bun.lockb"],
  ])("is bun for a source locked with %s: installed globally as root, then run as the app user", async (lockfile) => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ "package.json": "{}", [lockfile]: "", "package-lock.json": "{}" }));
      await (await module().dev()).sync();
      const chain = engine.lastChain();
      const setup = chain.findIndex((s) => s.field === "withExec" && (s.args.args as string[]).join(" ") === "npm install --global --no-audit --no-fund bun@1.1.26");
      expect(setup, formatChain(chain)).toBeGreaterThan(0);
      expect(steps(chain.slice(0, setup), "withUser").at(-1)?.args.name).toBe("root");
      expect(steps(chain.slice(setup), "withUser")[0]?.args.name).toBe("pycroft");
      // The manifests alone go in before the install, the lockfile bun's.
      const install = chain.findIndex((s) => s.field === "withExec" && (s.args.args as string[]).join(" ") === "bun install --frozen-lockfile");
      const manifests = steps(chain.slice(setup, install), "withFile").map((s) => s.args.path);
      expect(manifests).toEqual(expect.arrayContaining(["package.json", lockfile]));
      expect(manifests).not.toContain("package-lock.json");
      expect(step(chain, "withMountedCache", { path: "/opt/pycroft/.bun/install/cache" }).args.cache[0].args.key).toBe("pycroft-js-cache-bun");
    });
  });

  it("is npm for a package-lock.json, on npm's cache, with nothing to install first", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ "package.json": "{}", "package-lock.json": "{}" }));
      await (await module().bundle()).sync();
      const chain = engine.chains("sync").at(-1)!;
      expect(execs(chain).filter((e) => e.startsWith("npm"))).toEqual(["npm ci --no-audit --no-fund", "npm run bundle -- --prod"]);
      expect(step(chain, "withMountedCache", { path: "/opt/pycroft/.npm" }).args.cache[0].args.key).toBe("pycroft-js-cache-npm");
    });
  });

  it("refuses JS without a lockfile", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ "package.json": "{}" }));
      await expect(module().dev()).rejects.toThrow("the source has package.json but no package-lock.json or bun.lock: JS deps must be locked");
    });
  });

  it("is none without package.json: no node install, no bundle", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ "bun.lock": "" }));
      await (await module().dev()).sync();
      const run = execs(engine.lastChain()).join("\n");
      expect(run).not.toMatch(/bun|npm ci|npm run/);
    });
  });
});

describe("the app's environment", () => {
  it("takes FLASK_APP from the source's .flaskenv", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ ".flaskenv": "FLASK_DEBUG=1\nFLASK_APP=web.app:make_app\n" }));
      await (await module().devEnv()).sync();
      expect(step(engine.lastChain(), "withEnvVariable", { name: "FLASK_APP" }).args.value).toBe("web.app:make_app");
    });
  });

  it("falls back to Pycroft's FLASK_APP when .flaskenv does not say", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ ".flaskenv": "FLASK_DEBUG=1\n" }));
      await (await module().devEnv()).sync();
      expect(step(engine.lastChain(), "withEnvVariable", { name: "FLASK_APP" }).args.value).toBe("scripts.server_run:prepare_server");
    });
  });
});

describe("the services' data from the source", () => {
  it("loads the db init SQL and the LDAP schemas (.ldif) the source has, and starts keycloak with its realm", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(
        engine,
        uvProject({
          "docker/db/docker-entrypoint-initdb.d/01.sql": "",
          "docker/ldap/schema/a.ldif": "",
          "docker/keycloak/test-realm.json": "{}",
          "helpers/dummy_celery_worker.py": "",
        }),
      );
      await module().test();
      const started = engine.chains("start").map(serviceChain);
      const db = started.find((s) => s.args.includes("postgres"))!;
      expect(step(db.container, "withMountedDirectory", { path: "/docker-entrypoint-initdb.d" }).args.source.at(-1).args.path).toBe(
        "docker/db/docker-entrypoint-initdb.d",
      );
      const ldap = started.find((s) => s.args.includes("/usr/local/bin/slapd-entrypoint"))!;
      expect(step(ldap.container, "withMountedDirectory", { path: "/etc/ldap/schema/custom" }).args.source.at(-1).args.path).toBe("docker/ldap/schema");
      // keycloak and the dummy worker start too.
      expect(started.map((s) => s.args.at(-1))).toEqual(expect.arrayContaining(["--cache=local", "--without-gossip"]));
    });
  });

  it("loads nothing that is not there: no init SQL, no schema without an .ldif, no keycloak or worker", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ "docker/ldap/schema/README": "", "docker/db/README": "", "docker/keycloak/other.json": "" }));
      await module().testReport();
      const started = engine.chains("start").map(serviceChain);
      expect(started).toHaveLength(3);
      for (const s of started) expect(steps(s.container, "withMountedDirectory"), formatChain(s.container)).toEqual([]);
      // No coverage package in the source: test-report leaves what to measure to pytest-cov's own settings.
      expect(steps(engine.chains("exitCode")[0]!, "withExec").at(-1)!.args.args.at(-1)).toBe("--cov");
    });
  });

  it("starts keycloak without a realm when the source has none", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject());
      await (await module().keycloak()).sync();
      const { container } = serviceChain(engine.lastChain());
      expect(steps(container, "withFile")).toEqual([]);
      expect(execs(container).some((e) => e.includes("kc.sh import"))).toBe(false);
    });
  });
});

describe("checks on other layouts", () => {
  it("runs plain mypy without the source's script, and sphinx-build for docs without a Makefile", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ "doc/conf.py": "", "doc/index.rst": "" }));
      await module().typecheck();
      expect(execs(engine.chains("exitCode").at(-1)!).at(-1)).toBe("mypy");
      await (await module().docs()).sync();
      const html = engine.chains("sync").at(-1)!;
      expect(execs(html).at(-1)).toBe("sphinx-build -b html -E -N -w doc/sphinx.log -W --keep-going doc doc/_build/html");
      await (await module().docs(true)).sync();
      expect(execs(engine.chains("sync").at(-1)!).at(-1)).toBe("sphinx-build -b html -E -N -w doc/sphinx.log doc doc/_build/html");
    });
  });

  it("needs conf.py for docs: a Makefile alone is no Sphinx project", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ "doc/Makefile": "" }));
      await expect(module().docs()).rejects.toThrow("the source has no doc/conf.py: there are no Sphinx docs to build");
    });
  });

  it("finds the mypy script only where Pycroft keeps it", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject({ "scripts/run_mypy.sh": "", "pycroft/__init__.py": "" }));
      await module().typecheck();
      expect(execs(engine.chains("exitCode").at(-1)!).at(-1)).toBe("bash scripts/run_mypy.sh");
    });
  });
});

describe("local path dependencies", () => {
  it("copies deps/ in with the manifests only when the source has it", async () => {
    await withFakeEngine(async (engine) => {
      sourceOf(engine, uvProject());
      await (await module().dev()).sync();
      // The editable install's skeleton, then the source; no deps/ of its own.
      expect(steps(engine.lastChain(), "withDirectory").map((s) => s.args.path)).toEqual([".", "."]);
    });
  });
});
