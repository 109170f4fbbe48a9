import { Container, Directory } from "@dagger.io/dagger";

import { DEFAULTS, owner, Settings, UsageError } from "../config.js";

/** How the JS assets are installed and bundled, chosen by the lockfile the source carries. */
export interface JsTool {
  /** Files that decide the JS dependencies: copied before the source so a code edit keeps them cached. */
  manifests: string[];
  install: string[];
  /** Pycroft's production bundle (`bun run bundle --prod`). */
  bundle: string[];
  /** The bundler in watch mode (compose's `dev-bundler`: `bun run bundle --watch`), for live edits. */
  watch: string[];
  /** Global install of the tool itself, run as root; empty when the toolchain already has it. */
  setup: string[];
  cacheDir: string;
}

const NPM: JsTool = {
  manifests: ["package.json", "package-lock.json"],
  install: ["npm", "ci", "--no-audit", "--no-fund"],
  bundle: ["npm", "run", "bundle", "--", "--prod"],
  watch: ["npm", "run", "bundle", "--", "--watch"],
  setup: [],
  cacheDir: ".npm",
};

/** Pycroft's own choice; bun comes as the npm package that carries its binary. */
const BUN = (lockfile: string): JsTool => ({
  manifests: ["package.json", lockfile],
  install: ["bun", "install", "--frozen-lockfile"],
  bundle: ["bun", "run", "bundle", "--prod"],
  watch: ["bun", "run", "bundle", "--watch"],
  setup: ["npm", "install", "--global", "--no-audit", "--no-fund", "bun@1.1.26"],
  cacheDir: ".bun/install/cache",
});

/**
 * Every file that decides what the images install, Python's and JS's: something built from the
 * source (a test stack) keeps what they said when it was built.
 */
export const DEPENDENCY_MANIFESTS = ["pyproject.toml", "uv.lock", ...NPM.manifests, "bun.lock", "bun.lockb"];

/** A path dependency's manifest (under deps/, installed from its own pyproject), which decides what the images install too. */
export const PATH_DEPENDENCY_MANIFEST = /^deps\/[^/]+\/(pyproject\.toml|setup\.py|setup\.cfg)$/;

/** What the pipeline needs to know about an application source before it builds anything. */
export interface Project {
  /** pyproject.toml's project name, normalized (`pycroft`): it names the dev data volumes. */
  name: string;
  /** Local path dependencies live in `deps/` (Pycroft: deps/wtforms-widgets). */
  hasDeps: boolean;
  /** Absent when the source has no package.json: then nothing is bundled. */
  js?: JsTool;
  /** `docker/db/docker-entrypoint-initdb.d`, loaded into PostgreSQL when present. */
  hasDbInit: boolean;
  /** `docker/ldap/schema`, loaded into slapd when present. */
  hasLdapSchema: boolean;
  /** The keycloak test realm (`DEFAULTS.keycloakRealm`): `test` starts keycloak when present. */
  hasKeycloakRealm: boolean;
  /** The debugging mail server (`DEFAULTS.mailScript`): the dev stack runs it when present. */
  hasMailServer: boolean;
  /** The dummy hades worker (`DEFAULTS.dummyWorker`): `test` starts it when present. */
  hasDummyWorker: boolean;
  /** FLASK_APP as the source's `.flaskenv` says, else `DEFAULTS.flaskApp`. */
  flaskApp: string;
  /** The packages of `DEFAULTS.coveragePackages` the source has. */
  coveragePackages: string[];
  /** `DEFAULTS.mypyScript` when the source runs mypy through it. */
  mypyScript?: string;
  /** How the Sphinx docs in `DEFAULTS.docsDir` are built: with their Makefile, or sphinx-build; absent without conf.py. */
  docs?: "make" | "sphinx-build";
  /** The app and path dependencies whose build takes the version from git (`vcsPlugin`); their versions once `vcsVersions` ran. */
  vcsVersioned: VcsProject[];
}

/** A project of the source (the app, or a path dependency in deps/) whose version its build takes from git. */
export interface VcsProject {
  /** Its directory in the source: "." for the app itself, deps/NAME for a path dependency. */
  dir: string;
  /** `[project]`'s name as written: PKG-INFO's Name. */
  name: string;
  /** The plugin of `VCS_VERSION_PLUGINS` its build-system requires. */
  plugin: string;
  /** What its build backend computes from the source's git data (`vcsVersions`). */
  version?: string;
}

/** Reads the source's layout once and fails early, with the fix, when it is not a uv project. */
export async function inspect(source: Directory): Promise<Project> {
  const entries = new Set((await source.entries()).map((e) => e.replace(/\/$/, "")));
  for (const required of ["pyproject.toml", "uv.lock"]) {
    if (!entries.has(required)) {
      const hint = required === "uv.lock" ? " (run `uv lock` and commit it)" : "";
      throw new UsageError(`the source directory has no ${required}${hint}: pass a uv project with --source`);
    }
  }
  const none: string[] = [];
  const [pyproject, docker, dummyWorker, flaskenv, mypyScript, docs, depManifests] = await Promise.all([
    source.file("pyproject.toml").contents(),
    entries.has("docker") ? source.directory("docker").glob("**") : none,
    source.glob(DEFAULTS.dummyWorker),
    entries.has(".flaskenv") ? source.file(".flaskenv").contents() : "",
    source.glob(DEFAULTS.mypyScript),
    entries.has(DEFAULTS.docsDir) ? source.glob(`${DEFAULTS.docsDir}/*`) : none,
    entries.has("deps") ? source.glob("deps/*/pyproject.toml") : none,
  ]);
  const depPyprojects = await Promise.all(depManifests.map(async (path) => [path.replace(/\/pyproject\.toml$/, ""), await source.file(path).contents()] as const));
  return {
    name: projectName(pyproject),
    hasDeps: entries.has("deps"),
    js: !entries.has("package.json")
      ? undefined
      : entries.has("bun.lock")
        ? BUN("bun.lock")
        : entries.has("bun.lockb")
          ? BUN("bun.lockb")
          : entries.has("package-lock.json")
            ? NPM
            : missingJsLock(),
    hasDbInit: docker.some((p) => p.startsWith("db/docker-entrypoint-initdb.d/")),
    hasLdapSchema: docker.some((p) => p.startsWith("ldap/schema/") && p.endsWith(".ldif")),
    hasKeycloakRealm: docker.includes(DEFAULTS.keycloakRealm.replace(/^docker\//, "")),
    hasDummyWorker: dummyWorker.length > 0,
    hasMailServer: docker.includes(DEFAULTS.mailScript.replace(/^docker\//, "")),
    flaskApp: dotenvValue(flaskenv, "FLASK_APP") ?? DEFAULTS.flaskApp,
    coveragePackages: DEFAULTS.coveragePackages.filter((p) => entries.has(p)),
    mypyScript: mypyScript.length > 0 ? DEFAULTS.mypyScript : undefined,
    docs: !docs.includes(`${DEFAULTS.docsDir}/conf.py`) ? undefined : docs.includes(`${DEFAULTS.docsDir}/Makefile`) ? "make" : "sphinx-build",
    vcsVersioned: [[".", pyproject] as const, ...depPyprojects].flatMap(([dir, text]) => {
      const plugin = vcsPlugin(text);
      return plugin ? [{ dir, name: rawProjectName(text) ?? normalizedName(dir), plugin }] : [];
    }),
  };
}

/**
 * The `[project]` table's name, normalized as package indexes do (`normalizedName`); "app" when the
 * table has none (the lock check reports a pyproject.toml that does not parse).
 */
export function projectName(pyproject: string): string {
  return normalizedName(rawProjectName(pyproject) ?? "app");
}

/** A package name as package indexes compare them (PEP 503: lower case, runs of `-_.` as one `-`). */
export function normalizedName(name: string): string {
  return name.toLowerCase().replace(/[-_.]+/g, "-");
}

/** `[project]`'s name as written (PKG-INFO keeps it so); undefined without one. */
export function rawProjectName(pyproject: string): string | undefined {
  return table(pyproject, "project").match(/^name\s*=\s*["']([^"']+)["']/m)?.[1];
}

/** The text of a TOML table (`[name]`) up to the next table header; empty when there is none. */
function table(toml: string, name: string): string {
  const header = new RegExp(`^\\[${name.replace(/[.[\]]/g, "\\$&")}\\]\\s*$`, "m");
  return toml.split(header)[1]?.split(/^\[/m)[0] ?? "";
}

/**
 * The build-system plugins that take a project's version from git tags and, without git, from the
 * project's PKG-INFO file (as an sdist has it): versioningit (under hatchling or setuptools),
 * setuptools-scm, and hatch-vcs (setuptools-scm under hatchling).
 */
export const VCS_VERSION_PLUGINS = ["versioningit", "setuptools-scm", "hatch-vcs"] as const;

/**
 * The plugin that gives this pyproject.toml's project its version from git: one of
 * `VCS_VERSION_PLUGINS` in `[build-system] requires`, with `version` in `[project] dynamic`.
 */
export function vcsPlugin(pyproject: string): string | undefined {
  if (!/^dynamic\s*=\s*\[[^\]]*["']version["']/m.test(table(pyproject, "project"))) return undefined;
  const requires = table(pyproject, "build-system").match(/^requires\s*=\s*\[([^\]]*)\]/m)?.[1] ?? "";
  const names = [...requires.matchAll(/["']\s*([A-Za-z0-9][A-Za-z0-9._-]*)/g)].map((m) => normalizedName(m[1]!));
  return VCS_VERSION_PLUGINS.find((plugin) => names.includes(plugin));
}

/** The minimal PKG-INFO each plugin of `VCS_VERSION_PLUGINS` reads the version from when there is no git. */
export function pkgInfo(name: string, version: string): string {
  return `Metadata-Version: 2.1\nName: ${name}\nVersion: ${version}\n`;
}

/**
 * Writes a PKG-INFO stating each version computed from git (`vcsVersions`) into its project's
 * directory under the app dir, where the build backends read it when they find no git: an install's
 * inputs hold the version string, never the git data it came from. A step after each copy of those
 * directories (a Directory changed by `withNewFile` is keyed by what it came from, not by its
 * content). `deps`: the path dependencies alone, for their layer, which the app's version must not re-key.
 */
export function withVersionFiles(s: Settings, project: Project, which: "deps" | "all") {
  return (c: Container): Container =>
    project.vcsVersioned
      .filter((p) => p.version && (which === "all" || p.dir !== "."))
      .reduce((acc, p) => acc.withNewFile(p.dir === "." ? "PKG-INFO" : `${p.dir}/PKG-INFO`, pkgInfo(p.name, p.version!), { owner: owner(s) }), c);
}

/** A variable's value in a dotenv file (`NAME=value`, optionally quoted or `export`ed), as python-dotenv reads it. */
export function dotenvValue(text: string, name: string): string | undefined {
  for (const line of text.split("\n")) {
    const m = line.match(/^\s*(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*?)\s*$/);
    if (m && m[1] === name) {
      const quoted = m[2]!.match(/^(["'])(.*?)\1(?:\s+#.*)?$/);
      const value = quoted ? quoted[2]! : m[2]!.replace(/\s+#.*$/, "");
      return value || undefined;
    }
  }
  return undefined;
}

function missingJsLock(): never {
  throw new UsageError("the source has package.json but no package-lock.json or bun.lock: JS deps must be locked");
}
