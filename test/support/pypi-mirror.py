"""A PyPI mirror on another URL, as an air-gapped site runs one: /simple/<name>/ and /packages/…,
proxied to PyPI, its file links rewritten to the mirror. Usage: pypi-mirror.py PORT (0: any free
port). Prints the port, then every request's path, one per line; /-/requests lists them too."""
import http.server, sys, urllib.request

PYPI, FILES = "https://pypi.org/simple/", "https://files.pythonhosted.org/packages/"

REQUESTS = []

class Mirror(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/-/requests":
            return self.reply("".join(f"{path}\n" for path in REQUESTS).encode(), "text/plain")
        print(self.path, flush=True)
        REQUESTS.append(self.path)
        host = self.headers["Host"]
        if self.path.startswith("/simple/"):
            req = urllib.request.Request(PYPI + self.path[len("/simple/"):], headers={"Accept": "text/html"})
            with urllib.request.urlopen(req) as r:
                body = r.read().decode().replace(FILES, f"http://{host}/packages/").encode()
            self.reply(body, "text/html")
        elif self.path.startswith("/packages/"):
            with urllib.request.urlopen(FILES + self.path[len("/packages/"):]) as r:
                self.reply(r.read(), "application/octet-stream")
        else:
            self.send_error(404)

    def do_HEAD(self):
        # No range requests: clients then download whole files, as from any plain mirror.
        self.send_response(200 if self.path.startswith(("/simple/", "/packages/")) else 404)
        self.end_headers()

    def reply(self, body, ctype):
        self.send_response(200)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Mirror)
print(server.server_address[1], flush=True)
server.serve_forever()
