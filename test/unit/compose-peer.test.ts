// The docker compose peer of `npm run bench -- compose` (test/bench/compose/) does the module's work:
// the same postgres flags, app environment, pytest command, service commands and health checks as the
// module's `test` on the example (read from the fake engine), the same images, uv, apt packages and
// installs in the Dockerfile, the same source excludes.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";

import { describe, expect, it } from "vitest";

import { appEnvironment } from "../../src/services/app-environment.js";
import { BUILD_PACKAGES, DEFAULTS, OPTIONS, RUNTIME_PACKAGES, SOURCE_EXCLUDES } from "../../src/config.js";
import { CDS_TRAINING } from "../../src/services/keycloak.js";
import { TEST_TUNING } from "../../src/services/postgres.js";
import { healthCheck } from "../../src/services/service.js";
import { PEER_LABEL } from "../bench/compose-peer.js";
import { exampleSource, module } from "../support/example.js";
import { bound, Chain, execs, FakeEngine, step, steps, withFakeEngine } from "../support/fake-engine.js";
import { runScript } from "../support/run-script.js";

const DIR = "test/bench/compose";
const COMPOSE = readFileSync(`${DIR}/compose.yaml`, "utf8").split("\n");
const DOCKERFILE = readFileSync(`${DIR}/Dockerfile`, "utf8");

// --- the subset of YAML compose.yaml is written in: block mappings, block sequences, one-line flow
// sequences and double-quoted scalars (both JSON), `|` and `|-` literal blocks.
const indentOf = (line: string) => line.length - line.trimStart().length;
const blank = (line: string) => line.trim() === "" || line.trimStart().startsWith("#");

/** The lines nested under `key:` (a key at the block's own indentation). */
function block(lines: string[], key: string): string[] {
  const own = Math.min(...lines.filter((l) => !blank(l)).map(indentOf));
  const start = lines.findIndex((l) => indentOf(l) === own && l.trimStart().startsWith(`${key}:`));
  if (start < 0) throw new Error(`compose.yaml: no ${key}`);
  const body: string[] = [];
  for (const line of lines.slice(start + 1)) {
    if (!blank(line) && indentOf(line) <= own) break;
    body.push(line);
  }
  return body;
}

/** The value written after `key:` on its line, parsed as JSON (flow sequence or quoted scalar) when it is. */
function value(lines: string[], key: string): unknown {
  const own = Math.min(...lines.filter((l) => !blank(l)).map(indentOf));
  const line = lines.find((l) => indentOf(l) === own && l.trimStart().startsWith(`${key}:`));
  if (line === undefined) throw new Error(`compose.yaml: no ${key}`);
  const text = line.trimStart().slice(key.length + 1).trim();
  return /^["[]/.test(text) ? JSON.parse(text) : text;
}

/** A block sequence of plain or double-quoted scalars and literal blocks (`|` keeps one last newline, `|-` none). */
function sequence(lines: string[]): string[] {
  const items: string[] = [];
  const own = Math.min(...lines.filter((l) => !blank(l)).map(indentOf));
  for (let i = 0; i < lines.length; i++) {
    if (blank(lines[i]!) || indentOf(lines[i]!) !== own) continue;
    const item = lines[i]!.trimStart().replace(/^- /, "");
    if (item !== "|-" && item !== "|") {
      items.push(item.startsWith('"') ? JSON.parse(item) : item);
      continue;
    }
    const body: string[] = [];
    while (i + 1 < lines.length && (lines[i + 1]!.trim() === "" || indentOf(lines[i + 1]!) > own)) body.push(lines[++i]!);
    const deep = Math.min(...body.filter((l) => l.trim()).map(indentOf));
    const text = body.map((l) => l.slice(deep)).join("\n").trimEnd();
    items.push(item === "|" ? `${text}\n` : text);
  }
  return items;
}

/** What compose makes of a value without variables: `$$` is a literal `$`, and a lone `$` would be interpolated. */
function uninterpolated(s: string): string {
  const lone = s.replaceAll("$$", "").indexOf("$");
  if (lone >= 0) throw new Error(`compose.yaml: compose would interpolate the "$" in ${JSON.stringify(s)}`);
  return s.replaceAll("$$", "$");
}
const service = (name: string) => block(block(COMPOSE, "services"), name);
/** A `${VAR:-default}` reference's default. */
const defaultOf = (ref: unknown) => String(ref).match(/^\$\{\w+:-(.*)\}$/)?.[1];

/**
 * The module's `test` on the example, as the fake engine saw it: the pytest container, and each of
 * its services as the engine checks them (test-shell's, the same services: `test` has pytest wait
 * for them instead, src/testing/ready.ts, where the peer has compose's health checks).
 */
async function moduleTest(engine: FakeEngine): Promise<{ pytest: Chain; services: { container: Chain; args: string[] }[] }> {
  exampleSource(engine);
  await module().test();
  const pytest = engine.chains("exitCode")[0]!;
  await (await module().testShell()).sync();
  return { pytest, services: Object.values(bound(engine.lastChain())) };
}

/** The command a service spec runs (after the run-service wrapper's arguments), by a word in it. */
function serviceArgs(services: { args: string[] }[], word: string): string[] {
  const found = services.find((s) => s.args.includes(word));
  if (!found) throw new Error(`the module's test starts no service running ${word}`);
  return found.args.slice(found.args.indexOf("run-service") + 5);
}

/** What the module's health check of a service asks (the poll loop's READY argument), every 0.1 s as compose's loop. */
function ready(services: { container: Chain; args: string[] }[], word: string): string {
  const found = services.find((s) => s.args.includes(word))!;
  const check = step(found.container, "withDockerHealthcheck").args.args as string[];
  const asked = check[4]!;
  expect(check).toEqual(healthCheck(asked));
  expect(check[8]).toBe("0.1");
  return asked;
}

/** The words of a command written by `shellWords` (each single-quoted). */
function unquoted(command: string): string[] {
  const words = command.match(/'(?:[^']|'\\'')*'/g) ?? [];
  expect(words.join(" ")).toBe(command);
  return words.map((w) => w.slice(1, -1).replaceAll("'\\''", "'"));
}

/**
 * What a probe script run as `bash -c SCRIPT NAME ARG` does, as one would write it inline: its code
 * without the comments, with its argument in place of "$1" and the defaults of the arguments after it.
 */
function inline(ready: string): string {
  const [bash, c, script, , arg, ...rest] = unquoted(ready);
  expect([bash, c, rest]).toEqual(["bash", "-c", []]);
  const code = script!
    .split("\n")
    .filter((line) => line.trim() !== "" && !line.startsWith("#"))
    .join("\n")
    .replace(/\$\{[2-9]:-([^}]*)\}/g, "$1");
  expect(code).toContain("$1");
  return `bash -c '${code.replace(/"([^"\s$]*)\$1([^"\s$]*)"/g, (_, before: string, after: string) => `${before}${arg}${after}`)}'`;
}

/** What a compose health check asks; it asks as the module's checks do, every 0.1 s until it passes. */
function composeAsked(test: unknown): string {
  const [kind, shell] = test as string[];
  const asked = shell?.match(/^until (.*); do sleep 0\.1; done$/s);
  expect([kind, asked?.[1]], shell).toEqual(["CMD-SHELL", expect.any(String)]);
  return asked![1]!;
}

describe("the compose peer", () => {
  it("starts postgres with the module's command and flags, on tmpfs, ready by the same pg_isready", async () => {
    await withFakeEngine(async (engine) => {
      const { services } = await moduleTest(engine);
      const db = service("db");
      // The image's entrypoint is docker-entrypoint.sh, as in the module's command.
      expect(["docker-entrypoint.sh", ...(value(db, "command") as string[])]).toEqual(serviceArgs(services, "postgres"));
      expect(value(db, "command")).toEqual(["postgres", ...TEST_TUNING.flatMap((flag) => ["-c", flag])]);
      expect(sequence(block(db, "tmpfs"))).toEqual(["/var/lib/postgresql/data"]);
      expect(value(db, "stop_signal")).toBe("SIGINT");
      const env = block(db, "environment");
      expect([value(env, "TZ"), value(env, "POSTGRES_DB"), value(env, "POSTGRES_INITDB_ARGS")]).toEqual(["Etc/UTC", "pycroft", "--locale=C --encoding=UTF-8"]);
      expect(composeAsked(value(block(db, "healthcheck"), "test"))).toBe(ready(services, "postgres"));
    });
  });

  it("gives the tests and the dummy worker the module's app environment, values included", async () => {
    await withFakeEngine(async (engine) => {
      const { pytest } = await moduleTest(engine);
      const names = await appEnvironment(DEFAULTS.passwords, DEFAULTS.ldapDomain, DEFAULTS.flaskApp);
      const moduleValue = (name: string): string =>
        name in names.secret
          ? step(pytest, "withSecretVariable", { name }).args.secret.at(-1).args.plaintext
          : step(pytest, "withEnvVariable", { name }).args.value;
      const module = Object.fromEntries([...Object.keys(names.plain), ...Object.keys(names.secret)].map((n) => [n, moduleValue(n)]));

      const compose = Object.fromEntries(block(COMPOSE, "x-app-environment").filter((l) => !blank(l)).map((l) => {
        const [, key, json] = l.match(/^\s+(\w+): (".*")$/)!;
        return [key, uninterpolated(JSON.parse(json!))];
      }));
      expect(compose).toEqual(module);
      const app = block(COMPOSE, "x-app");
      expect(value(app, "environment")).toBe("*app-environment");
      for (const name of ["test", "dummy-worker"]) expect(value(service(name), "<<")).toBe("*app");
    });
  });

  it("runs the module's pytest command line, and the dummy worker as the module does", async () => {
    await withFakeEngine(async (engine) => {
      const { pytest, services } = await moduleTest(engine);
      const run = steps(pytest, "withExec").at(-1)!.args.args as string[];
      expect(sequence(block(service("test"), "entrypoint")).map(uninterpolated)).toEqual(run);
      expect(value(service("test"), "command")).toEqual([]);
      // The runner the command names is the module's own file, where the command looks for it.
      const runner = step(pytest, "withNewFile", { path: run[4]! }).args.contents;
      const config = block(block(COMPOSE, "configs"), "pytest-runner");
      expect(readFileSync(resolve(DIR, String(value(config, "file"))), "utf8")).toBe(runner);
      expect(block(service("test"), "configs").join("\n")).toMatch(new RegExp(`source: pytest-runner\\n\\s+target: ${run[4]}$`));

      const worker = value(service("dummy-worker"), "command") as string[];
      expect(worker.slice(0, 2)).toEqual(["sh", "-c"]);
      expect(worker[2]).toContain(`${serviceArgs(services, "helpers/dummy_celery_worker.py").join(" ")} 2>&1 | tee /tmp/worker.log`);
      // Healthy on the same line of the worker's log.
      const grep = (s: string) => s.match(/grep -q ["'](.*)["'] \S+$/)?.[1];
      const composeReady = composeAsked(value(block(service("dummy-worker"), "healthcheck"), "test"));
      expect(grep(uninterpolated(composeReady))).toBe(grep(ready(services, "helpers/dummy_celery_worker.py")));
    });
  });

  it("starts keycloak, rabbitmq and slapd as the module does, with the same health checks", async () => {
    await withFakeEngine(async (engine) => {
      const { services } = await moduleTest(engine);
      const keycloak = service("keycloak");
      const kcArgs = [...(value(keycloak, "entrypoint") as string[]), ...(value(keycloak, "command") as string[])];
      expect(kcArgs).toEqual(serviceArgs(services, "--optimized"));
      expect(composeAsked(value(block(keycloak, "healthcheck"), "test"))).toBe(inline(ready(services, "--optimized")));
      // The optimized build and the realm import happen in image layers, as the module's, with its JVM options.
      const kc = services.find((s) => s.args.includes("--optimized"))!;
      const jvm = steps(kc.container, "withEnvVariable").filter((s) => s.args.name === "JAVA_OPTS_APPEND").map((s) => s.args.value as string);
      const envLines = jvm.map((v) => DOCKERFILE.indexOf(`\nENV JAVA_OPTS_APPEND=${v.includes(" ") ? JSON.stringify(v) : v}\n`));
      expect(envLines.every((at, i) => at >= 0 && (i === 0 || at > envLines[i - 1]!)), String(envLines)).toBe(true);
      for (const exec of execs(kc.container).filter((e) => e.startsWith("/opt/keycloak/bin/kc.sh"))) {
        expect(DOCKERFILE).toContain(`RUN ${exec}\n`);
      }
      // The same training start, between the two JVM settings.
      const trainingStart = steps(kc.container, "withExec").map((s) => s.args.args as string[]).find((a) => a[2] === CDS_TRAINING);
      const training = DOCKERFILE.indexOf(`\nRUN ${JSON.stringify(trainingStart)}\n`);
      expect(training > envLines[1]! && training < envLines[2]!, String(training)).toBe(true);

      const mq = service("mq");
      expect(uninterpolated(composeAsked(value(block(mq, "healthcheck"), "test")))).toBe(inline(ready(services, "rabbitmq-server")));
      expect(value(block(mq, "environment"), "RABBITMQ_DEFAULT_USER")).toBe("celery");
      expect(sequence(block(mq, "tmpfs"))).toEqual(["/var/lib/rabbitmq"]);

      const ldap = service("ldap");
      expect(sequence(block(ldap, "tmpfs"))).toEqual(["/var/lib/ldap", "/etc/ldap/slapd.d"]);
      expect(value(block(ldap, "build"), "context")).toBe("../../../dockerfiles/openldap");
      const bind = ready(services, "/usr/local/bin/slapd-entrypoint").replace(/ -y \S+$/, "");
      expect(composeAsked(value(block(ldap, "healthcheck"), "test"))).toMatch(new RegExp(`^${bind.replace(/[.*+?^${}()|[\]\\]/g, "\\$&")} -w `));
    });
  });

  it("uses the module's default images, uv and apt packages, and its installs in the same order", () => {
    expect(defaultOf(value(service("db"), "image"))).toBe(OPTIONS.postgresImage.default);
    expect(defaultOf(value(service("mq"), "image"))).toBe(OPTIONS.rabbitmqImage.default);
    expect(defaultOf(value(block(block(service("ldap"), "build"), "args"), "BASE_IMAGE"))).toBe(OPTIONS.debianImage.default);
    expect(defaultOf(value(block(block(service("keycloak"), "build"), "args"), "KEYCLOAK_IMAGE"))).toBe(DEFAULTS.keycloakImage);
    expect(defaultOf(value(block(block(block(COMPOSE, "x-app"), "build"), "args"), "PYTHON_IMAGE"))).toBe(OPTIONS.pythonImage.default);
    expect(DOCKERFILE).toContain(`ARG PYTHON_IMAGE=${OPTIONS.pythonImage.default}\n`);
    expect(DOCKERFILE).toContain(`ARG KEYCLOAK_IMAGE=${DEFAULTS.keycloakImage}\n`);
    expect(DOCKERFILE).toContain(`ARG UV_VERSION=${OPTIONS.uvVersion.default}\n`);

    const installs = [...DOCKERFILE.replaceAll("\\\n", " ").matchAll(/apt-get install -y -q --no-install-recommends ([^\n]*)/g)].map((m) =>
      m[1]!.trim().split(/\s+/),
    );
    expect(installs).toEqual([[...RUNTIME_PACKAGES], [...BUILD_PACKAGES]]);

    // Locked deps from the manifests, then the source, then the project; the bundle built apart.
    const order = [
      "COPY --chown=pycroft:pycroft pyproject.toml uv.lock ./",
      "uv sync --locked --no-install-project --compile-bytecode",
      "COPY --chown=pycroft:pycroft . .",
      "uv sync --locked\n",
      "COPY --from=bundle",
    ].map((s) => DOCKERFILE.indexOf(s));
    expect(order.every((i) => i >= 0)).toBe(true);
    expect([...order].sort((a, b) => a - b)).toEqual(order);
    expect(DOCKERFILE).toContain("npm ci --no-audit --no-fund");
    expect(DOCKERFILE).toContain("npm run bundle -- --prod");
    for (const cache of ["/var/cache/apt", "/var/lib/apt/lists", "/opt/pycroft/.cache/uv", "/opt/pycroft/.npm"]) {
      expect(DOCKERFILE).toContain(`--mount=type=cache,target=${cache}`);
    }
  });

  it("leaves out of the image what the module never uploads", () => {
    const ignored = readFileSync(`${DIR}/Dockerfile.dockerignore`, "utf8").split("\n").filter((l) => !blank(l));
    expect(ignored).toEqual(expect.arrayContaining(SOURCE_EXCLUDES));
  });

  it("labels every image it builds with the label the bench prunes superseded images by", () => {
    const [key, label] = PEER_LABEL.split("=");
    expect(value(block(COMPOSE, "x-peer-labels"), key!)).toBe(label);
    const builds = [block(COMPOSE, "x-app"), service("ldap"), service("keycloak")].map((owner) => block(owner, "build"));
    expect(COMPOSE.filter((l) => l.trim() === "build:")).toHaveLength(builds.length);
    for (const build of builds) expect(value(build, "labels")).toBe("*peer-labels");
  });

  describe("test.sh", () => {
    const testSh = (env: Record<string, string> = {}) =>
      runScript(["bash", `${process.cwd()}/${DIR}/test.sh`, "-k", "db"], {
        standIns: { docker: { does: 'case "$*" in *" run "*) echo "pytest ran";; esac' } },
        env: { PYCROFT_SOURCE: `${process.cwd()}/example`, ...env },
      });
    const compose = `compose -f ${process.cwd()}/${DIR}/compose.yaml`;

    it("starts fresh services, runs pytest once they are ready, and throws them away", () => {
      const ran = testSh();
      expect(ran.status).toBe(0);
      expect(ran.stdout).toBe("pytest ran\n");
      expect(ran.calls).toContain(`docker ${compose} up --detach --wait --no-build db mq`);
      expect(ran.calls.at(-2)).toBe(`docker ${compose} run --rm --no-deps test -k db`);
      expect(ran.calls.at(-1)).toBe(`docker ${compose} down --volumes --timeout 0`);
      expect(ran.calls.filter((c) => c.includes(" build ")).sort()).toEqual([`docker ${compose} build ldap keycloak`, `docker ${compose} build test`]);
    });

    it("builds nothing after a code-only edit (PYCROFT_COMPOSE_BUILD=0): the source is bind-mounted", () => {
      const ran = testSh({ PYCROFT_COMPOSE_BUILD: "0" });
      expect(ran.status).toBe(0);
      expect(ran.stdout).toBe("pytest ran\n");
      expect(ran.calls.filter((c) => / (build|bake) /.test(c))).toEqual([]);
      // Without builds, the two `up`s start at once: the network is made before either.
      expect(ran.calls[0]).toBe(`docker ${compose} up --no-start --no-build db`);
      expect(ran.calls).toContain(`docker ${compose} up --detach --wait --no-build ldap keycloak`);
      expect(ran.calls.at(-2)).toBe(`docker ${compose} run --rm --no-deps test -k db`);
    });

    it("on a new machine's builder (BUILDX_BUILDER), bakes and loads the images, with no cache to import or export", () => {
      const ran = testSh({ BUILDX_BUILDER: "ci" });
      expect(ran.status).toBe(0);
      const bakes = ran.calls.filter((c) => c.startsWith("docker buildx bake "));
      for (const bake of bakes) {
        expect(bake).toMatch(/^docker buildx bake -f compose\.yaml --load --progress plain /);
        expect(bake).not.toMatch(/cache-(from|to)/);
      }
      expect(bakes.map((c) => c.replace(/^.* --allow fs\.read=\S+ --allow fs\.read=\S+ /, "")).sort()).toEqual(["ldap keycloak", "test"]);
      expect(ran.calls.filter((c) => c.startsWith(`docker ${compose} build`))).toEqual([]);
    });

    it("in keep mode, runs as Pycroft's justfile does: `run` starts what is not up, and nothing is built or thrown away", () => {
      const ran = testSh({ PYCROFT_COMPOSE_KEEP: "1" });
      expect(ran.status).toBe(0);
      expect(ran.stdout).toBe("pytest ran\n");
      expect(ran.calls).toEqual([`docker ${compose} run --rm test -k db`]);
    });
  });
});
