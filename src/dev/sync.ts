import { Container, Secret, Service } from "@dagger.io/dagger";

import { DEFAULTS, Settings } from "../config.js";
import { devServer } from "./environment.js";
import { Project } from "../images/project.js";

/**
 * Receives live edits in the dev app (Dagger has no bind mount): POST /files with a tar of changed
 * files writes them under the app dir, POST /delete with one relative path per line removes files.
 * Only regular files inside the app dir are written; every request needs the stack's token.
 */
export const RECEIVE = `import hmac, io, os, sys, tarfile
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

root = os.path.realpath(sys.argv[2])
token = ("Bearer " + os.environ["PYCROFT_SYNC_TOKEN"]).encode()

def inside(rel):
    path = os.path.realpath(os.path.join(root, rel))
    return path if path.startswith(root + os.sep) else None

def write(body):
    count = 0
    with tarfile.open(fileobj=io.BytesIO(body)) as tar:
        for member in tar:
            path = inside(member.name)
            if not member.isfile() or path is None:
                continue
            os.makedirs(os.path.dirname(path), exist_ok=True)
            tmp = path + ".pycroft-sync"
            with tar.extractfile(member) as src, open(tmp, "wb") as dst:
                dst.write(src.read())
            os.chmod(tmp, member.mode & 0o755 | 0o600)
            os.replace(tmp, path)
            count += 1
    return count

def delete(body):
    count = 0
    for rel in body.decode().splitlines():
        path = inside(rel)
        if path and os.path.isfile(path):
            os.remove(path)
            count += 1
    return count

class Sync(BaseHTTPRequestHandler):
    def do_POST(self):
        if not hmac.compare_digest(self.headers.get("Authorization", "").encode(), token):
            return self.answer(401, "wrong or missing sync token")
        body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
        actions = {"/files": write, "/delete": delete}
        if self.path not in actions:
            return self.answer(404, "POST /files (a tar) or /delete (paths, one a line)")
        count = actions[self.path](body)
        print(f"sync: {self.path[1:]} {count}", flush=True)
        self.answer(200, str(count))

    def answer(self, code, text):
        self.send_response(code)
        self.send_header("Content-Type", "text/plain")
        self.end_headers()
        self.wfile.write(text.encode() + b"\\n")

    def log_message(self, *args):
        pass

ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Sync).serve_forever()
`;

const SCRIPT = "/usr/local/bin/pycroft-sync.py";

/**
 * The dev server with live edits (compose's `dev-app` + `dev-bundler` on a bind mount): the sync
 * receiver and the bundler in watch mode run beside flask's reloading dev server in one container, so
 * an edit that reaches the app dir is seen by both, as on compose's shared checkout.
 */
export function liveDevServer(s: Settings, app: Container, project: Project, token: Secret, migrateCommand: string, beside: string[]): Service {
  const receiver = `python ${SCRIPT} ${DEFAULTS.syncPort} ${s.appDir}`;
  const bundler = project.js ? [shellWords(project.js.watch)] : [];
  const live = app.withNewFile(SCRIPT, RECEIVE).withSecretVariable("PYCROFT_SYNC_TOKEN", token).withExposedPort(DEFAULTS.syncPort);
  return devServer(live, migrateCommand, [receiver, ...bundler, ...beside]);
}

/** A command as words for `sh -c` (single-quoted). */
function shellWords(words: string[]): string {
  return words.map((w) => `'${w.replaceAll("'", `'\\''`)}'`).join(" ");
}
