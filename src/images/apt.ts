import { CacheSharingMode, Container, dag } from "@dagger.io/dagger";

import { Settings } from "../config.js";
import { script } from "../scripts/index.js";

/** Points Debian's main archive at a mirror (Pycroft uses its own); security updates stay upstream. */
export function aptMirror(s: Settings) {
  return (c: Container): Container => (s.aptMirror ? c.withExec(["sh", "-c", APT_MIRROR, "apt-mirror", s.aptMirror]) : c);
}

const APT_MIRROR = script("apt-mirror.sh");

/**
 * `apt-get install` as root with the package lists and archives on cache volumes, like the
 * `--mount=type=cache` lines of Pycroft's Dockerfiles: the image keeps no apt lists, and a rebuild
 * downloads nothing it already has. The lists get a volume per platform, as `apt-get update` drops
 * every other architecture's; the archives' file names carry the architecture, so one volume serves all.
 */
export function aptInstall(s: Settings, packages: readonly string[]) {
  const lists = `pycroft-apt-lists-${(s.platform ?? "engine").replaceAll("/", "-")}`;
  return (c: Container): Container =>
    c
      .withMountedCache("/var/cache/apt", dag.cacheVolume("pycroft-apt-archives"), { sharing: CacheSharingMode.Locked })
      .withMountedCache("/var/lib/apt/lists", dag.cacheVolume(lists), { sharing: CacheSharingMode.Locked })
      // Debian images delete downloaded .debs after each install; keep them for the cache volume.
      .withExec(["rm", "-f", "/etc/apt/apt.conf.d/docker-clean"])
      // One exec holds the lists' lock from update to install, so no other build's update comes between.
      .withExec(["sh", "-c", APT_INSTALL, "apt-install", s.aptMirror ?? "", ...packages])
      .withoutMount("/var/cache/apt")
      .withoutMount("/var/lib/apt/lists");
}

/**
 * With a mirror, a source that cannot be updated is an error (apt only warns, and the install then
 * fails later with "Unable to locate package"), and a mirror that does not answer fails in seconds.
 */
const APT_INSTALL = script("apt-install.sh");
