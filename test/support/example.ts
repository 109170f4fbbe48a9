// The example application as the fake engine presents it, and the module built on it.
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";

import { dag } from "@dagger.io/dagger";

import { FakeEngine, steps } from "./fake-engine.js";
import { newPycroft, Options } from "./module.js";

const EXAMPLE = "example";
const LEFT_OUT = /(^|\/)(node_modules|\.venv|__pycache__|[^/]+\.egg-info)(\/|$)/;

/** Every file of the example on disk, as paths relative to it. */
const EXAMPLE_FILES = (readdirSync(EXAMPLE, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[])
  .filter((d) => d.isFile())
  .map((d) => join(d.parentPath, d.name).slice(EXAMPLE.length + 1))
  .filter((p) => !LEFT_OUT.test(p));

/** The top-level entries of a file list, as `Directory.entries` lists them (directories with a slash). */
function topLevel(files: string[]): string[] {
  return [...new Set(files.map((p) => (p.includes("/") ? p.slice(0, p.indexOf("/") + 1) : p)))].sort();
}

/** A glob pattern as Dagger's `glob` takes it: `**` spans directories, `*` does not. */
function globRegExp(pattern: string): RegExp {
  const body = pattern
    .split("**")
    .map((part) => part.replace(/[.+^${}()|[\]\\?]/g, "\\$&").replaceAll("*", "[^/]*"))
    .join(".*");
  return new RegExp(`^${body}$`);
}

/** The path inside the source that a pipeline's trailing `directory`/`file` steps point at. */
function pathIn(parent: { field: string; args: Record<string, unknown> }[]): string {
  const start = parent.findIndex((s) => s.field === "directory");
  return parent
    .slice(start + 1)
    .filter((s) => s.field === "directory" || s.field === "file")
    .map((s) => String(s.args.path))
    .join("/");
}

/**
 * Makes the fake engine answer like the example source (its real files, read from disk), and secrets
 * with their plaintext. `entries` narrows the source to these top-level names, for sources shaped
 * otherwise (a name that the example lacks is listed all the same).
 */
export function exampleSource(engine: FakeEngine, entries?: string[]) {
  const files = entries ? EXAMPLE_FILES.filter((p) => entries.includes(topLevel([p])[0]!)) : EXAMPLE_FILES;
  engine.respond("entries", entries ?? topLevel(files));
  engine.respond("glob", ({ args, parent }) => {
    const dir = pathIn(parent);
    const prefix = dir ? `${dir}/` : "";
    const pattern = globRegExp(String(args.pattern));
    return files.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length)).filter((p) => pattern.test(p));
  });
  engine.respond("contents", ({ parent }) => readFileSync(join(EXAMPLE, pathIn(parent)), "utf8"));
  engine.respond("plaintext", ({ parent }) => steps(parent, "setSecret").at(-1)?.args.plaintext);
}

/**
 * Makes the fake engine answer like a source holding exactly `files` (path → contents), for layouts
 * the example does not have: a `.flaskenv` of its own, bun's lockfile, docs without a Makefile.
 */
export function sourceOf(engine: FakeEngine, files: Record<string, string>) {
  const paths = Object.keys(files);
  engine.respond("entries", topLevel(paths));
  // As on an engine, a directory or file the source does not have is an error, not an empty answer.
  engine.respond("glob", ({ args, parent }) => {
    const dir = pathIn(parent);
    const prefix = dir ? `${dir}/` : "";
    if (!paths.some((p) => p.startsWith(prefix))) throw new Error(`lstat /${dir}: no such file or directory`);
    const pattern = globRegExp(String(args.pattern));
    return paths.filter((p) => p.startsWith(prefix)).map((p) => p.slice(prefix.length)).filter((p) => pattern.test(p));
  });
  engine.respond("contents", ({ parent }) => {
    const path = pathIn(parent);
    if (!(path in files)) throw new Error(`lstat /${path}: no such file or directory`);
    return files[path];
  });
  engine.respond("plaintext", ({ parent }) => steps(parent, "setSecret").at(-1)?.args.plaintext);
}

/** The module on the example source, as `dagger call` builds it, plus the options a test sets. */
export function module(opts: Options = {}) {
  return newPycroft(dag.host().directory("example"), dag.host().directory("dockerfiles/openldap"), opts);
}
