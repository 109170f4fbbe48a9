// Smoke test of the engine that up.sh provisions, through the npm SDK the module uses:
//   eval "$(test/engine/up.sh)" && npx tsx test/engine/engine-smoke.ts
// Needs the debian:bookworm-slim and python:3.11-slim stand-ins in the local registry
// (test/engine/standins/build.sh). Prints one line per check; exits non-zero on the first failure.
import { connection, dag } from "@dagger.io/dagger"

await connection(async () => {
  // An image through the docker.io mirror, and apt (plain HTTP) from inside an engine container.
  const apt = await dag.container().from("debian:bookworm-slim")
    .withExec(["sh", "-c", "apt-get update >/dev/null && echo ok"]).stdout()
  console.log("apt:", apt.trim())

  // HTTPS through the machine's re-signing egress: works only if the engine injected its CA certs.
  const https = await dag.container().from("debian:bookworm-slim")
    .withExec(["sh", "-c", "apt-get update >/dev/null && apt-get install -y --no-install-recommends curl >/dev/null"])
    .withExec(["sh", "-c", "curl -fsS -o /dev/null -w 'pypi %{http_code}, ' https://pypi.org/simple/uv/ && curl -fsS -o /dev/null -w 'npm %{http_code}' https://registry.npmjs.org/tsx"])
    .stdout()
  console.log("https:", https.trim())

  // A service bound to another container, plus a tmpfs mount, as the module uses them.
  const web = dag.container().from("python:3.11-slim")
    .withNewFile("/srv/hello.txt", "hello from service")
    .withWorkdir("/srv")
    .withExposedPort(8000)
    .asService({ args: ["python3", "-m", "http.server", "8000"] })
  const svc = await dag.container().from("python:3.11-slim")
    .withServiceBinding("web", web)
    .withMountedTemp("/scratch")
    .withExec(["sh", "-c",
      "python3 -c \"import urllib.request as u; open('/scratch/x','wb').write(u.urlopen('http://web:8000/hello.txt').read())\"" +
      " && cat /scratch/x && echo -n ', ' && grep -o ' /scratch tmpfs' /proc/mounts"])
    .stdout()
  console.log("service+tmpfs:", svc.trim())
})
