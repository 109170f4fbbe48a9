/**
 * Pycroft CI's checks from a call's context, each in the dev image: ruff, mypy, the Sphinx docs and
 * the production JS bundle. Each returns its report or product, and fails with the tool's own words.
 */
import { Directory, File } from "@dagger.io/dagger";

import { checkRuffFormat, UsageError } from "../config.js";
import { Context } from "../context.js";
import { jsBundle } from "../images/dev.js";
import { DOCS_HTML, sphinx, sphinxLog } from "./docs.js";
import { mypy, ruff } from "./lint.js";
import { relativeTo, report, verdict } from "./verdict.js";

/** `ruff check .` in ruff's `outputFormat`, the paths relative to the source. */
export async function lint(ctx: Context, outputFormat: string): Promise<string> {
  const format = checkRuffFormat(outputFormat);
  const ran = ctx.devImage(await ctx.project()).with(ruff(format));
  return verdict("ruff", relativeTo(ctx.settings.appDir, await report(ran)));
}

/** mypy as the source runs it (scripts/run_mypy.sh, else `mypy`). */
export async function typecheck(ctx: Context): Promise<string> {
  const project = await ctx.project();
  return verdict("mypy", await report(ctx.devImage(project).with(mypy(project))));
}

/** The Sphinx HTML, after Sphinx's verdict on its warnings. */
export async function docs(ctx: Context, allowWarnings: boolean): Promise<Directory> {
  const project = await ctx.project();
  const ran = ctx.devImage(project).with(sphinx(project, allowWarnings));
  verdict("sphinx", await report(ran));
  return ran.directory(DOCS_HTML);
}

/** Sphinx's warning log of `docs --allow-warnings`, the paths relative to the source. */
export async function docsLog(ctx: Context): Promise<File> {
  const project = await ctx.project();
  return sphinxLog(ctx.devImage(project), project, ctx.settings.appDir);
}

/** web/static with the production bundle; a source without package.json has none. */
export async function bundle(ctx: Context): Promise<Directory> {
  const built = jsBundle(ctx.settings, ctx.source, await ctx.project());
  if (!built) throw new UsageError("the source has no package.json: there is no JS to bundle");
  return built;
}
