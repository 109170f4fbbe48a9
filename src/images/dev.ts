import { Container, dag, Directory } from "@dagger.io/dagger";

import { BUILD_PACKAGES, BUNDLE_IGNORES, DEFAULTS, owner, Settings, SOURCE_EXCLUDES } from "../config.js";
import { script } from "../scripts/index.js";
import { aptInstall } from "./apt.js";
import { base, uvCache } from "./base.js";
import { Project, withVersionFiles } from "./project.js";

/** `base` + compilers, headers, git, psql and node: what building the app needs (dev.Dockerfile). */
export function toolchain(s: Settings, project: Project): Container {
  const c = base(s).withUser("root").with(aptInstall(s, BUILD_PACKAGES));
  return (project.js?.setup.length ? c.withExec(project.js.setup) : c).withUser(s.user).withWorkdir(s.appDir);
}

/** uv's way of saying which groups go into the venv, and whether local packages stay editable. */
export type SyncMode = "dev" | "prod";
const SYNC_FLAGS: Record<SyncMode, string[]> = {
  dev: [],
  prod: ["--no-dev", "--group", "prod", "--no-editable"],
};

/**
 * The deps' layer holds their bytecode: uv leaves it to the first import otherwise, and a container
 * keeps nothing it writes, so every pytest, worker and shell would compile flask, SQLAlchemy, celery
 * and the rest again (2 s a start on the example's deps, more on Pycroft's).
 */
const COMPILE = "--compile-bytecode";

/** The sync flags of a mode plus the packages the caller leaves out (`--no-install-package`). */
function syncFlags(s: Settings, mode: SyncMode): string[] {
  return [...SYNC_FLAGS[mode], ...s.noInstallPackage.flatMap((name) => ["--no-install-package", name])];
}

/** Fails with the fix when pyproject.toml does not parse (its Python half) or uv.lock is out of date. */
const LOCK_CHECK = script("check-lock.sh");
const PYPROJECT_CHECK = script("check-pyproject.py");

/**
 * uv.lock names PyPI's URLs, and uv refuses a lock resolved from another index than the one
 * configured, so `uv sync --locked` fails with a mirror (and `--frozen` downloads from PyPI anyway).
 * With a mirror, the lock is checked as if resolved from it (the image's copy names the mirror), then
 * exported with its hashes, and `uv pip sync` installs exactly those files from the mirror.
 */
const LOCK_TO_MIRROR = script("lock-to-mirror.py");
const MIRROR_SYNC = script("mirror-sync.sh");

/**
 * Runs an install command; when it fails on a git dependency (a runner that reaches only a package
 * index cannot clone it), names the package and the option that leaves it out.
 */
const NAME_GIT_DEPS = script("install-naming-git-deps.sh");
const GIT_DEPS_NAMED = script("name-git-deps.py");

/** Fails with the fix when uv.lock is out of date; with a mirror, the image's copy names it first. */
function checkLock(s: Settings) {
  return (c: Container): Container =>
    (s.pythonIndex ? c.withExec(["python", "-c", LOCK_TO_MIRROR]) : c).withExec(["sh", "-c", LOCK_CHECK, "check-lock", PYPROJECT_CHECK]);
}

/** Installs the locked deps (not the project) from PyPI, or from the Python index given. */
function syncDeps(s: Settings, mode: SyncMode): string[] {
  const install = s.pythonIndex
    ? ["sh", "-c", MIRROR_SYNC, "mirror-sync", COMPILE, ...syncFlags(s, mode)]
    : ["uv", "sync", "--locked", "--no-install-project", COMPILE, ...syncFlags(s, mode)];
  return ["bash", "-c", NAME_GIT_DEPS, "install", GIT_DEPS_NAMED, ...install];
}

/**
 * Installs the locked Python deps from just pyproject.toml, uv.lock and deps/ — nothing else of the
 * source is in this layer yet, so editing app code never reinstalls them.
 */
export function withPythonDeps(s: Settings, source: Directory, project: Project, mode: SyncMode) {
  return (c: Container): Container => {
    const withManifests = c
      .withMountedCache(`${s.home}/.cache/uv`, uvCache(), { owner: owner(s) })
      .withFile("pyproject.toml", source.file("pyproject.toml"), { owner: owner(s) })
      .withFile("uv.lock", source.file("uv.lock"), { owner: owner(s) });
    return (project.hasDeps ? withManifests.withDirectory("deps", source.directory("deps"), { owner: owner(s) }) : withManifests)
      .with(withVersionFiles(s, project, "deps"))
      .with(checkLock(s))
      .withExec(syncDeps(s, mode));
  };
}

/** Installs the locked JS deps from the manifests alone, on the tool's cache volume. */
export function withJsDeps(s: Settings, source: Directory, project: Project) {
  return (c: Container): Container => {
    const js = project.js;
    if (!js) return c;
    return js.manifests
      .reduce((acc, name) => acc.withFile(name, source.file(name), { owner: owner(s) }), c)
      .withMountedCache(`${s.home}/${js.cacheDir}`, dag.cacheVolume(`pycroft-js-cache-${js.install[0]}`), { owner: owner(s) })
      .withExec(js.install);
  };
}

/** The whole source at the app dir, owned by the app user, with the versions computed from git (`withVersionFiles`). */
export function withAppSource(s: Settings, source: Directory, project: Project) {
  return (c: Container): Container =>
    c.withDirectory(".", source, { owner: owner(s), exclude: SOURCE_EXCLUDES }).with(withVersionFiles(s, project, "all"));
}

/**
 * Pycroft's production JS bundle (`DEFAULTS.bundleDir`), built on the engine's own platform (the same
 * for every platform; a bundler under emulation takes minutes) from the JS dependencies and the source
 * without what no bundler reads (`BUNDLE_IGNORES`): a Python, test or docs edit reuses the last bundle.
 * Undefined when the source has no JS.
 */
export function jsBundle(s: Settings, source: Directory, project: Project): Directory | undefined {
  if (!project.js) return undefined;
  return toolchain({ ...s, platform: undefined }, project)
    .with(withJsDeps(s, source, project))
    // `filter` keeps the content-based cache identity of the upload: what was left out cannot re-key the bundle.
    .withDirectory(".", source.filter({ exclude: [...SOURCE_EXCLUDES, ...BUNDLE_IGNORES] }), { owner: owner(s) })
    .withExec(project.js.bundle)
    .directory(DEFAULTS.bundleDir);
}

/** Puts the JS bundle into the app (a container with the source at the app dir); nothing without JS. */
export function withBundle(s: Settings, source: Directory, project: Project) {
  return (c: Container): Container => {
    const bundle = jsBundle(s, source, project);
    return bundle ? c.withDirectory(DEFAULTS.bundleDir, bundle, { owner: owner(s) }) : c;
  };
}

/**
 * Installs the project itself into the venv, now that its source is there (its deps are in). Prod's
 * copy is compiled too, as its deps are; dev's is the editable source, compiled as it is imported.
 */
export function installProject(s: Settings, mode: SyncMode) {
  const compile = mode === "prod" ? [COMPILE] : [];
  const fromMirror = ["uv", "pip", "install", "--no-deps", ...compile, ...(mode === "dev" ? ["--editable", "."] : ["."])];
  return (c: Container): Container => c.withExec(s.pythonIndex ? fromMirror : ["uv", "sync", "--locked", ...compile, ...syncFlags(s, mode)]);
}

/**
 * What an editable install reads of the source: uv's and the build's files (PKG-INFO: a version
 * computed from git, `withVersionFiles`), the packages' `__init__.py` (a version may be read from one;
 * setuptools finds packages by them), the top-level modules (a project may list them) and deps/
 * (path dependencies, which may be installed as copies).
 */
const INSTALL_READS = [
  "pyproject.toml", "uv.lock", "uv.toml", ".python-version", "setup.py", "setup.cfg", "MANIFEST.in", "README*", "LICENSE*", "PKG-INFO",
  "*.py", "**/__init__.py", "deps/**",
];

/**
 * The source as an editable install sees it (`INSTALL_READS`). An editable install maps the packages
 * to the source dir and reads no other module, so a code edit leaves this tree, and the install's
 * layer, as they were; a new package, or an edit of one of these files, installs again. `filter`
 * keeps the upload's content-based cache identity: what was left out cannot re-key the install.
 */
export function installSkeleton(source: Directory): Directory {
  return source.filter({ include: INSTALL_READS, exclude: SOURCE_EXCLUDES });
}

/**
 * The project installed editable with the dev group, from its skeleton (`installSkeleton`), before
 * the source: a code edit reuses this layer, and the source copied over it is what the install points at.
 */
export function withEditableProject(s: Settings, source: Directory, project: Project) {
  return (c: Container): Container =>
    c
      .withDirectory(".", installSkeleton(source), { owner: owner(s) })
      .with(withVersionFiles(s, project, "all"))
      .with(installProject(s, "dev"));
}

/**
 * The development image (Pycroft's `dev.Dockerfile` + its venv hook): dependency layers first, the
 * project installed editable from its skeleton, then the source at the app dir. Versions taken from
 * git come in PKG-INFO files (`withVersionFiles`).
 */
export function dev(s: Settings, source: Directory, project: Project): Container {
  return toolchain(s, project)
    .with(withPythonDeps(s, source, project, "dev"))
    .with(withJsDeps(s, source, project))
    .with(withEditableProject(s, source, project))
    .with(withAppSource(s, source, project))
    .withExposedPort(DEFAULTS.port)
    .withDefaultArgs(["bash"]);
}
