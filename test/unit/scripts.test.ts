// The shell scripts the pipelines run in their containers, taken from the pipelines the fake engine
// records and run here with bash, against stand-ins for the tools they call (apt-get, uv, pytest,
// uwsgi, celery…): what each one does, in which order, with what exit code and message.
import { spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { OPTIONS } from "../../src/config.js";
import { CDS_TRAINING } from "../../src/services/keycloak.js";
import { script } from "../../src/scripts/index.js";
import { AMQP_READY } from "../../src/services/rabbitmq.js";
import { bound, Chain, formatChain, serviceOf, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";
import { freePort, runScript, tempDir } from "../support/run-script.js";

/** The arguments of the one `withExec` whose arguments satisfy `match`. */
function execArgs(chain: Chain, what: string, match: (args: string[]) => boolean): string[] {
  const found = steps(chain, "withExec").map((s) => s.args.args as string[]).filter(match);
  if (found.length !== 1) throw new Error(`expected one exec of ${what}, found ${found.length} in:\n${formatChain(chain)}`);
  return found[0]!;
}

/** Replaces an absolute path in a script by one under the test's temp dir; fails if the script lacks it. */
function relocate(script: string, path: string, to: string): string {
  if (!script.includes(path)) throw new Error(`the script does not use ${path}:\n${script}`);
  return script.replaceAll(path, to);
}

describe("the prod image's entrypoint", () => {
  async function entrypoint(...buildProdArgs: Parameters<ReturnType<typeof module>["buildProd"]>): Promise<string> {
    return withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().buildProd(...buildProdArgs)).sync();
      const chain = engine.lastChain();
      expect(step(chain, "withEntrypoint").args.args).toEqual(["/usr/local/bin/pycroft-entrypoint"]);
      return step(chain, "withNewFile", { path: "/usr/local/bin/pycroft-entrypoint" }).args.contents as string;
    });
  }
  const standIns = { uwsgi: { does: "exit 0" }, celery: { does: "exit 0" }, flask: { does: "exit 4" } };
  function run(script: string, ...args: string[]) {
    const dir = tempDir("entrypoint");
    writeFileSync(join(dir, "entrypoint"), script);
    chmodSync(join(dir, "entrypoint"), 0o755);
    return runScript([join(dir, "entrypoint"), ...args], { dir, standIns });
  }

  it("serves the app with uwsgi by default, over HTTP on port 5000, passing extra arguments on", async () => {
    const script = await entrypoint();
    expect(script.startsWith("#!/bin/bash\n")).toBe(true);
    expect(run(script).calls).toEqual(["uwsgi --master --http-socket :5000 --module scripts.server_run:prepare_server() --die-on-term"]);
    expect(run(script, "uwsgi", "--processes", "4").calls).toEqual([
      "uwsgi --master --http-socket :5000 --module scripts.server_run:prepare_server() --die-on-term --processes 4",
    ]);
  });

  it("runs the Celery worker with beat for `worker`, and any other command as given, with its exit code", async () => {
    const script = await entrypoint();
    expect(run(script, "worker", "--loglevel=info").calls).toEqual(["celery -A pycroft.task worker -B --loglevel=info"]);
    const flask = run(script, "flask", "alembic", "upgrade", "head");
    expect(flask.calls).toEqual(["flask alembic upgrade head"]);
    expect(flask.status).toBe(4);
    const missing = run(script, "no-such-command");
    expect(missing.status).toBe(127);
  });

  it("speaks the uwsgi protocol to a proxy, and serves the app and Celery app given", async () => {
    const script = await entrypoint("web.app:make_app()", undefined, undefined, undefined, undefined, undefined, "uwsgi", "other.tasks:app");
    expect(run(script).calls).toEqual(["uwsgi --master --uwsgi-socket :5000 --module web.app:make_app() --die-on-term"]);
    expect(run(script, "worker").calls).toEqual(["celery -A other.tasks:app worker -B"]);
  });
});

describe("the pytest run", () => {
  async function pytestCommand(args: string[] = []): Promise<string[]> {
    return withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().testReport(args)).sync();
      const reports = step(engine.lastChain(), "withDirectory", { path: "." }).args.source as Chain;
      expect(reports.at(-1)).toEqual({ field: "directory", args: { path: "/opt/pycroft/reports" } });
      return execArgs(reports, "pytest", (a) => a.includes("/opt/pycroft/reports"));
    });
  }

  it("writes JUnit XML, coverage reports, the log and the exit code to the reports dir, and exits with pytest's code", async () => {
    const command = await pytestCommand(["-k", "ldap"]);
    const dir = tempDir("pytest");
    const reports = join(dir, "out", "reports");
    const ran = runScript(command.map((a) => (a === "/opt/pycroft/reports" ? reports : a)), {
      dir,
      standIns: { python: { does: 'echo "FAILED tests/test_x.py::test_y"; echo "1 failed, 4 passed" >&2; exit 1' } },
    });
    expect(ran.calls).toEqual([
      `python /usr/local/lib/pycroft-pytest/pycroft-pytest.py -v --junitxml=${reports}/junit.xml --cov-report=xml:${reports}/coverage.xml --cov-report=html:${reports}/htmlcov ` +
        "--cov=pycroft --cov=web --cov=ldap_sync --cov=hades_logs -k ldap",
    ]);
    expect(ran.status).toBe(1);
    // pytest's output, stderr included, goes to the caller and to the log.
    expect(ran.stdout).toBe("FAILED tests/test_x.py::test_y\n1 failed, 4 passed\n");
    expect(readFileSync(join(reports, "pytest.log"), "utf8")).toBe(ran.stdout);
    expect(readFileSync(join(reports, "exit-code"), "utf8")).toBe("1\n");
  });

  it("leaves a shard's coverage as data only: the merge reports all shards at once", async () => {
    const command = await pytestCommand();
    const dir = tempDir("pytest");
    const ran = runScript(command.map((a) => (a === "/opt/pycroft/reports" ? join(dir, "r") : a)), {
      dir,
      env: { PYCROFT_SHARD: "1/2" },
      standIns: { python: { does: 'echo "5 passed"' } },
    });
    expect(ran.calls).toEqual([`python /usr/local/lib/pycroft-pytest/pycroft-pytest.py -v --junitxml=${join(dir, "r")}/junit.xml --cov-report= --cov=pycroft --cov=web --cov=ldap_sync --cov=hades_logs`]);
    expect(ran.status).toBe(0);
  });

  it("runs test's pytest without coverage: no tracer, no coverage reports", async () => {
    const command = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().test(["-k", "ldap"]);
      return execArgs(engine.chains("exitCode")[0]!, "pytest", (a) => a.includes("/opt/pycroft/reports"));
    });
    const dir = tempDir("pytest");
    const reports = join(dir, "r");
    const ran = runScript(command.map((a) => (a === "/opt/pycroft/reports" ? reports : a)), {
      dir,
      standIns: { python: { does: 'echo "5 passed"' } },
    });
    expect(ran.calls).toEqual([`python /usr/local/lib/pycroft-pytest/pycroft-pytest.py -v --junitxml=${reports}/junit.xml -k ldap`]);
    expect(ran.status).toBe(0);
    expect(readFileSync(join(reports, "exit-code"), "utf8")).toBe("0\n");
  });

  it("records a passing run as exit code 0", async () => {
    const command = await pytestCommand();
    const dir = tempDir("pytest");
    const ran = runScript(command.map((a) => (a === "/opt/pycroft/reports" ? join(dir, "r") : a)), {
      dir,
      standIns: { python: { does: 'echo "5 passed"' } },
    });
    expect(ran.status).toBe(0);
    expect(readFileSync(join(dir, "r", "exit-code"), "utf8")).toBe("0\n");
  });

  it("runs every call anew: each test run sets a value of its own before pytest runs", async () => {
    const runs = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().test();
      await module().test();
      return engine.chains("exitCode").map((pytest) => {
        const i = pytest.findIndex((s) => s.field === "withEnvVariable" && s.args.name === "PYCROFT_TEST_RUN");
        const run = pytest.map((s) => s.field).lastIndexOf("withExec");
        expect(i, formatChain(pytest)).toBeGreaterThanOrEqual(0);
        // Set before the exec, so it is part of the exec's cache key.
        expect(i).toBeLessThan(run);
        expect((pytest[run]!.args.args as string[]).join(" ")).toContain("pycroft-pytest.py /opt/pycroft/reports");
        return pytest[i]!.args.value as string;
      });
    });
    expect(runs).toHaveLength(2);
    expect(runs[0]).toMatch(/\S{8,}/);
    expect(runs[0]).not.toBe(runs[1]);
  });
});

describe("apt", () => {
  async function baseChain(aptMirror?: string): Promise<Chain> {
    return withFakeEngine(async (engine) => {
      await module({ aptMirror }).base().sync();
      return engine.lastChain();
    });
  }

  it("points Debian's main archive at the mirror, in both source formats, and leaves security updates upstream", async () => {
    const command = execArgs(await baseChain("http://ftp.agdsn.de/debian"), "mirror", (a) => a.at(-1) === "http://ftp.agdsn.de/debian");
    expect(command.slice(3)).toEqual(["apt-mirror", "http://ftp.agdsn.de/debian"]);
    const dir = tempDir("apt");
    mkdirSync(join(dir, "sources.list.d"));
    // Only deb.debian.org's main archive: not its security archive, another host, or a host that merely looks alike.
    const others = "deb https://deb.debian.org/debian-security bookworm-security main\ndeb http://mirror.example.org/debian bookworm main\ndeb http://debXdebian.org/debian bookworm main\n";
    writeFileSync(join(dir, "sources.list"), `deb http://deb.debian.org/debian bookworm main\n${others}`);
    writeFileSync(join(dir, "sources.list.d", "debian.sources"), "Types: deb\nURIs: http://deb.debian.org/debian\nSuites: bookworm bookworm-updates\n");
    const script = relocate(command[2]!, "/etc/apt/", `${dir}/`);
    const ran = runScript([command[0]!, command[1]!, script, ...command.slice(3)], { dir });
    expect(ran.status).toBe(0);
    expect(readFileSync(join(dir, "sources.list"), "utf8")).toBe(
      `deb http://ftp.agdsn.de/debian bookworm main\n${others}`,
    );
    expect(readFileSync(join(dir, "sources.list.d", "debian.sources"), "utf8")).toBe(
      "Types: deb\nURIs: http://ftp.agdsn.de/debian\nSuites: bookworm bookworm-updates\n",
    );
  });

  it("changes no source without a mirror", async () => {
    const chain = await baseChain();
    expect(steps(chain, "withExec").filter((s) => String(s.args.args).includes("sed -i"))).toEqual([]);
  });

  it("updates, then installs the packages without recommends; a mirror that does not answer fails with what to check", async () => {
    const withMirror = execArgs(await baseChain("http://ftp.agdsn.de/debian"), "apt-install", (a) => a[3] === "apt-install");
    const ok = runScript(withMirror, { standIns: { "apt-get": {} } });
    expect(ok.calls).toEqual([
      "apt-get update -q --error-on=any -o Acquire::http::Timeout=20 -o Acquire::Retries=1",
      "apt-get install -y -q --no-install-recommends bash libpq5",
    ]);
    expect(ok.status).toBe(0);

    const down = runScript(withMirror, { standIns: { "apt-get": { does: '[ "$1" = update ] && exit 100' } } });
    expect(down.status).toBe(1);
    expect(down.calls).toHaveLength(1);
    expect(down.stderr).toContain(
      "apt could not update from the Debian mirror http://ftp.agdsn.de/debian: check --apt-mirror (a Debian archive, as http://deb.debian.org/debian is) and that the engine reaches it",
    );

    const upstream = execArgs(await baseChain(), "apt-install", (a) => a[3] === "apt-install");
    const plain = runScript(upstream, { standIns: { "apt-get": {} } });
    expect(plain.calls).toEqual(["apt-get update -q", "apt-get install -y -q --no-install-recommends bash libpq5"]);
    const failing = runScript(upstream, { standIns: { "apt-get": { does: '[ "$1" = install ] && exit 100' } } });
    expect(failing.status).toBe(100);
  });

  it("keeps apt's lists and downloads on locked cache volumes, never in the image, and keeps the downloads", async () => {
    const chain = await baseChain();
    const install = chain.findIndex((s) => s.field === "withExec" && (s.args.args as string[])[3] === "apt-install");
    const mounts = steps(chain.slice(0, install), "withMountedCache").map((s) => [s.args.path, s.args.cache[0].args.key, s.args.sharing]);
    expect(mounts).toEqual([
      ["/var/cache/apt", "pycroft-apt-archives", "LOCKED"],
      ["/var/lib/apt/lists", "pycroft-apt-lists-engine", "LOCKED"],
    ]);
    expect((chain[install - 1]!.args.args as string[]).join(" ")).toBe("rm -f /etc/apt/apt.conf.d/docker-clean");
    expect(chain.slice(install + 1, install + 3).map((s) => [s.field, s.args.path])).toEqual([
      ["withoutMount", "/var/cache/apt"],
      ["withoutMount", "/var/lib/apt/lists"],
    ]);
  });
});

describe("the app user", () => {
  async function addUser(opts = {}): Promise<string[]> {
    return withFakeEngine(async (engine) => {
      await module(opts).base().sync();
      return execArgs(engine.lastChain(), "add-user", (a) => a[3] === "add-user");
    });
  }

  it("creates the group and the user with the IDs and home asked for, and gives the user its home and cache", async () => {
    const command = await addUser({ uid: 1234, gid: 4321, user: "app" });
    const dir = tempDir("add-user");
    const home = join(dir, "home");
    const ran = runScript(command.map((a) => (a === "/opt/pycroft" ? home : a)), {
      dir,
      standIns: { getent: { does: "exit 2" }, id: { does: "exit 1" }, groupadd: {}, useradd: {}, chown: {} },
    });
    expect(ran.status).toBe(0);
    expect(ran.calls).toEqual([
      "getent group 4321",
      "groupadd --gid 4321 app",
      "id -u app",
      `useradd --non-unique --uid 1234 --gid 4321 --home-dir ${home} --create-home --comment Application app`,
      `chown 1234:4321 ${home} ${home}/.cache`,
    ]);
    expect(existsSync(join(home, ".cache"))).toBe(true);
  });

  it("reuses a group or user the image already has", async () => {
    const command = await addUser();
    const dir = tempDir("add-user");
    const ran = runScript(command.map((a) => (a === "/opt/pycroft" ? join(dir, "home") : a)), {
      dir,
      standIns: { getent: {}, id: {}, groupadd: {}, useradd: {}, chown: {} },
    });
    expect(ran.status).toBe(0);
    expect(ran.calls.map((c) => c.split(" ")[0])).toEqual(["getent", "id", "chown"]);
  });

  it("stops at the first step that fails", async () => {
    const command = await addUser();
    const dir = tempDir("add-user");
    const ran = runScript(command.map((a) => (a === "/opt/pycroft" ? join(dir, "home") : a)), {
      dir,
      standIns: { getent: { does: "exit 2" }, groupadd: { does: "exit 9" }, id: {}, useradd: {}, chown: {} },
    });
    expect(ran.status).toBe(9);
    expect(ran.calls).toEqual(["getent group 1000", "groupadd --gid 1000 pycroft"]);
  });
});

describe("the Python installs", () => {
  async function devChain(opts = {}): Promise<Chain> {
    return withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module(opts).dev()).sync();
      return engine.lastChain();
    });
  }
  /** The example's project files in a temp dir, with `python` the Python here. */
  function project(files: Record<string, string> = {}): string {
    const dir = tempDir("uv-project");
    writeFileSync(join(dir, "pyproject.toml"), '[project]\nname = "x"\nversion = "1"\n');
    writeFileSync(join(dir, "uv.lock"), readFileSync("example/uv.lock", "utf8"));
    for (const [name, text] of Object.entries(files)) writeFileSync(join(dir, name), text);
    return dir;
  }
  const python = { python: { does: 'exec python3 "$@"' } };

  it("checks the lock before installing: an unparsable pyproject.toml or an outdated lock fails with the fix", async () => {
    const check = execArgs(await devChain(), "lock check", (a) => a.join(" ").includes("uv lock --check"));

    const fresh = runScript(check, { dir: project(), standIns: { ...python, uv: {} } });
    expect(fresh.status).toBe(0);
    expect(fresh.calls.filter((c) => c.startsWith("uv"))).toEqual(["uv lock --check"]);

    const outdated = runScript(check, { dir: project(), standIns: { ...python, uv: { does: "exit 1" } } });
    expect(outdated.status).toBe(1);
    expect(outdated.stderr).toContain("uv.lock is out of date with pyproject.toml: run 'uv lock' in the source and commit uv.lock");

    const broken = runScript(check, { dir: project({ "pyproject.toml": "[project\nname = 1\n" }), standIns: { ...python, uv: {} } });
    expect(broken.status).toBe(1);
    expect(broken.stderr).toMatch(/^pyproject.toml does not parse \(.+\): fix it, then run 'uv lock' and commit uv.lock$/m);
    expect(broken.calls.filter((c) => c.startsWith("uv"))).toEqual([]);
  });

  it("with a Python index, checks the lock as if resolved from it, and installs exactly the locked files from it", async () => {
    const chain = await devChain({ pythonIndex: "https://pypi.agdsn.de/simple", noInstallPackage: ["guzzle-sphinx-theme"] });
    const rewrite = execArgs(chain, "lock rewrite", (a) => a[0] === "python" && a[1] === "-c");
    const dir = project();
    const ran = runScript(rewrite, { dir, standIns: python, env: { UV_DEFAULT_INDEX: "https://pypi.agdsn.de/simple" } });
    expect(ran.status).toBe(0);
    const lock = readFileSync(join(dir, "uv.lock"), "utf8");
    expect(lock).toContain('registry = "https://pypi.agdsn.de/simple"');
    expect(lock).not.toContain('registry = "https://pypi.org/simple"');

    const sync = execArgs(chain, "mirror sync", (a) => a.includes("mirror-sync"));
    const synced = runScript(sync, { dir, standIns: { ...python, uv: { does: '[ "$1" = export ] && touch /tmp/uv-locked.txt; exit 0' } } });
    expect(synced.status).toBe(0);
    expect(synced.calls).toEqual([
      "uv export --frozen --quiet --format requirements-txt --no-emit-project --no-emit-package guzzle-sphinx-theme -o /tmp/uv-locked.txt",
      "uv pip sync --compile-bytecode /tmp/uv-locked.txt",
    ]);
    expect(steps(chain, "withExec").at(-1)?.args.args).toEqual(["uv", "pip", "install", "--no-deps", "--editable", "."]);
  });

  it("names a git dependency that could not be fetched and the option that leaves it out, keeping the install's exit code", async () => {
    const install = execArgs(await devChain(), "dependency install", (a) => a.includes("--no-install-project"));
    const lock = [
      'version = 1',
      '[[package]]\nname = "guzzle-sphinx-theme"\nversion = "0.7.11"\nsource = { git = "https://github.com/guzzle/guzzle_sphinx_theme?rev=abc" }',
      '[[package]]\nname = "flask"\nversion = "3.0.0"\nsource = { registry = "https://pypi.org/simple" }',
    ].join("\n\n");
    const dir = project({ "uv.lock": lock });
    const failed = runScript(install, {
      dir,
      standIns: { ...python, uv: { does: 'echo "Resolved 3 packages"; echo "error: Failed to download and build guzzle-sphinx-theme @ git+https://github.com/guzzle/guzzle_sphinx_theme" >&2; exit 2' } },
    });
    expect(failed.calls.filter((c) => c.startsWith("uv"))).toEqual(["uv sync --locked --no-install-project --compile-bytecode"]);
    expect(failed.status).toBe(2);
    expect(failed.stdout).toBe("Resolved 3 packages\n");
    expect(failed.stderr).toContain("error: Failed to download and build guzzle-sphinx-theme");
    expect(failed.stderr).toContain(
      "guzzle-sphinx-theme: a git dependency that could not be fetched. Where its repository cannot be reached, leave it out with --no-install-package guzzle-sphinx-theme",
    );

    const otherFailure = runScript(install, { dir, standIns: { ...python, uv: { does: 'echo "error: No space left on device" >&2; exit 2' } } });
    expect(otherFailure.status).toBe(2);
    expect(otherFailure.stderr).toBe("error: No space left on device\n");

    const ok = runScript(install, { dir, standIns: { ...python, uv: { does: 'echo "Installed 3 packages" >&2' } } });
    expect(ok.status).toBe(0);
    expect(ok.stderr).toBe("Installed 3 packages\n");
  });

  it("keeps the install's errors in a temporary file of its own, gone when it ends, failed or not", async () => {
    const install = execArgs(await devChain(), "dependency install", (a) => a.includes("--no-install-project"));
    const dir = project({ "uv.lock": 'version = 1\n\n[[package]]\nname = "flask"\nversion = "3.0.0"\nsource = { registry = "https://pypi.org/simple" }' });
    for (const does of ['echo "error: No space left on device" >&2; exit 2', 'echo "Installed 3 packages" >&2']) {
      const tmp = tempDir("install-tmp");
      const ran = runScript(install, { dir, standIns: { ...python, uv: { does: `ls "$TMPDIR" >> ${tmp}.seen; ${does}` } }, env: { TMPDIR: tmp } });
      expect(ran.stderr).not.toMatch(/mktemp|No such file/);
      // The file existed while uv ran, and nothing is left of it.
      expect(readFileSync(`${tmp}.seen`, "utf8").trim()).toMatch(/^tmp\.\w+$/);
      expect(readdirSync(tmp)).toEqual([]);
    }
  });
});

describe("migrate", () => {
  it("runs the migration on a database of its own, alone, with alembic's log (on stderr) in its output", async () => {
    const command = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", "INFO  [alembic.runtime.migration] Running upgrade -> abc\n");
      expect(await module().migrate()).toContain("Running upgrade");
      // Against a fresh database alone, as Pycroft's dev-migrate runs: nothing else is started.
      const bound = steps(engine.chains("stdout").at(-1)!, "withServiceBinding");
      expect(bound.map((b) => b.args.alias)).toEqual(["db"]);
      expect(steps(bound[0]!.args.service, "from").map((f) => f.args.address)).toEqual([OPTIONS.postgresImage.default]);
      return steps(engine.chains("stdout").at(-1)!, "withExec").at(-1)!.args.args as string[];
    });
    const ran = runScript(command, { standIns: { flask: { does: 'echo "INFO  [alembic] Running upgrade" >&2' } } });
    expect(ran.calls).toEqual(["flask alembic upgrade head"]);
    expect(ran.stdout).toBe("INFO  [alembic] Running upgrade\n");
    expect(ran.stderr).toBe("");
  });
});

describe("migrate after --db-init", () => {
  it("prints what the load said first, then the migration's output, stderr included, with the migration's exit code", async () => {
    const command = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("stdout", "");
      await module().migrate("flask db upgrade");
      return steps(engine.chains("stdout").at(-1)!, "withExec").at(-1)!.args.args as string[];
    });
    expect(command.slice(3)).toEqual(["migrate", "/var/log/pycroft-db-init.log", "flask db upgrade"]);
    const dir = tempDir("migrate");
    writeFileSync(join(dir, "db-init.log"), "db-init: loaded schema.sql into the database pycroft, in one transaction\n");
    const ran = runScript(command.map((arg, i) => (i === 4 ? join(dir, "db-init.log") : arg)), {
      dir,
      standIns: { flask: { does: 'echo "INFO  [alembic] Running upgrade" >&2; echo "upgraded"; exit 3' } },
    });
    expect(ran.calls).toEqual(["flask db upgrade"]);
    expect(ran.stdout).toBe("db-init: loaded schema.sql into the database pycroft, in one transaction\nINFO  [alembic] Running upgrade\nupgraded\n");
    expect([ran.status, ran.stderr]).toEqual([3, ""]);
  });
});

describe("health checks", () => {
  /** A service's health check, its log moved into a temp dir holding `log`. */
  async function healthCheck(fn: "postgres" | "rabbitmq" | "worker", log: string): Promise<{ command: string[]; dir: string }> {
    const args = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module()[fn]()).sync();
      return step(engine.lastChain(), "withDockerHealthcheck").args;
    });
    expect([args.interval, args.timeout, args.retries]).toEqual(["1s", "10s", 3]);
    const dir = tempDir("health");
    writeFileSync(join(dir, "service.log"), log);
    return { command: logMoved(args.args as string[], dir), dir };
  }
  /** The health check's command (`sh -c SCRIPT health-check READY LOG …`) with LOG in `dir`. */
  function logMoved(command: string[], dir: string): string[] {
    expect(command.slice(0, 4)).toEqual(["sh", "-c", script("health-check.sh"), "health-check"]);
    expect(command[5]).toBe("/tmp/service.log");
    // A ready command may read the log too (a worker's).
    return command.map((arg, i) => (i >= 4 ? arg.replaceAll("/tmp/service.log", join(dir, "service.log")) : arg));
  }

  it("passes once the service answers, and prints nothing", async () => {
    const { command, dir } = await healthCheck("postgres", "ready\n");
    const ran = runScript(command, { dir, standIns: { pg_isready: {}, sleep: {} } });
    expect(ran.status).toBe(0);
    expect(ran.calls).toEqual(["pg_isready -q -h 127.0.0.1 -U postgres -d pycroft"]);
    expect(ran.stderr).toBe("");
  });

  it("asks again every 0.1 s within one check, quietly, and passes as soon as the service answers", async () => {
    const { command, dir } = await healthCheck("postgres", "starting\n");
    // Not ready for the first three asks (the third says why), ready on the fourth.
    const does = 'n=$(cat asked 2>/dev/null || echo 0); echo $((n + 1)) > asked; [ "$n" -ge 3 ] || { echo "no response" >&2; exit 2; }';
    const ran = runScript(command, { dir, standIns: { pg_isready: { does }, sleep: {} } });
    expect(ran.status).toBe(0);
    const ask = "pg_isready -q -h 127.0.0.1 -U postgres -d pycroft";
    expect(ran.calls).toEqual([ask, "sleep 0.1", ask, "sleep 0.1", ask, "sleep 0.1", ask]);
    expect(ran.stderr).toBe("");
  });

  it("fails after 50 asks with the last one's error and the last 40 lines of the service's log", async () => {
    const log = Array.from({ length: 50 }, (_, i) => `log line ${i + 1}`).join("\n") + "\n";
    const { command, dir } = await healthCheck("postgres", log);
    const ran = runScript(command, { dir, standIns: { pg_isready: { does: 'echo "no response" >&2; exit 2' }, sleep: {} } });
    expect(ran.status).toBe(1);
    expect(ran.calls.filter((c) => c === "pg_isready -q -h 127.0.0.1 -U postgres -d pycroft")).toHaveLength(50);
    expect(ran.calls.filter((c) => c === "sleep 0.1")).toHaveLength(49);
    expect(ran.stderr.split("\n").filter(Boolean)).toEqual(["no response", ...log.split("\n").filter(Boolean).slice(10)]);
  });

  it("rabbitmq: ready once the port answers AMQP's protocol header with Connection.Start, not merely once it listens", async () => {
    const { command } = await healthCheck("rabbitmq", "");
    expect(command[4]).toBe(AMQP_READY);
    expect(AMQP_READY.endsWith(" 'amqp-ready' '5672'")).toBe(true);
    // A broker on a free port of this machine: what it answers to the 8 bytes of the header.
    const probe = (answer: string | undefined) => {
      const server = `import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
got = c.recv(8)
if sys.argv[1] != "-" and got == b"AMQP\\x00\\x00\\x09\\x01":
    c.sendall(bytes.fromhex(sys.argv[1]))
c.close()`;
      const script = `python3 -c '${server}' ${answer ?? "-"} > port & for i in $(seq 50); do [ -s port ] && break; sleep 0.1; done
${relocate(AMQP_READY, "'5672'", '"$(cat port)"')}`;
      return spawnSync("bash", ["-c", script], { cwd: tempDir("amqp"), encoding: "utf8", timeout: 20_000 }).status;
    };
    // RabbitMQ 3's Connection.Start: type 1, channel 0, a size, class 10, method 10, then its arguments.
    expect(probe("0100000000019c000a000a0009")).toBe(0);
    // A port that closes without a word, or answers with another frame (a protocol header back: version refused).
    expect(probe(undefined)).not.toBe(0);
    expect(probe("414d515000000901")).not.toBe(0);
    expect(probe("0100000000019c000a0014")).not.toBe(0);
  });

  it("after-broker: runs a worker's command once the broker on the host given answers AMQP, asking every 0.1 s", async () => {
    const port = await freePort();
    // A broker on another loopback address that starts listening 1 s late, then answers like RabbitMQ.
    const broker = `import socket, time
time.sleep(1)
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1); s.bind(("127.0.0.2", ${port})); s.listen(4)
for _ in range(4):
    c, _ = s.accept()
    if c.recv(8) == b"AMQP\\x00\\x00\\x09\\x01":
        c.sendall(bytes.fromhex("0100000000019c000a000a0009"))
    c.close()`;
    const words = ["bash", "-c", script("after-broker.sh"), "after-broker", script("amqp-ready.sh"), "127.0.0.2", String(port), "sh", "-c", "echo worker started"];
    const run = `python3 -c '${broker}' & ${words.map((w) => `'${w.replaceAll("'", "'\\''")}'`).join(" ")}; code=$?; kill %1 2>/dev/null; exit $code`;
    const start = performance.now();
    const ran = spawnSync("bash", ["-c", run], { cwd: tempDir("after-broker"), encoding: "utf8", timeout: 20_000 });
    expect([ran.status, ran.stdout]).toEqual([0, "worker started\n"]);
    // It waited for the broker, and not Celery's seconds of retry.
    expect(performance.now() - start).toBeGreaterThan(900);
    expect(performance.now() - start).toBeLessThan(5000);
  });

  it("mail: ready once the server holds an SMTP conversation, not merely once it listens", async () => {
    const ready = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devEnv()).sync();
      const mail = bound(serviceOf(engine.lastChain()).container).mail!;
      return (step(mail.container, "withDockerHealthcheck").args.args as string[])[4]!;
    });
    expect(ready.endsWith(" '2500'")).toBe(true);
    // A server on a free port of this machine: each reply after a line from the client, until it hangs up.
    const probe = (...replies: string[]) => {
      const server = `import socket, sys
s = socket.socket(); s.bind(("127.0.0.1", 0)); s.listen(1)
print(s.getsockname()[1], flush=True)
c, _ = s.accept()
f = c.makefile("rwb")
for reply in sys.argv[1:]:
    if reply == "hang up":
        break
    f.write(reply.encode() + b"\\r\\n"); f.flush()
    if not f.readline():
        break
c.close()`;
      const script = `python3 -c '${server}' ${replies.map((r) => `'${r}'`).join(" ")} > port & for i in $(seq 50); do [ -s port ] && break; sleep 0.1; done
${relocate(ready, "'2500'", '"$(cat port)"')}`;
      return spawnSync("bash", ["-c", script], { cwd: tempDir("smtp"), encoding: "utf8", timeout: 20_000 }).status;
    };
    expect(probe("220 mail ESMTP", "250 OK")).toBe(0);
    // No greeting, a refusal, or a server that hangs up on the NOOP.
    expect(probe("hang up")).not.toBe(0);
    expect(probe("554 no service")).not.toBe(0);
    expect(probe("220 mail ESMTP", "hang up")).not.toBe(0);
  });

  it("waits for a worker's ready line", async () => {
    const { command, dir } = await healthCheck("worker", "");
    const check = (log: string) => {
      writeFileSync(join(dir, "service.log"), log);
      return runScript(command, { dir, standIns: { sleep: {} } }).status;
    };
    expect(check("[2026-01-01 10:00:00,000: INFO/MainProcess] Connected to amqp://celery:**@mq:5672//\n")).toBe(1);
    expect(check("[2026-01-01 10:00:01,000: INFO/MainProcess] celery-worker@b1f2 ready.\n")).toBe(0);
    expect(check("celery-worker@b1f2 ready.\n")).toBe(1);
    // Its own node's line, not another worker's on the same broker.
    expect(check("[2026-01-01 10:00:01,000: INFO/MainProcess] celery@b1f2 ready.\n")).toBe(1);
  });
});

describe("keycloak's class archive", () => {
  /** The training start's command, from the module's keycloak, with its port, archive and deadline moved here. */
  async function training(dir: string, port: number, deadline = 300): Promise<string[]> {
    const command = await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().keycloak()).sync();
      const { container } = serviceOf(engine.lastChain());
      return execArgs(container, "training start", (a) => a[0] === "bash" && a[2] === CDS_TRAINING);
    });
    const [bash, c, script, name, limit, archive, ready, kc, ...start] = command;
    expect([limit, archive, kc]).toEqual(["300", "/opt/keycloak/data/keycloak.jsa", "/opt/keycloak/bin/kc.sh"]);
    return [bash!, c!, script!, name!, String(deadline), join(dir, "keycloak.jsa"), relocate(ready!, "'keycloak-ready' '9000'", `'keycloak-ready' '${port}'`), "kc.sh", ...start];
  }

  /** A stand-in keycloak on `port`: answers `status` to every request; on TERM, writes the archive if asked, and exits as the JVM does (143). */
  const keycloakOn = (port: number, status: number, archive: boolean) => ({
    does: `exec python3 -c '
import http.server, signal, sys
def stop(*_):
    ${archive ? 'open("keycloak.jsa", "w").write("classes")' : "pass"}
    sys.exit(143)
signal.signal(signal.SIGTERM, stop)
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        self.send_response(${status}); self.end_headers()
    def log_message(self, *a): pass
http.server.HTTPServer(("127.0.0.1", ${port}), H).serve_forever()'`,
  });

  it("starts keycloak as the service does, stops it once ready, and passes when the JVM has written the archive", async () => {
    const dir = tempDir("kc-training");
    const port = await freePort();
    const ran = runScript(await training(dir, port), { dir, standIns: { "kc.sh": keycloakOn(port, 200, true) } });
    expect(ran.stderr).toBe("");
    expect(ran.status).toBe(0);
    expect(ran.calls).toEqual(["kc.sh start --optimized --http-enabled=true --hostname-strict=false --cache=local"]);
    expect(readFileSync(join(dir, "keycloak.jsa"), "utf8")).toBe("classes");
  });

  it("fails, saying why, when keycloak exits, never gets ready, or leaves no archive", async () => {
    const failing = async (standIn: (port: number) => { does: string }, deadline?: number) => {
      const dir = tempDir("kc-training");
      const port = await freePort();
      return runScript(await training(dir, port, deadline), { dir, standIns: { "kc.sh": standIn(port) } });
    };
    const exited = await failing(() => ({ does: "exit 1" }));
    expect([exited.status, exited.stderr.trim()]).toEqual([1, "keycloak exited before it was ready"]);
    const unready = await failing((port) => keycloakOn(port, 503, true), 2);
    expect([unready.status, unready.stderr.trim()]).toEqual([1, "keycloak was not ready within 2 s"]);
    const noArchive = await failing((port) => keycloakOn(port, 200, false));
    expect(noArchive.status).toBe(1);
    expect(noArchive.stderr.trim()).toMatch(/^the JVM wrote no class archive to \S+keycloak\.jsa$/);
  });
});
