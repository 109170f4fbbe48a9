import { Container, Directory } from "@dagger.io/dagger";

import { DEFAULTS, owner, Settings } from "../config.js";
import { shellWords, withSettings } from "../scripts/index.js";
import { base, BUILD_ONLY_ENV } from "./base.js";
import { installProject, toolchain, withAppSource, withBundle, withPythonDeps } from "./dev.js";
import { Project } from "./project.js";

/** OCI metadata of a release; each label is set only when its value is given. */
export interface ReleaseInfo {
  source?: string;
  revision?: string;
  version?: string;
  created?: string;
}

/** The app source for the builder, with its JS bundle. */
function withBuildSource(s: Settings, source: Directory, project: Project) {
  return (c: Container): Container => c.with(withAppSource(s, source, project)).with(withBundle(s, source, project));
}

/**
 * The builder stage (Pycroft's `prod.Dockerfile` builder): a non-editable venv holding the runtime
 * and prod-group deps and the app, packaged with its JS bundle.
 */
export function builder(s: Settings, source: Directory, project: Project): Container {
  return toolchain(s, project)
    .with(withPythonDeps(s, source, project, "prod"))
    .with(withBuildSource(s, source, project))
    .with(installProject(s, "prod"));
}

/** What the prod image serves and runs: its uwsgi app and protocol, and its Celery app. */
export interface ProdCommands {
  /** `module:callable`, or `module:factory()` for uwsgi to call. */
  wsgiApp: string;
  /** `http` to serve browsers directly, `uwsgi` behind a proxy speaking the uwsgi protocol (Pycroft's deployment). */
  protocol: "http" | "uwsgi";
  celeryApp: string;
}

export const ENTRYPOINT = "/usr/local/bin/pycroft-entrypoint";

/**
 * The prod image's commands, as Pycroft's `/container/entrypoint` offers them: `uwsgi` (the default)
 * serves the app on the port, `worker` runs its Celery worker with the beat scheduler (compose's
 * `prod-celery-worker`), anything else runs as given (`python`, `flask`, `bash`). The script is
 * src/scripts/entrypoint.sh, with these settings written into it.
 */
function entrypoint(o: ProdCommands): string {
  return withSettings("entrypoint.sh", [
    `protocol=${shellWords([o.protocol])}`,
    `port=${DEFAULTS.port}`,
    `wsgi_app=${shellWords([o.wsgiApp])}`,
    `celery_app=${shellWords([o.celeryApp])}`,
  ]);
}

/**
 * The production image: `base` plus the venv copied from the builder at the same path, so its
 * scripts' shebangs stay valid — no compiler, no dev deps, no tests, no node_modules.
 */
export function prod(s: Settings, source: Directory, project: Project, commands: ProdCommands, release: ReleaseInfo): Container {
  return BUILD_ONLY_ENV.reduce((c, name) => c.withoutEnvVariable(name), base(s))
    .withDirectory(s.venv, builder(s, source, project).directory(s.venv), { owner: owner(s) })
    .withNewFile(ENTRYPOINT, entrypoint(commands), { permissions: 0o755 })
    .withEntrypoint([ENTRYPOINT])
    .withDefaultArgs(["uwsgi"])
    .withExposedPort(DEFAULTS.port)
    .with(labels(release));
}

const LABEL_PREFIX = "org.opencontainers.image.";

/** The OCI labels for the given release fields, in a stable order. */
export function labels(release: ReleaseInfo) {
  return (c: Container): Container =>
    (Object.entries(release) as [string, string | undefined][])
      .filter((entry): entry is [string, string] => !!entry[1])
      .sort(([a], [b]) => a.localeCompare(b))
      .reduce((acc, [key, value]) => acc.withLabel(LABEL_PREFIX + key, value), c);
}
