import { Container, Secret } from "@dagger.io/dagger";

import { DEFAULTS, Settings } from "../config.js";
import { script } from "../scripts/index.js";

/**
 * Receives live edits in an app container (Dagger has no bind mount): POST /files with a tar of
 * changed files writes them under the app dir, POST /delete with one relative path per line removes
 * files, links and directories (with what is in them); each answers with how many it wrote or removed.
 * Only regular files inside the app dir are written, and a file already as sent is left as it is (its
 * mtime too: a whole checkout sent by a watcher that starts reloads and recompiles nothing); only what
 * is inside the app dir is removed. Every request needs the stack's token.
 *
 * Started with a command after the app dir, it also runs that command on demand: POST /run with one
 * argument per line runs the command with them in the app dir, one run at a time, and answers with
 * its output as it comes, then a last line `exit-code: N`. A client that goes away ends the run.
 * With `--ahead` before the command, the command takes its arguments on stdin, one a line: the
 * receiver keeps the next run's process started, so that it does its start-up while nobody waits.
 * The script: src/scripts/pycroft-sync.py.
 */
export const RECEIVE = script("pycroft-sync.py");

const SCRIPT = "/usr/local/bin/pycroft-sync.py";

/**
 * The receiver in an app container: its script, the token every request must carry, its port
 * exposed. `receiver` is the command that starts it; with `run`, it runs that command on demand too.
 */
export function withReceiver(token: Secret) {
  return (c: Container): Container =>
    c.withNewFile(SCRIPT, RECEIVE).withSecretVariable("PYCROFT_SYNC_TOKEN", token).withExposedPort(DEFAULTS.syncPort);
}

/**
 * The command that starts the receiver on the app dir (see `withReceiver`), running `run` on demand
 * when given; `ahead`: `run` takes its arguments on stdin and is started before it is asked for.
 */
export function receiver(s: Settings, run: string[] = [], ahead = false): string[] {
  return ["python", SCRIPT, String(DEFAULTS.syncPort), s.appDir, ...(ahead ? ["--ahead"] : []), ...run];
}
