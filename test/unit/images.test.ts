// The pipelines base, dev and build-prod send to an engine, recorded by the fake engine.
import { describe, expect, it } from "vitest";

import { Chain, execs, fields, formatChain, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { SOURCE_EXCLUDES } from "../../src/config.js";
import { exampleSource, module } from "../support/example.js";
import { projectName } from "../../src/images/project.js";
import { devVolume } from "../../src/services/service.js";

/** Index of the first step matching `predicate`, failing with the readable pipeline when none does. */
function indexOf(chain: Chain, what: string, predicate: (s: Chain[number]) => boolean): number {
  const i = chain.findIndex(predicate);
  if (i < 0) throw new Error(`no ${what} in:\n${formatChain(chain)}`);
  return i;
}
/** A command as given, without the wrapper (and its script) that names an unreachable git dependency when an install fails. */
const unwrap = (args: string[]) => (args[0] === "bash" && args[3] === "install" ? args.slice(5) : args).join(" ");
const commands = (chain: Chain) => steps(chain, "withExec").map((s) => unwrap(s.args.args as string[]));
const exec = (cmd: string) => (s: Chain[number]) => s.field === "withExec" && unwrap(s.args.args as string[]) === cmd;
/** The apt-get update + install step and the packages it installs. */
const aptStep = (s: Chain[number]) => s.field === "withExec" && String(s.args.args).includes("apt-get update");
/** The packages of each apt step: its arguments after the wrapper's name and the mirror. */
const aptPackages = (chain: Chain) =>
  chain.filter(aptStep).map((s) => (s.args.args as string[]).slice((s.args.args as string[]).indexOf("apt-install") + 2).join(" "));

describe("base", () => {
  it("is Pycroft's base.Dockerfile: python, runtime packages, app user, empty venv first on PATH", async () => {
    await withFakeEngine(async (engine) => {
      await module().base().sync();
      const chain = engine.lastChain();

      expect(step(chain, "from").args.address).toBe("python:3.12-slim-bookworm");
      expect(aptPackages(chain)).toEqual(["bash libpq5"]);
      expect(execs(chain)).toContain("pip install --no-cache-dir --root-user-action=ignore uv==0.9.28");
      const addUser = execs(chain).find((e) => e.includes("useradd"));
      expect(addUser).toMatch(/ add-user 1000 1000 pycroft \/opt\/pycroft$/);
      expect(addUser).toContain('chown "$uid:$gid" "$home" "$home/.cache"');
      expect(step(chain, "withUser").args.name).toBe("pycroft");
      expect(step(chain, "withEnvVariable", { name: "VIRTUAL_ENV" }).args.value).toBe("/opt/pycroft/venv");
      expect(step(chain, "withEnvVariable", { name: "PATH" }).args).toMatchObject({ value: "/opt/pycroft/venv/bin:$PATH", expand: true });
      expect(step(chain, "withEnvVariable", { name: "LANG" }).args.value).toBe("C.UTF-8");
      // The venv is made as the app user, after the switch.
      expect(indexOf(chain, "uv venv", exec("uv venv /opt/pycroft/venv"))).toBeGreaterThan(indexOf(chain, "withUser", (s) => s.field === "withUser"));
      // apt's lists live on a cache volume, not in the image.
      expect(steps(chain, "withoutMount").map((s) => s.args.path)).toEqual(expect.arrayContaining(["/var/lib/apt/lists", "/var/cache/apt"]));
    });
  });

  it("creates the user with the UID and GID asked for", async () => {
    await withFakeEngine(async (engine) => {
      await module({ uid: 1234, gid: 4321 }).base().sync();
      expect(execs(engine.lastChain()).find((e) => e.includes("useradd"))).toMatch(/ 1234 4321 pycroft /);
    });
  });

  it("points apt at a mirror when given one", async () => {
    await withFakeEngine(async (engine) => {
      await module({ aptMirror: "http://ftp.agdsn.de/debian" }).base().sync();
      const chain = engine.lastChain();
      const sed = indexOf(chain, "mirror", (s) => s.field === "withExec" && (s.args.args as string[]).includes("http://ftp.agdsn.de/debian"));
      expect(sed).toBeLessThan(indexOf(chain, "apt-get update", aptStep));
    });
  });
});

describe("dev", () => {
  it("installs dependencies from pyproject.toml, uv.lock and deps/ before the source is added", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().dev()).sync();
      const chain = engine.lastChain();

      expect(aptPackages(chain)).toContain("build-essential git libpq-dev postgresql-client curl nodejs npm");
      const pyproject = indexOf(chain, "pyproject.toml", (s) => s.field === "withFile" && s.args.path === "pyproject.toml");
      const deps = indexOf(chain, "uv sync of deps", exec("uv sync --locked --no-install-project --compile-bytecode"));
      const npm = indexOf(chain, "npm ci", exec("npm ci --no-audit --no-fund"));
      const [skeleton, source] = steps(chain, "withDirectory").filter((s) => s.args.path === ".").map((s) => chain.indexOf(s));
      // The deps' bytecode is compiled in their layer; the editable project is compiled as it is imported.
      const project = indexOf(chain, "project install", exec("uv sync --locked"));
      expect(pyproject).toBeLessThan(deps);
      expect(step(chain, "withDirectory", { path: "deps" }).args.source.at(-1)).toEqual({ field: "directory", args: { path: "deps" } });
      // The project is installed editable from what the install reads of the source, before the source
      // itself: a code edit reuses the install's layer.
      expect([deps, npm].every((i) => i < skeleton!)).toBe(true);
      expect(skeleton).toBeLessThan(project);
      expect(project).toBeLessThan(source!);
      const reads = (chain[skeleton!]!.args.source as Chain).at(-1)!;
      expect(reads.field).toBe("filter");
      expect(reads.args.include).toEqual(expect.arrayContaining(["pyproject.toml", "uv.lock", "**/__init__.py", "*.py", "deps/**"]));
      expect(reads.args.include).not.toContain("**/*.py");
      expect(reads.args.exclude).toEqual(SOURCE_EXCLUDES);
      // The lock is checked before anything is installed from it.
      expect(indexOf(chain, "lock check", (s) => s.field === "withExec" && String(s.args.args).includes("uv lock --check"))).toBeLessThan(deps);
      expect(chain[source!]!.args.exclude).toEqual(SOURCE_EXCLUDES);
      expect(steps(chain, "withWorkdir").at(-1)?.args.path).toBe("/opt/pycroft/app");
    });
  });

  it("leaves out the packages asked for, in both installs, and names unreachable git dependencies on failure", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module({ noInstallPackage: ["guzzle-sphinx-theme", "other"] }).dev()).sync();
      const chain = engine.lastChain();
      const leftOut = "--no-install-package guzzle-sphinx-theme --no-install-package other";
      expect(commands(chain)).toEqual(
        expect.arrayContaining([`uv sync --locked --no-install-project --compile-bytecode ${leftOut}`, `uv sync --locked ${leftOut}`]),
      );
      const wrapped = execs(chain).find((e) => e.startsWith("bash -c") && e.endsWith(` uv sync --locked --no-install-project --compile-bytecode ${leftOut}`))!;
      expect(wrapped).toContain('if "git" in p.get("source", {})');
      expect(wrapped).toContain("leave it out with {flags}");
    });
  });

  it("refuses a package name that is not one", async () => {
    await withFakeEngine(async () => {
      expect(() => module({ noInstallPackage: ["guzzle sphinx"] })).toThrow('noInstallPackage: "guzzle sphinx" is not a Python package name');
    });
  });

  it("refuses a source without uv.lock, saying how to fix it", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "web/"]);
      await expect(module().dev()).rejects.toThrow("the source directory has no uv.lock (run `uv lock` and commit it)");
    });
  });

  it("refuses a source without pyproject.toml", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["README.md"]);
      await expect(module().dev()).rejects.toThrow("the source directory has no pyproject.toml");
    });
  });

  it("bundles from the JS inputs only: the bundler never sees Python code, tests or docs, so their edits reuse the bundle", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().bundle()).sync();
      const chain = engine.chains("sync").at(-1)!;
      const copy = step(chain, "withDirectory", { path: "." });
      const filter = (copy.args.source as Chain).at(-1)!;
      expect(filter.field).toBe("filter");
      expect(filter.args.exclude).toEqual(expect.arrayContaining([...SOURCE_EXCLUDES, "**/*.py", "tests", "doc", "pyproject.toml", "uv.lock"]));
      // The JS deps go in from their manifests before the rest.
      expect(chain.indexOf(copy)).toBeGreaterThan(indexOf(chain, "npm ci", exec("npm ci --no-audit --no-fund")));
      expect(execs(chain).at(-1)).toBe("npm run bundle -- --prod");
    });
  });

  it("uses bun when the source is locked with bun, as Pycroft is", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "package.json", "bun.lockb"]);
      await (await module().dev()).sync();
      expect(execs(engine.lastChain())).toEqual(expect.arrayContaining(["bun install --frozen-lockfile"]));
    });
  });

  it("bundles with bun for prod, and watches with bun in the dev stack, when the source is locked with bun", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "package.json", "bun.lock", "web"]);
      await (await module().bundle()).sync();
      const chain = engine.chains("sync").at(-1)!;
      expect(execs(chain).slice(-2)).toEqual(["bun install --frozen-lockfile", "bun run bundle --prod"]);
      expect(step(chain, "withFile", { path: "bun.lock" }).args.source.at(-1)).toEqual({ field: "file", args: { path: "bun.lock" } });
    });
  });

  it("gives the app user every input of the dev image: manifests, lock, deps/, the source and the caches", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().dev()).sync();
      const chain = engine.lastChain();
      // apt's caches stay root's: apt runs as root, before the user exists.
      const inputs = ["pyproject.toml", "uv.lock", "deps", ".", "package.json", "package-lock.json", "/opt/pycroft/.cache/uv", "/opt/pycroft/.npm"];
      const copies = chain.filter((s) => ["withFile", "withDirectory", "withMountedCache"].includes(s.field) && inputs.includes(String(s.args.path)));
      expect(new Set(copies.map((s) => s.args.path))).toEqual(new Set(inputs));
      for (const copy of copies) expect(copy.args.owner, `${copy.field} ${copy.args.path}`).toBe("1000:1000");
    });
  });
});

describe("build-prod", () => {
  it("copies a prod-only venv from a builder onto base, with no compiler in the final stage", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().buildProd(undefined, undefined, "https://github.com/agdsn/pycroft", "abc123", "1.0.0")).sync();
      const chain = engine.lastChain();

      // The final image's own steps: base's packages only.
      expect(execs(chain).join("\n")).not.toMatch(/build-essential|npm ci|uv sync/);
      const venv = step(chain, "withDirectory", { path: "/opt/pycroft/venv" });
      expect(venv.args.owner).toBe("1000:1000");
      const builder: Chain = venv.args.source;
      expect(builder.at(-1)).toEqual({ field: "directory", args: { path: "/opt/pycroft/venv" } });
      expect(commands(builder)).toEqual(
        expect.arrayContaining([
          "uv sync --locked --no-install-project --compile-bytecode --no-dev --group prod --no-editable",
          "uv sync --locked --compile-bytecode --no-dev --group prod --no-editable",
        ]),
      );
      expect(execs(builder).join("\n")).toContain("build-essential");
      // The app is packaged from the source and its JS bundle, both copied in before the final uv sync.
      const source = step(builder, "withDirectory", { path: "." });
      const bundle = step(builder, "withDirectory", { path: "web/static" });
      expect([source.args.owner, bundle.args.owner]).toEqual(["1000:1000", "1000:1000"]);
      const install = indexOf(builder, "uv sync", exec("uv sync --locked --compile-bytecode --no-dev --group prod --no-editable"));
      expect(builder.indexOf(source)).toBeLessThan(builder.indexOf(bundle));
      expect(builder.indexOf(bundle)).toBeLessThan(install);
      const bundler: Chain = bundle.args.source;
      expect(execs(bundler)).toEqual(expect.arrayContaining(["npm ci --no-audit --no-fund", "npm run bundle -- --prod"]));
      expect(bundler.at(-1)).toEqual({ field: "directory", args: { path: "web/static" } });
      // Only the venv crosses over: no source tree, no node_modules in the final stage.
      expect(steps(chain, "withDirectory").map((s) => s.args.path)).toEqual(["/opt/pycroft/venv"]);

      // Pycroft's image commands: `uwsgi` by default, `worker` for Celery with beat, anything else as given.
      expect(step(chain, "withEntrypoint").args.args).toEqual(["/usr/local/bin/pycroft-entrypoint"]);
      expect(step(chain, "withDefaultArgs").args.args).toEqual(["uwsgi"]);
      const script = step(chain, "withNewFile", { path: "/usr/local/bin/pycroft-entrypoint" }).args;
      expect(script.permissions).toBe(0o755);
      // Its settings (what each command does with them: scripts.test.ts).
      expect(script.contents).toContain("\nprotocol='http'\nport=5000\nwsgi_app='scripts.server_run:prepare_server()'\ncelery_app='pycroft.task'\n# <<< settings\n");
      expect(step(chain, "withExposedPort").args.port).toBe(5000);
      expect(step(chain, "withUser").args.name).toBe("pycroft");
      // Only what the app needs at run time: base's install settings are dropped.
      expect(steps(chain, "withoutEnvVariable").map((s) => s.args.name)).toEqual(
        expect.arrayContaining(["PIP_INDEX_URL", "UV_DEFAULT_INDEX", "UV_LINK_MODE", "DEBIAN_FRONTEND"]),
      );
      expect(steps(chain, "withLabel").map((s) => [s.args.name, s.args.value])).toEqual([
        ["org.opencontainers.image.revision", "abc123"],
        ["org.opencontainers.image.source", "https://github.com/agdsn/pycroft"],
        ["org.opencontainers.image.version", "1.0.0"],
      ]);
    });
  });

  it("serves the uwsgi protocol behind a proxy, another app and Celery app when asked", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().buildProd("web.app:make_app()", undefined, undefined, undefined, undefined, undefined, "uwsgi", "other.tasks:app")).sync();
      const script = step(engine.lastChain(), "withNewFile", { path: "/usr/local/bin/pycroft-entrypoint" }).args.contents;
      expect(script).toContain("\nprotocol='uwsgi'\nport=5000\nwsgi_app='web.app:make_app()'\ncelery_app='other.tasks:app'\n");
    });
  });

  it("refuses a bad WSGI app, protocol or Celery app before building anything", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await expect(module().buildProd("web.app")).rejects.toThrow(/wsgiApp must be module:callable or module:factory\(\)/);
      await expect(module().buildProd("web.app:x'; rm -rf /")).rejects.toThrow(/wsgiApp must be/);
      await expect(module().buildProd(undefined, undefined, undefined, undefined, undefined, undefined, "fastcgi")).rejects.toThrow('protocol must be http or uwsgi, got "fastcgi"');
      await expect(module().buildProd(undefined, undefined, undefined, undefined, undefined, undefined, undefined, "pycroft task")).rejects.toThrow(/celeryApp must be a module/);
      expect(engine.chains("sync")).toHaveLength(0);
    });
  });

  it("packages a source without JS as it is, with no bundle stage", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "web/"]);
      await (await module().buildProd()).sync();
      const builder: Chain = step(engine.lastChain(), "withDirectory", { path: "/opt/pycroft/venv" }).args.source;
      const source = step(builder, "withDirectory", { path: "." });
      // The upload, without what never enters an image (its git data among it).
      expect(fields(source.args.source)).toEqual(["host", "directory", "filter"]);
      expect(source.args.exclude).toEqual(SOURCE_EXCLUDES);
      expect(execs(builder).join("\n")).not.toMatch(/npm ci|npm run/);
    });
  });

  it("installs the locked files from a Python index mirror, the lock checked as if resolved there", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module({ pythonIndex: "https://pypi.agdsn.de/simple" }).buildProd()).sync();
      const chain = engine.lastChain();
      expect(step(chain, "withEnvVariable", { name: "UV_DEFAULT_INDEX" }).args.value).toBe("https://pypi.agdsn.de/simple");
      const builder: Chain = step(chain, "withDirectory", { path: "/opt/pycroft/venv" }).args.source;
      const run = execs(builder);
      // uv would refuse a lock naming PyPI with a mirror configured: not `uv sync --locked` here.
      expect(run.join("\n")).not.toContain("uv sync");
      const rewrite = run.findIndex((e) => e.startsWith("python -c") && e.includes('registry = "https://pypi.org/simple"'));
      const check = run.findIndex((e) => e.includes("uv lock --check"));
      const sync = run.findIndex((e) => e.includes("uv pip sync") && e.endsWith("mirror-sync --compile-bytecode --no-dev --group prod --no-editable"));
      expect([rewrite, check, sync].every((i) => i >= 0) && rewrite < check && check < sync).toBe(true);
      expect(run.at(-1)).toBe("uv pip install --no-deps --compile-bytecode .");
      expect(step(chain, "withEnvVariable", { name: "PIP_INDEX_URL" }).args.value).toBe("https://pypi.agdsn.de/simple");
      expect(steps(chain, "withEnvVariable").map((e) => e.args.name)).not.toContain("PIP_TRUSTED_HOST");
    });
  });

  it("lets pip use a plain-HTTP mirror, which it otherwise ignores", async () => {
    await withFakeEngine(async (engine) => {
      await module({ pythonIndex: "http://pypi.local:3141/simple" }).base().sync();
      expect(step(engine.lastChain(), "withEnvVariable", { name: "PIP_TRUSTED_HOST" }).args.value).toBe("pypi.local:3141");
    });
  });

  it("installs the project editable from a Python index mirror in dev", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module({ pythonIndex: "https://pypi.agdsn.de/simple" }).dev()).sync();
      const run = execs(engine.lastChain());
      expect(run.some((e) => e.includes("uv pip sync") && e.endsWith("mirror-sync --compile-bytecode"))).toBe(true);
      expect(run).toContain("uv pip install --no-deps --editable .");
    });
  });

  it("builds for the platform asked for", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().buildProd(undefined, "linux/arm64" as never)).sync();
      const chain = engine.lastChain();
      expect(steps(chain, "container").map((s) => s.args.platform)).toEqual(["linux/arm64"]);
      expect(fields(chain)[0]).toBe("container");
      const builder: Chain = step(chain, "withDirectory", { path: "/opt/pycroft/venv" }).args.source;
      expect(step(builder, "container").args.platform).toBe("linux/arm64");
      // The bundle is the same on every platform: it is built on the engine's own, not emulated.
      const bundler: Chain = step(builder, "withDirectory", { path: "web/static" }).args.source;
      expect(step(bundler, "container").args.platform).toBeUndefined();
      expect(execs(bundler)).toContain("npm run bundle -- --prod");
      // apt's lists are per platform: an update for one architecture drops the others' lists.
      const lists = (c: Chain) => step(c, "withMountedCache", { path: "/var/lib/apt/lists" }).args.cache[0].args.key;
      expect(lists(chain)).toBe("pycroft-apt-lists-linux-arm64");
      expect(lists(bundler.slice(0, indexOf(bundler, "apt", aptStep)))).toBe("pycroft-apt-lists-engine");
    });
  });
});

describe("the project name, which names the dev data volumes as compose names its volumes", () => {
  it("is pyproject.toml's [project] name, normalized, and not another table's", () => {
    const pyproject = `[build-system]\nname = "not-this"\n\n[project]\nrequires-python = ">=3.12"\nname = "Pycroft_Example.App"\n\n[tool.x]\nname = "nor-this"\n`;
    expect(projectName(pyproject)).toBe("pycroft-example-app");
    expect(projectName(`[project]\nname = 'pycroft'\n`)).toBe("pycroft");
    expect(projectName(`[tool.uv]\nname = "x"\n`)).toBe("app");
  });

  it("keeps Pycroft's dev volumes apart from another application's", () => {
    expect(devVolume("pycroft", "db", "/var/lib/postgresql/data")).toBe("pycroft-dev-db-var-lib-postgresql-data");
    expect(devVolume("pycroft-example", "db", "/var/lib/postgresql/data")).not.toBe(devVolume("pycroft", "db", "/var/lib/postgresql/data"));
  });
});
