import { Container } from "@dagger.io/dagger";

import { DEFAULTS, UsageError } from "../config.js";
import { Project } from "../images/project.js";
import { runTool } from "./verdict.js";

/** Where Sphinx writes its warnings, inside the docs directory. */
export const SPHINX_LOG = "sphinx.log";

/** The built HTML, relative to the app dir. */
export const DOCS_HTML = `${DEFAULTS.docsDir}/_build/html`;

/**
 * Pycroft CI's `make SPHINXOPTS="-EN -w sphinx.log" -C doc html` (sphinx-build when the source has no
 * Makefile): a full rebuild, warnings kept in sphinx.log and, unless allowed, turned into errors
 * (`-W --keep-going`, so one run reports every warning).
 */
export function sphinx(project: Project, allowWarnings: boolean) {
  if (!project.docs) {
    throw new UsageError(`the source has no ${DEFAULTS.docsDir}/conf.py: there are no Sphinx docs to build`);
  }
  const strict = allowWarnings ? [] : ["-W", "--keep-going"];
  const command =
    project.docs === "make"
      ? ["make", `SPHINXOPTS=${["-E", "-N", "-w", SPHINX_LOG, ...strict].join(" ")}`, "-C", DEFAULTS.docsDir, "html"]
      : ["sphinx-build", "-b", "html", "-E", "-N", "-w", `${DEFAULTS.docsDir}/${SPHINX_LOG}`, ...strict, DEFAULTS.docsDir, DOCS_HTML];
  return (c: Container): Container => c.with(runTool(command));
}
