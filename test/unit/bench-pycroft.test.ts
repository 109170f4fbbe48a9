// The pure parts of `npm run bench -- pycroft PATH`: prepare.sh's changes to a Pycroft-shaped fixture
// (exactly the listed ones, and a refusal when one has nothing to change), the command line, the
// builder's mirrors, the dependency change, the count comparison of CI's selection, and compose.sh's modes.
import { spawnSync } from "node:child_process";
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative } from "node:path";

import { describe, expect, it } from "vitest";

import { buildkitdConfig } from "../bench/compose-peer.js";
import { countMismatch, outcomeDifference, parseBenchArgs } from "../bench/fair.js";
import { lockEdit } from "../bench/pycroft-steps.js";
import { runScript } from "../support/run-script.js";

const PREPARE = join(import.meta.dirname, "../bench/pycroft/prepare.sh");
const MIRROR = "http://mirror.invalid/debian";
const TARBALL = "https://packages.invalid/bun-linux-x64-baseline-1.1.26.tgz";
const SHA = "a".repeat(64);

/** A tree shaped like the parts of a Pycroft checkout prepare.sh edits (not Pycroft's files: their shape). */
const FIXTURE: Record<string, string> = {
  "docker-compose.base.yml": `services:
  db:
    build:
      context: ./docker/db
      dockerfile: ../db.Dockerfile
    environment:
      - TZ=Etc/UTC
    healthcheck:
      test: pg_isready -U postgres
      interval: 2s
  mq:
    healthcheck:
      start_period: 30s
  keycloak:
    image: quay.io/keycloak/keycloak:latest
    healthcheck:
      test: [ "CMD-SHELL", "true" ]
      start_period: 30s
    command: [ "start-dev" ]
`,
  "docker/base/etc/apt/sources.list": `deb http://far.invalid/debian bookworm main
deb-src http://far.invalid/debian bookworm main

deb http://sec.invalid/debian-security bookworm-security main
`,
  "docker/base.Dockerfile": `# syntax=docker/dockerfile:1.4
# a comment
FROM python:3.12-slim-bookworm
ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
COPY etc/apt /etc/apt
`,
  "docker/db.Dockerfile": `# syntax=docker/dockerfile:1.4
ARG POSTGRES_TAG=14
FROM postgres:\${POSTGRES_TAG}
`,
  "docker/dev.Dockerfile": `# syntax=docker/dockerfile:1.6
# a comment
FROM alpine:latest AS bunzipper
RUN apk add unzip curl
RUN <<EOF ash
    curl -sSfLO https://releases.invalid/bun.zip
    echo "${SHA}  /opt/bun" \\
        | sha256sum -c -
EOF

# syntax=docker/dockerfile:1.4
FROM pycroft-base
COPY --chmod=755 --from=bunzipper /opt/bun /usr/local/bin/bun
`,
  "docker/dev/container/hooks/init/10_venv": `#!/bin/bash
  uv venv "$VIRTUAL_ENV"
  uv sync --active --locked
  touch $STAMPFILE
`,
  "pyproject.toml": `[project]\nname = "x"\n`,
};

/** The fixture as prepare.sh must leave it: only these files differ, and only so. */
const EXPECTED: Record<string, string> = {
  "docker-compose.base.yml": FIXTURE["docker-compose.base.yml"]!
    .replace("      dockerfile: ../db.Dockerfile\n", "      dockerfile: ../db.Dockerfile\n      args:\n        - POSTGRES_TAG=15\n")
    .replace('true" ]\n      start_period: 30s\n', 'true" ]\n      start_period: 120s\n')
    .replace("      test: pg_isready -U postgres\n", "      test: pg_isready -U postgres\n      start_period: 60s\n"),
  "docker/base/etc/apt/sources.list": `deb ${MIRROR} bookworm main
deb-src ${MIRROR} bookworm main

deb http://sec.invalid/debian-security bookworm-security main
`,
  "docker/base.Dockerfile": `# a comment
FROM python:3.12-slim-bookworm
ENV LANG=C.UTF-8 DEBIAN_FRONTEND=noninteractive
ENV UV_NATIVE_TLS=1 NODE_EXTRA_CA_CERTS=/etc/ssl/certs/ca-certificates.crt
COPY etc/apt /etc/apt
`,
  "docker/db.Dockerfile": `ARG POSTGRES_TAG=14
FROM postgres:\${POSTGRES_TAG}
`,
  "docker/dev.Dockerfile": `# a comment
FROM debian:bookworm-slim AS bunzipper
RUN --mount=type=cache,target=/var/cache/apt,sharing=locked \\
    --mount=type=cache,target=/var/lib/apt,sharing=locked \\
    apt-get update && apt-get install -y --no-install-recommends curl ca-certificates
RUN <<EOF bash
    set -euo pipefail
    curl -sSfL ${TARBALL} | tar -xzf - -C /tmp package/bin/bun
    install -D /tmp/package/bin/bun /opt/bun
    echo "${SHA}  /opt/bun" \\
        | sha256sum -c -
EOF

# syntax=docker/dockerfile:1.4
FROM pycroft-base
COPY --chmod=755 --from=bunzipper /opt/bun /usr/local/bin/bun
`,
  "docker/dev/container/hooks/init/10_venv": FIXTURE["docker/dev/container/hooks/init/10_venv"]!.replace(
    "uv sync --active --locked\n",
    "uv sync --active --locked --no-install-package guzzle-sphinx-theme\n",
  ),
};

function writeTree(root: string, files: Record<string, string>): void {
  for (const [path, text] of Object.entries(files)) {
    mkdirSync(dirname(join(root, path)), { recursive: true });
    writeFileSync(join(root, path), text);
  }
}

function readTree(root: string): Record<string, string> {
  const out: Record<string, string> = {};
  const walk = (dir: string) => {
    for (const name of readdirSync(dir)) {
      const path = join(dir, name);
      if (statSync(path).isDirectory()) walk(path);
      else out[relative(root, path)] = readFileSync(path, "utf8");
    }
  };
  walk(root);
  return out;
}

function prepare(files: Record<string, string>) {
  const tmp = mkdtempSync(join(tmpdir(), "bench-pycroft-"));
  writeTree(join(tmp, "src"), files);
  const run = spawnSync("bash", [PREPARE, join(tmp, "src"), join(tmp, "copy")], {
    encoding: "utf8",
    env: { ...process.env, PYCROFT_APT_MIRROR: MIRROR, PYCROFT_BUN_TARBALL: TARBALL },
  });
  return { ...run, src: join(tmp, "src"), copy: join(tmp, "copy") };
}

describe("prepare.sh", () => {
  it("makes exactly the listed changes in a copy and leaves the checkout as it was", () => {
    const run = prepare(FIXTURE);
    expect(run.stderr).toBe("");
    expect(run.status).toBe(0);
    expect(readTree(run.copy)).toEqual({ ...FIXTURE, ...EXPECTED });
    expect(readTree(run.src)).toEqual(FIXTURE);
  });

  it("keeps the checkout's own checksum of the bun binary", () => {
    const other = "0123456789abcdef".repeat(4);
    const run = prepare({ ...FIXTURE, "docker/dev.Dockerfile": FIXTURE["docker/dev.Dockerfile"]!.replace(SHA, other) });
    expect(run.status).toBe(0);
    expect(readFileSync(join(run.copy, "docker/dev.Dockerfile"), "utf8")).toContain(`echo "${other}  /opt/bun"`);
  });

  it.each([
    ["docker/dev.Dockerfile", FIXTURE["docker/dev.Dockerfile"]!.replace("FROM alpine:latest AS bunzipper", "FROM alpine:latest AS unzipper"), /no bunzipper stage/],
    ["docker/db.Dockerfile", FIXTURE["docker/db.Dockerfile"]!.replace(/^# syntax=.*\n/, ""), /db\.Dockerfile: no match/],
    ["docker/dev/container/hooks/init/10_venv", "#!/bin/bash\nuv sync --frozen\n", /10_venv: no match/],
    ["docker-compose.base.yml", "services: {}\n", /docker-compose\.base\.yml: no match/],
    ["docker-compose.base.yml", FIXTURE["docker-compose.base.yml"]!.replace(/(keycloak:[^]*)start_period: 30s/, "$1start_period: 20s"), /docker-compose\.base\.yml: no match/],
  ])("refuses a checkout where %s has nothing to change", (path, text, why) => {
    const run = prepare({ ...FIXTURE, [path]: text });
    expect(run.status).not.toBe(0);
    expect(run.stderr).toMatch(why);
  });

  it("refuses a directory that is not a Pycroft checkout, and a destination that exists", () => {
    const run = prepare({ "README.md": "x\n" });
    expect(run.status).toBe(1);
    expect(run.stderr).toMatch(/not a Pycroft checkout/);
    const again = spawnSync("bash", [PREPARE, prepare(FIXTURE).src, mkdtempSync(join(tmpdir(), "bench-pycroft-dest-"))], { encoding: "utf8" });
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/exists/);
  });
});

describe("the pycroft group's command line", () => {
  const known = { groups: ["compose", "pycroft"], steps: ["cold", "ci", "kept"], pathGroups: ["pycroft"] };

  it("takes the checkout after the group", () => {
    expect(parseBenchArgs(["pycroft", "/tmp/p", "--samples", "1", "--steps", "ci,kept"], known)).toEqual({
      groups: ["pycroft"],
      samples: 1,
      steps: ["ci", "kept"],
      path: "/tmp/p",
    });
    expect(parseBenchArgs(["compose", "pycroft", "/tmp/p"], known)).toMatchObject({ groups: ["compose", "pycroft"], path: "/tmp/p" });
  });

  it("refuses the group without a path", () => {
    expect(() => parseBenchArgs(["pycroft"], known)).toThrow("pycroft needs the path of a checkout");
    expect(() => parseBenchArgs(["pycroft", "--samples", "1"], known)).toThrow("pycroft needs the path of a checkout");
  });

  it("gives other groups no path", () => {
    expect(parseBenchArgs(["compose"], known).path).toBeUndefined();
    expect(() => parseBenchArgs(["compose", "/tmp/p"], known)).toThrow('unknown argument "/tmp/p"');
  });
});

describe("the compose side's builder", () => {
  it("reads the local registry over HTTP and uses it as the mirror of each registry named", () => {
    expect(buildkitdConfig(["docker.io", "ghcr.io"])).toBe(
      '[registry."127.0.0.1:5000"]\n  http = true\n  insecure = true\n\n' +
        '[registry."docker.io"]\n  mirrors = ["127.0.0.1:5000"]\n\n' +
        '[registry."ghcr.io"]\n  mirrors = ["127.0.0.1:5000"]\n',
    );
    expect(buildkitdConfig()).toBe('[registry."127.0.0.1:5000"]\n  http = true\n  insecure = true\n');
  });
});

describe("the dependency change", () => {
  it("is one TOML comment line, different for each stamp", () => {
    expect(lockEdit("1-2")).toMatch(/^# [^\n]*1-2\n$/);
    expect(lockEdit("1-2")).not.toBe(lockEdit("1-3"));
  });
});

describe("CI's selection on both sides", () => {
  const summary = (s: string) => `tests/x.py::t PASSED\n===== ${s} in 12.34s =====\n`;

  it("compares the deselected tests too", () => {
    expect(countMismatch("ci", summary("1500 passed, 12 deselected, 3 warnings"), summary("1500 passed, 12 deselected"))).toBeUndefined();
    expect(countMismatch("ci", summary("1500 passed, 12 deselected"), summary("1512 passed"))).toBe(
      "ci: the module ran 1500 tests (12 deselected, 1500 passed), compose 1512 (1512 passed)",
    );
  });

  it("takes a failing run of the same tests as other outcomes, not another selection", () => {
    const failing = summary("1 failed, 1499 passed, 12 deselected");
    expect(countMismatch("ci", failing, summary("1500 passed, 12 deselected"))).toBeUndefined();
    expect(outcomeDifference(failing, summary("1500 passed, 12 deselected"))).toMatch(/module 12 deselected, 1 failed, 1499 passed; compose 12 deselected, 1500 passed/);
  });
});

describe("pycroft/compose.sh", () => {
  const SCRIPT = join(import.meta.dirname, "../bench/pycroft/compose.sh");
  const calls = (...args: string[]) => runScript(["bash", SCRIPT, ...args], { standIns: { docker: {} } });

  it("fresh: up --wait of the three services the file's tests use, the run without the others, then down, even after a failing run", () => {
    const ran = calls("fresh", "tests/model/test_user.py", "-x");
    expect(ran.status).toBe(0);
    const dc = "docker compose -f docker-compose.test.yml";
    expect(ran.calls).toEqual([
      `${dc} up --quiet-pull --wait --wait-timeout=300 test-db test-ldap test-mq`,
      `${dc} run --rm --no-deps test-app test tests/model/test_user.py -x`,
      `${dc} down --timeout 0`,
    ]);
    const failing = runScript(["bash", SCRIPT, "fresh", "tests/x.py"], {
      standIns: { docker: { does: '[ "$4" = run ] && exit 1; exit 0' } },
    });
    expect(failing.status).toBe(1);
    expect(failing.calls.at(-1)).toBe(`${dc} down --timeout 0`);
  });

  it("run leaves the services up; an unknown mode is refused with the usage", () => {
    expect(calls("run", "tests/a.py").calls).toEqual(["docker compose -f docker-compose.test.yml run --rm test-app test tests/a.py"]);
    const bad = calls("nope");
    expect(bad.status).toBe(64);
    expect(bad.stderr).toContain("fresh PYTEST_ARG…");
    expect(bad.calls).toEqual([]);
  });
});
