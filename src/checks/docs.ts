import { Container, dag, File } from "@dagger.io/dagger";

import { DEFAULTS, UsageError } from "../config.js";
import { Project } from "../images/project.js";
import { relativePaths, report, runTool } from "./verdict.js";

/** Where Sphinx writes its warnings, inside the docs directory. */
export const SPHINX_LOG = "sphinx.log";

/** Sphinx's warning log, relative to the app dir (the Makefile is run in the docs directory). */
export const SPHINX_LOG_PATH = `${DEFAULTS.docsDir}/${SPHINX_LOG}`;

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
      : ["sphinx-build", "-b", "html", "-E", "-N", "-w", SPHINX_LOG_PATH, ...strict, DEFAULTS.docsDir, DOCS_HTML];
  return (c: Container): Container => c.with(runTool(command));
}

/**
 * Sphinx's warning log of the build `docs --allow-warnings` runs (the same step, so the engine answers
 * it from its cache after `docs`), with the paths under the app dir made relative to it, as on the
 * checkout: GitHub places an annotation only by a path in the repository. Returned whatever the build's
 * verdict (that is `docs`' to give); fails only when Sphinx left no log.
 */
export async function sphinxLog(image: Container, project: Project, appDir: string): Promise<File> {
  const ran = image.with(sphinx(project, true));
  if (!(await ran.exists(SPHINX_LOG_PATH))) {
    const { output, exitCode } = await report(ran);
    throw new Error(`sphinx wrote no ${SPHINX_LOG_PATH} (exit code ${exitCode}):\n${output}`);
  }
  return dag.file(SPHINX_LOG, relativePaths(appDir, await ran.file(SPHINX_LOG_PATH).contents()));
}
