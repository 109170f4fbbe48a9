// ci/github/pycroft.yml turns Sphinx's warning log (the module's `docs-log`) into GitHub annotations
// in a step of its own: here that step's script runs, with the machine's awk, on lines of the shapes
// Sphinx writes. (That the log's paths are relative to the checkout is the e2e test of docs-log.)
import { readFileSync } from "node:fs";
import { fileURLToPath } from "node:url";

import { describe, expect, it } from "vitest";

import { daggerCommands } from "../support/ci-commands.js";
import { ANNOTATION_STEP, annotate, exportedLog } from "../support/sphinx-annotations.js";
import { stepLines, stepRun } from "../support/workflows.js";

const WORKFLOW = readFileSync(fileURLToPath(new URL("../../ci/github/pycroft.yml", import.meta.url)), "utf8");

describe("the annotation step of ci/github/pycroft.yml", () => {
  it("places a warning or an error on its file and line, on line 1 without one", () => {
    const r = annotate(
      [
        "doc/index.rst:8: WARNING: toctree contains reference to nonexisting document 'missing' [toc.not_readable]",
        "doc/config.rst: WARNING: document isn't included in any toctree",
        'doc/api.rst:12: ERROR: Unknown directive type "automodul".',
        "doc/api.rst:30: CRITICAL: Title level inconsistent:",
        "",
      ].join("\n"),
    );
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    expect(r.lines).toEqual([
      "::warning file=doc/index.rst,line=8,title=Sphinx warning::toctree contains reference to nonexisting document 'missing' [toc.not_readable]",
      "::warning file=doc/config.rst,line=1,title=Sphinx warning::document isn't included in any toctree",
      '::error file=doc/api.rst,line=12,title=Sphinx error::Unknown directive type "automodul".',
      "::error file=doc/api.rst,line=30,title=Sphinx error::Title level inconsistent:",
    ]);
  });

  it("puts a docstring's warning on line 1 of its module, the docstring and its line leading the message", () => {
    const r = annotate(
      [
        "pycroft/lib/user.py:docstring of pycroft.lib.user.edit_email:8: WARNING: Field list ends without a blank line; unexpected unindent.",
        "ldap_sync/sources/db.py:docstring of ldap_sync.sources.db._fetch_db_properties: WARNING: undefined label: 'exported_properties'",
      ].join("\n"),
    );
    expect(r.lines).toEqual([
      "::warning file=pycroft/lib/user.py,line=1,title=Sphinx warning::docstring of pycroft.lib.user.edit_email:8: Field list ends without a blank line; unexpected unindent.",
      "::warning file=ldap_sync/sources/db.py,line=1,title=Sphinx warning::docstring of ldap_sync.sources.db._fetch_db_properties: undefined label: 'exported_properties'",
    ]);
  });

  it("keeps a place it cannot give in the message, escapes what the runner would read, and leaves other lines out", () => {
    const r = annotate(
      [
        "WARNING: html_static_path entry '_static' does not exist",
        "/usr/lib/python3/site-packages/flask/app.py:docstring of flask.Flask.route:3: WARNING: undefined label: 'x'",
        "<unknown>:1: WARNING: Inline emphasis start-string without end-string.",
        "doc/a,b:c.rst:2: WARNING: 100% sure",
        "doc/api.rst:12: ERROR: Unknown directive type \"automodul\".",
        "",
        "   .. automodul:: pycroft.lib.user",
        "building [html]: targets for 3 source files that are out of date",
      ].join("\n"),
    );
    expect(r.lines).toEqual([
      "::warning title=Sphinx warning::html_static_path entry '_static' does not exist",
      "::warning title=Sphinx warning::/usr/lib/python3/site-packages/flask/app.py:docstring of flask.Flask.route:3: undefined label: 'x'",
      "::warning title=Sphinx warning::<unknown>:1: Inline emphasis start-string without end-string.",
      "::warning file=doc/a%2Cb%3Ac.rst,line=2,title=Sphinx warning::100%25 sure",
      '::error file=doc/api.rst,line=12,title=Sphinx error::Unknown directive type "automodul".',
    ]);
  });

  it("prints nothing for a clean log", () => {
    expect(annotate("")).toEqual({ status: 0, lines: [], stderr: "" });
  });

  it("reads the log where the step before exports docs-log, and runs after the docs whatever they did", () => {
    const log = exportedLog(WORKFLOW);
    expect(stepRun(WORKFLOW, ANNOTATION_STEP).trimEnd()).toMatch(new RegExp(`\\s${log.replace(/[.]/g, "\\.")}$`));
    const lines = WORKFLOW.split("\n");
    const lineOf = (re: RegExp) => lines.findIndex((l) => re.test(l)) + 1;
    const docs = daggerCommands(WORKFLOW).commands.find((c) => c.args.includes("docs"))!.line;
    const docsLog = daggerCommands(WORKFLOW).commands.find((c) => c.args.includes("docs-log"))!.line;
    const step = lineOf(new RegExp(`^\\s*- name: ${ANNOTATION_STEP}$`));
    expect(docs).toBeLessThan(docsLog);
    expect(docsLog).toBeLessThan(step);
    // A failed step before them (ruff, mypy, the docs with an error) does not skip them.
    const ifOf = (line: number) => stepLines(WORKFLOW, line).find((l) => /^\s*if:/.test(l)) ?? "";
    const stepOf = (line: number) => {
      let at = line;
      while (at > 1 && !/^\s*- /.test(lines[at - 1])) at--;
      return at;
    };
    expect(ifOf(stepOf(docsLog))).toMatch(/!cancelled\(\)|always\(\)/);
    expect(ifOf(step)).toMatch(/!cancelled\(\)|always\(\)/);
  });
});
