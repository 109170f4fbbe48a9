// base, dev and build-prod built and run on a real engine; the export round trip (publish: publish.e2e.test.ts).
import { execFileSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { appendFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { Container, dag, ReturnType } from "@dagger.io/dagger";
import { describe, expect, it, onTestFinished } from "vitest";

import { WORKER_READY_CHECK } from "../support/prod.js";
import {
  e2ePasswords, hostDir, leakedPasswords, leaksIn, noEngine, PYTHON_IMAGE, pycroft, pycroftOn, scratchCopy, session,
} from "./engine.js";

const sh = (c: Container, script: string) => c.withExec(["sh", "-c", script]).stdout();

/** The settings the example's app factory requires, as a deployment sets them. */
const PROD_ENV = {
  PYCROFT_MAIL_ENVELOPE_FROM: "pycroft@example.org",
  PYCROFT_MAIL_FROM: "Pycroft <pycroft@example.org>",
  PYCROFT_SMTP_HOST: "mail",
  PYCROFT_SMTP_USER: "",
  PYCROFT_SMTP_PASSWORD: "",
};
const deployment = (c: Container) => Object.entries(PROD_ENV).reduce((acc, [k, v]) => acc.withEnvVariable(k, v), c);

/** Runs a command and returns its exit code, whatever it is. */
const exitCode = (c: Container, args: string[]) => c.withExec(args, { expect: ReturnType.Any }).exitCode();

describe.skipIf(noEngine())("images on a real engine", () => {
  it("base runs as the app user with the UID/GID asked for and the venv first on PATH", async () => {
    await session(async () => {
      const base = pycroft().base();
      expect((await sh(base, "id -u; id -g; id -un; command -v python; echo $VIRTUAL_ENV")).trim().split("\n")).toEqual([
        "1000", "1000", "pycroft", "/opt/pycroft/venv/bin/python", "/opt/pycroft/venv",
      ]);
      expect(await exitCode(base, ["dpkg", "-s", "libpq5"])).toBe(0);
    });
  });

  it("base does not fail when the UID and GID already exist in the image", async () => {
    await session(async () => {
      // UID 1 (daemon) and GID 100 (users) exist in every Debian image.
      const base = pycroft("example", { uid: 1, gid: 100 }).base();
      expect((await sh(base, "id -u; id -g")).trim()).toBe("1\n100");
    });
  });

  it("dev has the locked deps, the project editable and the JS deps", async () => {
    await session(async () => {
      const dev = await pycroft().dev();
      expect(await sh(dev, "python -c 'import flask, sqlalchemy, ldap3, celery, alembic, psycopg2, pytest, example_widgets; print(\"ok\")'")).toBe("ok\n");
      // Editable: the package is imported from the app dir, not copied into site-packages.
      expect((await sh(dev, "python -c 'import web.app; print(web.app.__file__)'")).trim()).toBe("/opt/pycroft/app/web/app.py");
      expect(await exitCode(dev, ["test", "-x", "/opt/pycroft/app/node_modules/.bin/esbuild"])).toBe(0);
      expect(await exitCode(dev, ["gcc", "--version"])).toBe(0);
      expect((await sh(dev, "stat -c %U /opt/pycroft/app/pyproject.toml")).trim()).toBe("pycroft");
      // Tools keep caches of their own next to uv's mounted one (Pycroft's sphinx-toolbox does).
      expect(await sh(dev, "mkdir ~/.cache/a-tool && stat -c %U ~/.cache")).toBe("pycroft\n");
    });
  });

  it("a code edit rebuilds dev without reinstalling the dependencies or the project; a new package installs the project again, a dependency change everything", async () => {
    // The install times of a file the deps layer wrote and of the project's editable install: each
    // unchanged if and only if its layer was reused.
    const site = "/opt/pycroft/venv/lib/python3*/site-packages";
    const stamps = async (c: Container) => (await sh(c, `stat -c %y ${site}/flask/__init__.py ${site}/pycroft_example-*.dist-info/METADATA`)).trim().split("\n");
    const dir = scratchCopy("example");
    const build = (check?: string) =>
      session(async () => {
        const dev = await pycroftOn(hostDir(dir)).dev();
        return { stamps: await stamps(dev), out: check ? await sh(dev, check) : "" };
      });

    const [deps, project] = (await build()).stamps;
    // A code edit and a new module: the image has both, and the editable install serves them.
    appendFileSync(join(dir, "web/app.py"), "\nEDITED = True\n");
    writeFileSync(join(dir, "web/added.py"), "ADDED = True\n");
    const edited = await build("python -c 'import web.app, web.added; print(web.app.EDITED, web.added.ADDED)'");
    expect(edited.out).toBe("True True\n");
    expect(edited.stamps).toEqual([deps, project]);

    // A new package: the install maps packages, so it runs again; the deps stay.
    mkdirSync(join(dir, "web/blueprints"));
    writeFileSync(join(dir, "web/blueprints/__init__.py"), "NEW = True\n");
    const added = await build("python -c 'import web.blueprints; print(web.blueprints.NEW)'");
    expect(added.out).toBe("True\n");
    expect(added.stamps[0]).toBe(deps);
    expect(added.stamps[1]).not.toBe(project);

    const pyproject = join(dir, "pyproject.toml");
    // Any change to pyproject.toml is an input of the deps layer: uv installs again, into the empty venv.
    writeFileSync(pyproject, readFileSync(pyproject, "utf8").replace('description = "', 'description = "Changed: '));
    expect((await build()).stamps[0]).not.toBe(deps);
  });

  it("a Python, test or docs edit reuses the JS bundle; an edit of the JS rebuilds it", async () => {
    const dir = scratchCopy("example");
    // Each run of the bundle script leaves a token of its own next to the bundle.
    const pkg = join(dir, "package.json");
    const manifest = JSON.parse(readFileSync(pkg, "utf8")) as { scripts: Record<string, string> };
    manifest.scripts.bundle = `mkdir -p web/static && node -e "require('fs').writeFileSync('web/static/run', String(Math.random()))" && node bundle.mjs`;
    writeFileSync(pkg, JSON.stringify(manifest, null, 2));
    const run = () => session(async () => (await pycroftOn(hostDir(dir)).bundle()).file("run").contents());

    const first = await run();
    appendFileSync(join(dir, "web/app.py"), "\n# a Python edit\n");
    appendFileSync(join(dir, "tests/test_web.py"), "\n# a test edit\n");
    appendFileSync(join(dir, "doc/index.rst"), "\nA docs edit.\n");
    expect(await run()).toBe(first);

    appendFileSync(join(dir, "web/resources/js/main.js"), "\n// a JS edit\n");
    expect(await run()).not.toBe(first);
  });

  it("prod has no compiler and no dev deps, runs as non-root and its uwsgi answers HTTP", async () => {
    await session(async () => {
      const prod = await pycroft().buildProd(undefined, undefined, "https://github.com/agdsn/pycroft", "0123abc", "9.9.9");
      for (const tool of ["gcc", "cc", "make", "npm", "node"]) {
        expect(await exitCode(prod, ["sh", "-c", `command -v ${tool}`]), tool).not.toBe(0);
      }
      expect(await exitCode(prod, ["python", "-c", "import pytest"])).not.toBe(0);
      expect(await exitCode(prod, ["test", "-e", "/opt/pycroft/app/node_modules"])).not.toBe(0);
      expect(await exitCode(prod, ["test", "-e", "/opt/pycroft/app/tests"])).not.toBe(0);
      expect((await sh(prod, "id -u")).trim()).not.toBe("0");
      expect(await sh(prod, "python -c 'import web.app, pycroft; print(web.app.__file__)'")).toMatch(/^\/opt\/pycroft\/venv\/lib\/python3[.\d]+\/site-packages\/web\/app\.py\n$/);
      expect(await prod.label("org.opencontainers.image.revision")).toBe("0123abc");
      expect(await prod.label("org.opencontainers.image.version")).toBe("9.9.9");

      // What the app reads at start (Pycroft's mail settings): a deployment's environment.
      const deployed = prod.with(deployment);
      const client = dag.container().from(PYTHON_IMAGE).withServiceBinding("app", deployed.asService({ useEntrypoint: true }));
      const page = await client
        .withExec(["python3", "-c", "import urllib.request as u; r = u.urlopen('http://app:5000/'); print(r.status); print(r.read().decode())"])
        .stdout();
      expect(page.split("\n")[0]).toBe("200");
      // The bundle was built into the package: the page links the hashed script from the manifest.
      expect(page).toMatch(/<script[^>]+src="\/static\/[^"]+\.js"/);
    });
  });

  it("prod's worker command runs the app's Celery worker with beat; uwsgi speaks the uwsgi protocol when asked", async () => {
    await session(async () => {
      const m = pycroft();
      const worker = (await m.buildProd())
        .with(deployment)
        .withEnvVariable("PYCROFT_CELERY_BROKER_URI", "amqp://celery:celery@mq:5672/")
        .withEnvVariable("PYCROFT_CELERY_RESULT_BACKEND_URI", "rpc://celery:celery@mq:5672/")
        .withServiceBinding("mq", await m.rabbitmq())
        .withEnvVariable("CACHE_BUST", String(Date.now()));
      // The image's own entrypoint with its `worker` command, until the worker reports ready.
      const log = await worker.withExec(["sh", "-c", WORKER_READY_CHECK], { expect: ReturnType.Any }).stdout();
      expect(log).toMatch(/celery@\S+ ready\./);

      // A uwsgi request packet: modifier1 0, the vars' size, modifier2 0, then length-prefixed pairs.
      const proxy = `import socket, struct
env = {"REQUEST_METHOD": "GET", "PATH_INFO": "/", "SERVER_PROTOCOL": "HTTP/1.1", "SERVER_NAME": "app", "SERVER_PORT": "5000", "HTTP_HOST": "app"}
body = b"".join(struct.pack("<H", len(k)) + k.encode() + struct.pack("<H", len(v)) + v.encode() for k, v in env.items())
s = socket.create_connection(("app", 5000), timeout=30)
s.sendall(struct.pack("<BHB", 0, len(body), 0) + body)
print(s.makefile("rb").readline().decode().strip())`;
      const uwsgiProto = (await m.buildProd(undefined, undefined, undefined, undefined, undefined, undefined, "uwsgi")).with(deployment);
      const status = await dag.container().from(PYTHON_IMAGE)
        .withServiceBinding("app", uwsgiProto.asService({ useEntrypoint: true }))
        .withExec(["python3", "-c", proxy])
        .stdout();
      expect(status).toBe("HTTP/1.1 200 OK\n");
    });
  });

  it("a source locked with bun, as Pycroft's is, installs with bun in dev and bundles with bun for prod", async () => {
    await session(async () => {
      // The example's JS deps locked by bun from package.json alone, in the dev toolchain.
      const lock = (await pycroft().dev())
        .withUser("root")
        .withExec(["npm", "install", "--global", "--no-audit", "--no-fund", "bun@1.1.26"])
        .withWorkdir("/tmp/lock")
        .withFile("package.json", hostDir("example").file("package.json"))
        .withExec(["bun", "install"])
        .file("bun.lockb");
      const source = hostDir("example").withoutFile("package-lock.json").withFile("bun.lockb", lock);

      const dev = await pycroftOn(source).dev();
      expect(await exitCode(dev, ["sh", "-c", "command -v bun"])).toBe(0);
      expect(await exitCode(dev, ["test", "-x", "node_modules/.bin/esbuild"])).toBe(0);
      expect(await exitCode(dev, ["test", "-e", "package-lock.json"])).not.toBe(0);

      // `--prod` reached the bundle script through `bun run`: minified, so no source maps.
      const prod = await pycroftOn(source).buildProd();
      const web = "$(python -c 'import os, web; print(os.path.dirname(web.__file__))')";
      const files = await sh(prod, `cd ${web}/static && python -c 'import json; print(json.load(open("manifest.json"))["main.js"])' && find dist -type f | sort`);
      const [main, ...dist] = files.trim().split("\n");
      expect(main).toMatch(/^dist\/main-\w+\.js$/);
      expect(dist).toEqual([main]);
      expect(await exitCode(prod, ["sh", "-c", "command -v bun"])).not.toBe(0);
    });
  });

  it("dev, prod and the slapd image build from the mirrors given, as air-gapped runners do: every apt step through the Debian mirror, the locked Python files from the index mirror", async () => {
    const flask = lockedVersion("flask");
    await session(async () => {
      // Both mirrors run as services of this session: their hostnames resolve in every container of
      // the session, so no host address is needed. The Debian mirror gets a new run id each time, so a
      // new URL: every layer from the base up is built again, through both mirrors. The index mirror
      // keeps its URL, so uv's cache volume still has the wheel it built from the index's uwsgi sdist
      // (half a minute of compiling, which the arm64 publish test proves); the rebuilt install still
      // asks the index for every package. One build proves both: each mirror logs what it served.
      const pypi = pypiMirror();
      const debian = debianMirror(randomUUID());
      await Promise.all([pypi.start(), debian.service.start()]);
      try {
        const index = `${await pypi.endpoint({ port: 8080, scheme: "http" })}/simple`;
        const aptMirror = `${await debian.service.endpoint({ port: 8080, scheme: "http" })}/debian`;
        const module = pycroft("example", { pythonIndex: index, aptMirror });
        // The three builds at once: while one waits on a mirror, another installs.
        const [dev, prod] = await Promise.all([
          module.dev().then((c) => c.sync()),
          module.buildProd().then((c) => c.sync()),
          module.openldap().then((ldap) => ldap.start()).then((ldap) => ldap.stop({ kill: true })),
        ]);
        expect(await sh(dev, "python -c 'import flask, example_widgets, web.app; print(flask.__version__, web.app.__file__)'")).toBe(
          `${flask} /opt/pycroft/app/web/app.py\n`,
        );
        const sources = "cat /etc/apt/sources.list.d/*.sources /etc/apt/sources.list 2>/dev/null | grep -E '^(URIs: |deb )'";
        expect(await sh(dev, sources)).toContain(aptMirror);
        expect(await sh(prod, "python -c 'import flask, web.app; print(flask.__version__, web.app.__file__)'")).toMatch(
          new RegExp(`^${flask.replaceAll(".", "\\.")} /opt/pycroft/venv/lib/python3[.\\d]+/site-packages/web/app\\.py\n$`),
        );
        expect(await exitCode(prod, ["python", "-c", "import pytest"])).not.toBe(0);
        // The image's config holds what the app needs at run time, not the build's index or uv settings.
        const env = await Promise.all((await prod.envVariables()).map((v) => v.name()));
        for (const name of env) expect(name, `prod image env ${name}`).not.toMatch(/^(PIP_|UV_|DEBIAN_FRONTEND)/);
        expect(env).toEqual(expect.arrayContaining(["PATH", "VIRTUAL_ENV", "LANG", "HOME"]));

        // pip found uv, and uv the locked packages, on the mirror. (A wheel already in uv's cache volume
        // with the locked hash is not downloaded again, so the test asks for the index pages only.)
        const asked = await dag.container().from(PYTHON_IMAGE).withEnvVariable("CACHE_BUST", String(Date.now()))
          .withExec(["python3", "-c", `import urllib.request as u; print(u.urlopen("${index.replace(/\/simple$/, "")}/-/requests").read().decode())`])
          .stdout();
        expect(asked.split("\n")).toEqual(expect.arrayContaining(["/simple/uv/", "/simple/flask/", "/simple/celery/"]));
        const served = await debian.served();
        // Every apt-get update asked the mirror for the release file: base's, dev's and slapd's (the slapd
        // image is a Dockerfile build of its own, with its own apt steps).
        expect(served.filter((path) => /\/dists\/bookworm\/InRelease$/.test(path)).length, served.join("\n")).toBeGreaterThanOrEqual(3);
        // The slapd image has no package cache: its packages came through the mirror.
        expect(served.some((path) => /\/pool\/main\/o\/openldap\/slapd_[^/]+\.deb$/.test(path)), served.join("\n")).toBe(true);
      } finally {
        await Promise.all([pypi.stop(), debian.service.stop({ kill: true })]);
      }
    });
  });

  it("export writes a tarball that docker load accepts and docker runs", async () => {
    const dir = mkdtempSync(join(tmpdir(), "pycroft-export-"));
    const tarball = join(dir, "pycroft.tar");
    await session(async () => {
      await (await pycroft("example", e2ePasswords()).buildProd()).export(tarball);
    });
    // The image's config, history and every layer: no service password in any of them.
    const unpacked = join(dir, "unpacked");
    mkdirSync(unpacked);
    execFileSync("tar", ["-xf", tarball, "-C", unpacked]);
    const layers = execFileSync("find", [unpacked, "-type", "f"], { encoding: "utf8" }).trim().split("\n");
    expect(layers.length).toBeGreaterThan(3);
    for (const file of layers) {
      const inner = join(dir, "layer");
      // A layer is a (gzipped) tar: search its files one by one, not just its compressed bytes.
      if (execFileSync("sh", ["-c", `tar -tf "$1" >/dev/null 2>&1 && echo tar || true`, "sh", file], { encoding: "utf8" }).trim() === "tar") {
        mkdirSync(inner);
        execFileSync("tar", ["-xf", file, "-C", inner, "--no-same-owner"]);
        expect(leaksIn(inner), file).toEqual({});
        rmSync(inner, { recursive: true });
      } else {
        expect(leakedPasswords(readFileSync(file)), file).toEqual([]);
      }
    }
    const loaded = execFileSync("docker", ["load", "-i", tarball], { encoding: "utf8" });
    const image = loaded.match(/Loaded image(?: ID)?: (\S+)/)?.[1];
    expect(image, loaded).toBeTruthy();
    // Each run loads a new image (the export time is in its config): leave none behind in docker.
    onTestFinished(() => void execFileSync("docker", ["rmi", "--force", image!], { stdio: "ignore" }));
    const out = execFileSync("docker", ["run", "--rm", image!, "python", "-c", "import web.app, os; print(os.getuid())"], { encoding: "utf8" });
    expect(out.trim()).toBe("1000");
  });
});

/** The version uv.lock pins for a package of the example. */
function lockedVersion(name: string): string {
  const version = readFileSync("example/uv.lock", "utf8").match(new RegExp(`\\[\\[package\\]\\]\\nname = "${name}"\\nversion = "([^"]+)"`))?.[1];
  if (!version) throw new Error(`${name} is not in example/uv.lock`);
  return version;
}

/**
 * A Debian mirror (test/support/debian-mirror.py: Debian's archive passed on from deb.debian.org) as
 * a service of the session, a new one per run id, and a function that lists the paths it served.
 */
function debianMirror(run: string) {
  const service = dag
    .container()
    .from(PYTHON_IMAGE)
    .withFile("/srv/debian-mirror.py", dag.host().file("test/support/debian-mirror.py"))
    .withEnvVariable("MIRROR_RUN", run)
    .withExposedPort(8080)
    .asService({ args: ["python3", "/srv/debian-mirror.py", "8080"] });
  const served = async () => {
    const url = `${await service.endpoint({ port: 8080, scheme: "http" })}/-/requests`;
    const text = await dag.container().from(PYTHON_IMAGE).withEnvVariable("CACHE_BUST", randomUUID())
      .withExec(["python3", "-c", `import urllib.request as u; print(u.urlopen("${url}").read().decode())`])
      .stdout();
    return text.trim().split("\n");
  };
  return { service, served };
}

/** test/support/pypi-mirror.py as a service of the session: a new instance, with the same URL every run. */
function pypiMirror() {
  return dag
    .container()
    .from(PYTHON_IMAGE)
    .withFile("/srv/pypi-mirror.py", dag.host().file("test/support/pypi-mirror.py"))
    .withExposedPort(8080)
    .asService({ args: ["python3", "/srv/pypi-mirror.py", "8080"] });
}
