// `dagger check`'s own checks — lint, typecheck, docs, bundle — on the example and on seeded errors.
import { Directory } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { EXAMPLE_TESTS } from "../support/example-tests.js";
import { formatResults, runChecks } from "../support/checks.js";
import { annotate } from "../support/sphinx-annotations.js";
import { hostDir, noEngine, pycroftOn, session } from "./engine.js";

/** The call's error, or undefined when it passed. */
const failure = (call: Promise<unknown>) => call.then(() => undefined, (err: Error) => err);

/** The example with a module that ruff and mypy each reject, for reasons of their own. */
const SEEDED = `import os

count: int = "three"
`;

/** A docstring autodoc renders with a warning: its field list ends without a blank line. */
const SEEDED_DOCSTRING = `

def seeded_docstring() -> None:
    """A field list that ends without a blank line.

    :returns: nothing
    unindented
    """
`;

describe.skipIf(noEngine())("the checks on a real engine", () => {
  it("`dagger check` passes on the clean example: tests, migrations, ruff, mypy through the source's script, the docs with no warning, the bundle", async () => {
    await session(async () => {
      const module = pycroftOn(hostDir("example"));
      const results = await runChecks(module);
      expect(results.map((r) => r.name).sort()).toEqual(["bundle", "docs", "lint", "migrate", "test", "typecheck"]);
      expect(results.filter((r) => !r.passed), formatResults(results)).toEqual([]);
      const output = Object.fromEntries(results.map((r) => [r.name, r.output]));
      expect(output.lint).toBe("All checks passed!");
      expect(output.typecheck).toMatch(/^mypy \d+\.\d+/); // run_mypy.sh prints the version first
      expect(output.typecheck).toMatch(/Success: no issues found in \d+ source files/);
      expect(output.test).toMatch(new RegExp(`=+ ${EXAMPLE_TESTS} passed`));

      // What the Directory checks built, read back (the same calls, answered from the cache).
      const [docs, bundle] = [await module.docs(), await module.bundle()];
      expect(await docs.file("config.html").contents()).toContain("db_uri"); // autodoc imported the package
      expect(await docs.entries()).toEqual(expect.arrayContaining(["index.html", "_static/"]));
      const manifest = JSON.parse(await bundle.file("manifest.json").contents()) as Record<string, string>;
      expect(await bundle.exists(manifest["main.js"]!)).toBe(true);
    });
  });

  it("fail on seeded errors, each with its tool's own message", async () => {
    await session(async () => {
      const example = hostDir("example");
      const seeded = pycroftOn(example.withNewFile("web/seeded.py", SEEDED));
      const index = await example.file("doc/index.rst").contents();
      const brokenDocs = example.withNewFile("doc/index.rst", `${index.trimEnd()}\n   missing\n`);
      const [lint, typecheck, docs] = await Promise.all([
        failure(seeded.lint()),
        failure(seeded.typecheck()),
        failure(pycroftOn(brokenDocs).docs().then((d: Directory) => d.sync())),
      ]);
      // `dagger check lint typecheck docs bundle` fails on each seeded error, and on them only.
      const allSeeded = pycroftOn(brokenDocs.withNewFile("web/seeded.py", SEEDED));
      const checks = await runChecks(allSeeded, ["lint", "typecheck", "docs", "bundle"]);
      expect(checks.map((r) => [r.name, r.passed])).toEqual([["lint", false], ["typecheck", false], ["docs", false], ["bundle", true]]);
      expect(lint?.message).toMatch(/^ruff failed with exit code 1:/);
      expect(lint?.message).toMatch(/F401 \[\*\] `os` imported but unused\n *--> web\/seeded\.py:1:8/);
      expect(typecheck?.message).toMatch(/^mypy failed with exit code 1:/);
      expect(typecheck?.message).toMatch(/web\/seeded\.py:3: error: Incompatible types in assignment \(expression has type "str", variable has type "int"\)/);
      expect(docs?.message).toMatch(/^sphinx failed with exit code 2:/);
      expect(docs?.message).toMatch(/index\.rst:\d+: WARNING: toctree contains reference to nonexisting document 'missing'/);

      // Allowed, the warning is only reported and the HTML is there.
      expect(await pycroftOn(brokenDocs).docs(true).then((d: Directory) => d.exists("index.html"))).toBe(true);
      // GitHub's annotation format, as a workflow step prints it, with the path in the checkout.
      expect((await failure(seeded.lint("github")))?.message).toMatch(/^::error title=ruff \(F401\),file=web\/seeded\.py,line=1,col=8,/m);
    });
  });

  it("docs-log gives Sphinx's warnings of the docs build with paths in the checkout, which the workflow's step annotates", async () => {
    await session(async () => {
      const example = hostDir("example");
      const index = await example.file("doc/index.rst").contents();
      const config = await example.file("pycroft/config.py").contents();
      const warned = pycroftOn(
        example.withNewFile("doc/index.rst", `${index.trimEnd()}\n   missing\n`).withNewFile("pycroft/config.py", `${config.trimEnd()}\n${SEEDED_DOCSTRING}`),
      );
      expect(await warned.docs(true).then((d: Directory) => d.exists("index.html"))).toBe(true);
      const log = await (await warned.docsLog()).contents();
      const lines = log.split("\n").filter(Boolean);
      expect(lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^doc\/index\.rst:\d+: WARNING: toctree contains reference to nonexisting document 'missing'/),
          expect.stringMatching(/^pycroft\/config\.py:docstring of pycroft\.config\.seeded_docstring:\d+: WARNING: Field list ends without a blank line; unexpected unindent\./),
        ]),
      );
      expect(log).not.toContain("/opt/pycroft/app/");

      const annotated = annotate(log);
      expect(annotated.status).toBe(0);
      expect(annotated.lines).toEqual(
        expect.arrayContaining([
          expect.stringMatching(/^::warning file=doc\/index\.rst,line=[1-9]\d*,title=Sphinx warning::toctree contains reference to nonexisting document 'missing'/),
          expect.stringMatching(/^::warning file=pycroft\/config\.py,line=1,title=Sphinx warning::docstring of pycroft\.config\.seeded_docstring:\d+: Field list ends/),
        ]),
      );
    });
  });
});
