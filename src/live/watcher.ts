import { File } from "@dagger.io/dagger";

import { DEFAULTS, SOURCE_EXCLUDES } from "../config.js";
import { DEPENDENCY_MANIFESTS, PATH_DEPENDENCY_MANIFEST } from "../images/project.js";
import { executableFile, withSettings } from "../scripts/index.js";

/** The watcher's name when exported, as its help and the README call it. */
export const WATCHER_NAME = "pycroft-watch.py";

/**
 * The host side of live edits (src/scripts/pycroft-watch.py; the receiver is the stack's side), for anyone with
 * Python 3 and no more: Dagger has no bind mount, so a stack started with a sync token gets each
 * saved edit from this. Standard library only, and it scans the checkout (every 0.2 s; a scan of
 * Pycroft's 716 files takes about 3 ms), so it runs as it is on Linux, macOS and WSL; on Linux inotify
 * wakes it at once. Its name, port, what never enters an image and what decides the dependencies
 * are this module's own, written into its settings.
 */
export const WATCH = withSettings(WATCHER_NAME, [
  `NAME = ${JSON.stringify(WATCHER_NAME)}`,
  `PORT = ${DEFAULTS.syncPort}`,
  `EXCLUDES = ${JSON.stringify(SOURCE_EXCLUDES)}`,
  `MANIFESTS = ${JSON.stringify(DEPENDENCY_MANIFESTS)}`,
  `PATH_DEPENDENCY = ${JSON.stringify(PATH_DEPENDENCY_MANIFEST.source)}`,
]);

/** The watcher as a file, to export and run on the host (`dagger call watcher export --path …`). */
export function watcherFile(): File {
  return executableFile(WATCHER_NAME, WATCH);
}
