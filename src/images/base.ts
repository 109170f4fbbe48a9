import { CacheVolume, Container, dag } from "@dagger.io/dagger";

import { DEFAULTS, owner, RUNTIME_PACKAGES, Settings, UsageError } from "../config.js";
import { script } from "../scripts/index.js";
import { aptInstall, aptMirror } from "./apt.js";

/** uv's download cache, shared by every build of the app user (Pycroft mounts it at ~/.cache). */
export function uvCache(): CacheVolume {
  return dag.cacheVolume("pycroft-uv-cache");
}

/**
 * Package-index settings for pip and uv when the caller has a mirror; nothing otherwise. pip ignores
 * a plain-HTTP index unless its host is trusted, as site-internal mirrors often are; uv takes it as is.
 */
export function pythonIndex(s: Settings) {
  return (c: Container): Container => {
    if (!s.pythonIndex) return c;
    const url = new URL(s.pythonIndex);
    const withIndex = c.withEnvVariable("PIP_INDEX_URL", s.pythonIndex).withEnvVariable("UV_DEFAULT_INDEX", s.pythonIndex);
    return url.protocol === "http:" ? withIndex.withEnvVariable("PIP_TRUSTED_HOST", url.host) : withIndex;
  };
}

/**
 * Fails when the Python image has no variant for the platform asked for. The engine then builds on the
 * variant the image has, and the prod image would be published as that platform's under the other's name.
 */
export async function checkImagePlatform(s: Settings): Promise<void> {
  if (s.platform === undefined) return;
  const got = await dag.container({ platform: s.platform }).from(s.pythonImage).platform();
  const osArch = (p: string) => p.split("/").slice(0, 2).join("/");
  if (osArch(got) !== osArch(s.platform)) {
    throw new UsageError(
      `${s.pythonImage} has no ${s.platform} image, only ${got}: a build for ${s.platform} would be ${got} inside. ` +
        `Give a --python-image published for ${s.platform}.`,
    );
  }
}

/**
 * The runtime layer every image starts from (Pycroft's `base.Dockerfile`): python, the runtime apt
 * packages, the app user with the given UID/GID, an empty venv made by uv, venv first on PATH.
 */
export function base(s: Settings): Container {
  return (
    dag
      .container({ platform: s.platform })
      .from(s.pythonImage)
      .withEnvVariable("LANG", "C.UTF-8")
      .withEnvVariable("DEBIAN_FRONTEND", "noninteractive")
      .with(aptMirror(s))
      .with(aptInstall(s, [...RUNTIME_PACKAGES, ...s.aptPackages]))
      .with(pythonIndex(s))
      // Pycroft copies uv out of astral's image; pip gets the same pinned release from the index.
      .withExec(["pip", "install", "--no-cache-dir", "--root-user-action=ignore", `uv==${s.uvVersion}`])
      .withExec(["sh", "-c", ADD_USER, "add-user", String(s.uid), String(s.gid), s.user, s.home])
      .withUser(s.user)
      // Explicit: when the UID already belonged to another user, the passwd lookup would find that one's home.
      .withEnvVariable("HOME", s.home)
      .withWorkdir(s.home)
      .withEnvVariable("VIRTUAL_ENV", s.venv)
      // uv sync installs into the venv instead of a project-local .venv.
      .withEnvVariable("UV_PROJECT_ENVIRONMENT", s.venv)
      // The venv is copied between images, so its files must not link into a cache volume.
      .withEnvVariable("UV_LINK_MODE", "copy")
      // Trust the system CA store (corporate proxies add theirs there), not uv's bundled roots.
      .withEnvVariable("UV_NATIVE_TLS", "1")
      // Builds on one engine share the uv cache: wait for another's lock rather than fail after 5 min.
      .withEnvVariable("UV_LOCK_TIMEOUT", String(DEFAULTS.uvLockTimeout))
      .withEnvVariable("PATH", `${s.venv}/bin:$PATH`, { expand: true })
      .withMountedCache(`${s.home}/.cache/uv`, uvCache(), { owner: owner(s) })
      .withExec(["uv", "venv", s.venv])
      .withExec(["mkdir", "-p", s.appDir])
      .withoutMount(`${s.home}/.cache/uv`)
  );
}

/**
 * The variables `base` sets for installing and building only: the prod image, which installs
 * nothing, runs without them.
 */
export const BUILD_ONLY_ENV = [
  "DEBIAN_FRONTEND",
  "PIP_INDEX_URL",
  "PIP_TRUSTED_HOST",
  "UV_DEFAULT_INDEX",
  "UV_PROJECT_ENVIRONMENT",
  "UV_LINK_MODE",
  "UV_NATIVE_TLS",
  "UV_LOCK_TIMEOUT",
] as const;

/**
 * Creates the group and user idempotently: an image may already have the UID or GID (then the
 * user shares it, as `useradd --non-unique` allows) or even the user itself.
 */
const ADD_USER = script("add-user.sh");
