// lint, typecheck, docs and bundle: what each runs in the dev image, and how its verdict is read.
import { describe, expect, it } from "vitest";

import { Call, Chain, execs, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";

/** The last command of a pipeline: the tool a check ran on top of the dev image. */
const lastExec = (chain: Chain) => execs(chain).at(-1);
/** The pipeline of the last Directory synced, without the `sync` itself. */
const synced = (chains: Chain[]) => chains.at(-1)!.slice(0, -1);

describe("lint", () => {
  it("runs ruff over the app dir in the dev image, in the format asked for, and returns its report", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", "All checks passed!\n");
      expect(await module().lint()).toBe("All checks passed!");
      const chain = engine.chains("exitCode").at(-1)!;
      expect(lastExec(chain)).toBe("ruff check --output-format=full .");
      expect(steps(chain, "withWorkdir").at(-1)?.args.path).toBe("/opt/pycroft/app");
      // The source is in, installed: ruff sees the code and the settings in pyproject.toml.
      expect(execs(chain)).toContain("uv sync --locked");

      await module().lint("github");
      expect(lastExec(engine.chains("exitCode").at(-1)!)).toBe("ruff check --output-format=github .");
    });
  });

  it("fails with ruff's own findings when it finds a problem", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 1);
      engine.respond("stdout", "web/app.py:1:8: F401 [*] `os` imported but unused\nFound 1 error.\n");
      await expect(module().lint()).rejects.toThrow("ruff failed with exit code 1:\nweb/app.py:1:8: F401 [*] `os` imported but unused\nFound 1 error.");
    });
  });

  it("gives paths relative to the source, so GitHub places its annotations", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 1);
      engine.respond("stdout", "::error title=ruff (F401),file=/opt/pycroft/app/web/x.py,line=1,col=8::web/x.py:1:8: F401\n");
      await expect(module().lint("github")).rejects.toThrow(/^ruff failed with exit code 1:\n::error title=ruff \(F401\),file=web\/x\.py,line=1,col=8::/);
    });
  });

  it("refuses an output format ruff does not have, before building anything", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await expect(module().lint("annotations")).rejects.toThrow(/outputFormat must be one of concise, full, .*github.*, got "annotations"/);
      expect(engine.chains("exitCode")).toHaveLength(0);
    });
  });
});

describe("typecheck", () => {
  it("runs the source's own mypy script when it has one, as Pycroft's CI does", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().typecheck();
      expect(lastExec(engine.chains("exitCode").at(-1)!)).toBe("bash scripts/run_mypy.sh");
    });
  });

  it("runs plain mypy (pyproject.toml's settings) without a script", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "pycroft", "web"]);
      await module().typecheck();
      expect(lastExec(engine.chains("exitCode").at(-1)!)).toBe("mypy");
    });
  });

  it("fails with mypy's errors, from stdout and stderr", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 1);
      engine.respond("stdout", 'web/app.py:3: error: Incompatible types in assignment (expression has type "str", variable has type "int")\n');
      engine.respond("stderr", "Found 1 error in 1 file\n");
      await expect(module().typecheck()).rejects.toThrow(/^mypy failed with exit code 1:\nweb\/app.py:3: error: Incompatible types.*\nFound 1 error in 1 file$/);
    });
  });
});

describe("docs", () => {
  it("builds with the source's Makefile as Pycroft's CI does, warnings failing the build, and returns the HTML", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().docs()).sync();
      const html = synced(engine.chains("sync"));
      expect(html.at(-1)).toEqual({ field: "directory", args: { path: "doc/_build/html" } });
      expect(lastExec(html)).toBe("make SPHINXOPTS=-E -N -w sphinx.log -W --keep-going -C doc html");
    });
  });

  it("only reports warnings when allowed to", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().docs(true)).sync();
      expect(lastExec(synced(engine.chains("sync")))).toBe("make SPHINXOPTS=-E -N -w sphinx.log -C doc html");
    });
  });

  it("fails with Sphinx's warnings", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 2);
      engine.respond("stderr", "doc/index.rst:8: WARNING: toctree contains reference to nonexisting document 'missing'\n");
      await expect(module().docs()).rejects.toThrow("sphinx failed with exit code 2:\ndoc/index.rst:8: WARNING: toctree contains reference");
    });
  });

  it("says so when the source has no Sphinx project", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "web"]);
      await expect(module().docs()).rejects.toThrow("the source has no doc/conf.py: there are no Sphinx docs to build");
      expect(engine.chains("exitCode")).toHaveLength(0);
    });
  });
});

describe("docsLog", () => {
  const LOG = [
    "/opt/pycroft/app/doc/index.rst:8: WARNING: toctree contains reference to nonexisting document 'missing'",
    "/opt/pycroft/app/pycroft/lib/user.py:docstring of pycroft.lib.user.edit_email:8: WARNING: Field list ends without a blank line; unexpected unindent.",
    "/usr/lib/python3/site-packages/x.py:docstring of x.y:1: WARNING: outside the app dir",
    "",
  ].join("\n");

  /** The fake engine's files: the log in the container, and a new file's own contents. */
  const contents = ({ parent }: Call) => {
    const made = parent.at(-1)!;
    if (made.field === "file" && "contents" in made.args) return made.args.contents;
    return made.args.path === "doc/sphinx.log" ? LOG : "";
  };

  it("returns the log of the build `docs --allow-warnings` runs, with the app dir's paths relative to the source", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exists", true).respond("contents", contents);
      const log = await module().docsLog();
      const lines = (await log.contents()).split("\n");
      expect(engine.chains("contents").at(-1)![0]).toMatchObject({ field: "file", args: { name: "sphinx.log" } });
      expect(lines).toEqual([
        "doc/index.rst:8: WARNING: toctree contains reference to nonexisting document 'missing'",
        "pycroft/lib/user.py:docstring of pycroft.lib.user.edit_email:8: WARNING: Field list ends without a blank line; unexpected unindent.",
        "/usr/lib/python3/site-packages/x.py:docstring of x.y:1: WARNING: outside the app dir",
        "",
      ]);
      // The same step as `docs --allow-warnings`, so one build serves both.
      const built = engine.chains("contents").find((c) => c.at(-2)?.args.path === "doc/sphinx.log")!.slice(0, -2);
      expect(lastExec(built)).toBe("make SPHINXOPTS=-E -N -w sphinx.log -C doc html");
      await (await module().docs(true)).sync();
      expect(synced(engine.chains("sync")).slice(0, -1)).toEqual(built);
    });
  });

  it("gives the log whatever Sphinx's verdict, and fails with Sphinx's report only when it left none", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("exitCode", 2).respond("exists", true).respond("contents", contents);
      expect(await (await module().docsLog()).contents()).toMatch(/^doc\/index\.rst:8: WARNING/);

      engine.respond("exists", false).respond("stderr", "Configuration error: config directory doesn't contain a conf.py file\n");
      await expect(module().docsLog()).rejects.toThrow("sphinx wrote no doc/sphinx.log (exit code 2):\nConfiguration error: config directory");
    });
  });
});

describe("bundle", () => {
  it("runs the production bundle in the dev image and returns web/static", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().bundle()).sync();
      const chain = synced(engine.chains("sync"));
      expect(chain.at(-1)).toEqual({ field: "directory", args: { path: "web/static" } });
      expect(lastExec(chain)).toBe("npm run bundle -- --prod");
    });
  });

  it("says so when the source has no JS", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine, ["pyproject.toml", "uv.lock", "web"]);
      await expect(module().bundle()).rejects.toThrow("the source has no package.json: there is no JS to bundle");
    });
  });
});
