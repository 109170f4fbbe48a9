"""A Debian mirror on another URL, as a site runs one: every GET under /debian/ is fetched from
deb.debian.org and passed on. Usage: debian-mirror.py PORT. Prints every request's path, one per
line; /-/requests lists them too, so a test can tell which files came through the mirror."""
import http.server, shutil, sys, urllib.error, urllib.request

UPSTREAM = "http://deb.debian.org"
REQUESTS = []

class Mirror(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path == "/-/requests":
            body = "".join(f"{path}\n" for path in REQUESTS).encode()
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            return self.wfile.write(body)
        print(self.path, flush=True)
        REQUESTS.append(self.path)
        if not self.path.startswith("/debian/"):
            return self.send_error(404)
        try:
            with urllib.request.urlopen(UPSTREAM + self.path, timeout=60) as r:
                self.send_response(200)
                self.send_header("Content-Length", r.headers["Content-Length"])
                self.end_headers()
                shutil.copyfileobj(r, self.wfile)
        except urllib.error.HTTPError as e:
            self.send_error(e.code)

    def log_message(self, *args):
        pass

server = http.server.ThreadingHTTPServer(("0.0.0.0", int(sys.argv[1])), Mirror)
print(server.server_address[1], flush=True)
server.serve_forever()
