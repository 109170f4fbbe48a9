// Which files of a source reach the images and the bundler: the exclude patterns the pipelines
// pass, applied to real paths as Dagger applies them (a pattern that matches a directory leaves out
// everything under it; `**/` matches at any depth, a pattern without it only from the top).
import { describe, expect, it } from "vitest";

import { Chain, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";

function patternRegExp(pattern: string): RegExp {
  const body = pattern
    .split("/")
    .map((part) => (part === "**" ? "(?:.*)" : part.replace(/[.+^${}()|[\]\\?]/g, "\\$&").replaceAll("*", "[^/]*")))
    .join("/")
    .replaceAll("(?:.*)/", "(?:.*/)?");
  return new RegExp(`^${body}$`);
}

/** Whether `path` is left out by `patterns`: it, or a directory above it, matches one. */
function excluded(patterns: string[], path: string): boolean {
  const parts = path.split("/");
  const prefixes = parts.map((_, i) => parts.slice(0, i + 1).join("/"));
  return patterns.map(patternRegExp).some((re) => prefixes.some((p) => re.test(p)));
}

/** Of `paths`, those the patterns leave out. */
const leftOut = (patterns: string[], paths: string[]) => paths.filter((p) => excluded(patterns, p));

const SOURCE_TREE = [
  ".git/config",
  "deps/widgets/.git/HEAD",
  ".hg/store/data",
  ".svn/entries",
  ".bzr/branch-format",
  ".venv/bin/python",
  "node_modules/esbuild/package.json",
  "web/node_modules/x/index.js",
  "pycroft/__pycache__/model.cpython-312.pyc",
  ".pytest_cache/v/cache/lastfailed",
  ".mypy_cache/3.12/pycroft.data.json",
  "web/.ruff_cache/0.6/x",
  "htmlcov/index.html",
  "pycroft.egg-info/PKG-INFO",
  "deps/widgets/widgets.egg-info/PKG-INFO",
  "web/static/dist/main.abc123.js",
  "web/static/manifest.json",
  // What stays.
  "pycroft/model.py",
  "pycroft/model.pyi",
  "web/static/css/site.css",
  "web/resources/js/main.js",
  "web/templates/index.html",
  "tests/test_web.py",
  "tests/htmlcov/x",
  "doc/conf.py",
  "deps/widgets/pyproject.toml",
  "helpers/dummy_celery_worker.py",
  "helpers/README",
  "scripts/run_mypy.sh",
  "scripts/server_run.py",
  "scripts/bundle/x.sh",
  "pyproject.toml",
  "uv.lock",
  "package.json",
  "package-lock.json",
  "bundle.mjs",
];

/** What never leaves the caller's machine. */
const NEVER = SOURCE_TREE.slice(0, 17);

async function devSourceExcludes(): Promise<string[]> {
  return withFakeEngine(async (engine) => {
    exampleSource(engine);
    await (await module().dev()).sync();
    // The last copy to the app dir is the source (the one before it, the editable install's skeleton).
    return steps(engine.lastChain(), "withDirectory").filter((s) => s.args.path === ".").at(-1)!.args.exclude;
  });
}

describe("what reaches the images", () => {
  it("is the source without version control data, local envs, installed JS deps, caches, build and test output", async () => {
    expect(leftOut(await devSourceExcludes(), SOURCE_TREE)).toEqual(NEVER);
  });

  it("is the same set for the prod builder", async () => {
    const exclude = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().buildProd()).sync();
      const builder: Chain = step(engine.lastChain(), "withDirectory", { path: "/opt/pycroft/venv" }).args.source;
      return step(builder, "withDirectory", { path: "." }).args.exclude as string[];
    });
    expect(leftOut(exclude, SOURCE_TREE)).toEqual(NEVER);
  });
});

describe("what the bundler sees", () => {
  it("is the JS side only: no Python code or stubs, tests, docs, Python project files, local deps, helpers or shell scripts", async () => {
    const exclude = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().bundle()).sync();
      const copy = step(engine.chains("sync").at(-1)!, "withDirectory", { path: "." });
      return (copy.args.source as Chain).at(-1)!.args.exclude as string[];
    });
    expect(SOURCE_TREE.filter((p) => !excluded(exclude, p))).toEqual([
      "web/static/css/site.css",
      "web/resources/js/main.js",
      "web/templates/index.html",
      // scripts/*.sh is the top of scripts/ only.
      "scripts/bundle/x.sh",
      "package.json",
      "package-lock.json",
      "bundle.mjs",
    ]);
  });
});
