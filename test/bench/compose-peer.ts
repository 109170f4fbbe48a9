// The docker compose peer of the module in `npm run bench -- compose` (test/bench/compose/): the same
// test run done with a multi-stage Dockerfile, compose.yaml and `docker compose`, timed beside the
// module's. Also the "new machine" setups: a new BuildKit builder with empty state, and a new Dagger
// engine on a new cache volume.
import { spawnSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { DEFAULTS, OPTIONS } from "../../src/config.js";
import { PYTHON_IMAGE, tempDirUntilExit } from "../e2e/engine.js";
import { FRESH_ENGINE, runTimed, Timed } from "./machine.js";

export const HERE = join(import.meta.dirname, "compose");
const REGISTRY = "127.0.0.1:5000";
/** The images compose.yaml builds (docker rmi'd for a fresh machine). */
export const BUILT_IMAGES = ["pycroft-compose/dev", "pycroft-compose/slapd", "pycroft-compose/keycloak"];

/** Runs a command; its output, or an error with the output's tail when it fails. */
export function sh(cmd: string, args: string[], env: NodeJS.ProcessEnv = process.env): string {
  const r = spawnSync(cmd, args, { env, encoding: "utf8", maxBuffer: 64 << 20 });
  if (r.status !== 0) {
    const tail = `${r.stdout ?? ""}${r.stderr ?? ""}`.trim().split("\n").slice(-30).join("\n");
    throw new Error(`${cmd} ${args.join(" ")} failed (${r.status ?? r.signal}):\n${tail}`);
  }
  return r.stdout;
}

/** A reference to an image the up.sh registry mirrors (docker.io's library/…, quay.io's path). */
export function mirrored(ref: string): string {
  const quay = ref.match(/^quay\.io\/(.*)$/);
  if (quay) return `${REGISTRY}/${quay[1]}`;
  return `${REGISTRY}/${ref.includes("/") ? ref : `library/${ref}`}`;
}

/**
 * The environment of the compose side: the CLI plugins tools.sh builds (in a docker config dir of
 * their own) and the module's images from the local registry, with the Python the module side uses.
 */
export function composeEnv(): NodeJS.ProcessEnv {
  const exports = sh("bash", [join(HERE, "tools.sh")], { ...process.env });
  const tools = Object.fromEntries([...exports.matchAll(/^export (\w+)=(.*)$/gm)].map((m) => [m[1], m[2]]));
  return {
    ...process.env,
    ...tools,
    PYTHON_IMAGE: mirrored(PYTHON_IMAGE),
    POSTGRES_IMAGE: mirrored(OPTIONS.postgresImage.default),
    RABBITMQ_IMAGE: mirrored(OPTIONS.rabbitmqImage.default),
    DEBIAN_IMAGE: mirrored(OPTIONS.debianImage.default),
    KEYCLOAK_IMAGE: mirrored(DEFAULTS.keycloakImage),
  };
}

/**
 * `test.sh` on a source directory: build (unless `build` is false), services, pytest, teardown, timed
 * to its end (runTimed); in keep mode (PYCROFT_COMPOSE_KEEP in `env`) the services it starts are
 * meant to stay up, and its end is its processes'. Returns pytest's output as stdout; the build and
 * compose progress go to a log file, whose tail is the error when the run fails.
 */
export async function composeTest(source: string, env: NodeJS.ProcessEnv, log: string, build = true): Promise<Timed> {
  const run = await runTimed("bash", [join(HERE, "test.sh")], {
    env: { ...env, PYCROFT_SOURCE: source, PYCROFT_COMPOSE_BUILD: build ? "1" : "0" },
    ...(env.PYCROFT_COMPOSE_KEEP ? { leftovers: () => [] } : {}),
  });
  writeFileSync(log, `${run.stderr}\n--- stdout ---\n${run.stdout}`);
  if (run.code !== 0) {
    const tail = `${run.stderr}\n${run.stdout}`.trim().split("\n").slice(-40).join("\n");
    throw new Error(`compose test.sh failed (exit ${run.code}), log ${log}:\n${tail}`);
  }
  return run;
}

/** `docker compose build` of compose.yaml's images, for a builder cache as warm as the engine's. */
export function composeBuild(source: string, env: NodeJS.ProcessEnv): void {
  sh("docker", ["compose", "-f", join(HERE, "compose.yaml"), "build", "test", "ldap", "keycloak"], {
    ...env,
    PYCROFT_SOURCE: source,
    PYCROFT_COMPOSE_DIR: HERE,
  });
}

/** The label compose.yaml's builds put on their images (its `x-peer-labels`). */
export const PEER_LABEL = "org.pycroft.bench=compose-peer";

/**
 * Deletes the peer's images that a later build superseded: every rebuild leaves the image it replaced
 * untagged in the docker daemon (the dev image alone is 1 GB), and a bench run rebuilds several times.
 */
export function pruneSupersededImages(env: NodeJS.ProcessEnv): void {
  spawnSync("docker", ["image", "prune", "--force", "--filter", `label=${PEER_LABEL}`], { env, stdio: "ignore" });
}

/** Ends what test.sh's keep mode left up (the services, on tmpfs: nothing to keep). */
export function composeDown(source: string, env: NodeJS.ProcessEnv): void {
  spawnSync("docker", ["compose", "-f", join(HERE, "compose.yaml"), "down", "--volumes", "--timeout", "0"], {
    env: { ...env, PYCROFT_SOURCE: source, PYCROFT_COMPOSE_DIR: HERE },
    stdio: "ignore",
  });
}

/** Removes compose.yaml's built images from the docker daemon, as a new machine does not have them. */
export function removeBuiltImages(env: NodeJS.ProcessEnv): void {
  spawnSync("docker", ["rmi", "--force", ...BUILT_IMAGES], { env });
}

/** buildkitd.toml: the local registry over plain HTTP, as the mirror of each of `mirrored` (registry hosts). */
export function buildkitdConfig(mirrored: string[] = []): string {
  return [
    `[registry."${REGISTRY}"]\n  http = true\n  insecure = true\n`,
    ...mirrored.map((host) => `[registry."${host}"]\n  mirrors = ["${REGISTRY}"]\n`),
  ].join("\n");
}

/**
 * A new docker-container builder (BuildKit in a container, empty state, the registry over plain
 * HTTP, and as the mirror of the `mirrored` registries), as a CI runner makes with setup-buildx;
 * ready when this returns.
 */
export function createBuilder(name: string, env: NodeJS.ProcessEnv, mirrored: string[] = []): void {
  const config = join(tempDirUntilExit("pycroft-buildkitd-"), "buildkitd.toml");
  writeFileSync(config, buildkitdConfig(mirrored));
  removeBuilder(name, env);
  sh(
    "docker",
    ["buildx", "create", "--name", name, "--driver", "docker-container", "--driver-opt",
      `image=${env.PYCROFT_COMPOSE_BUILDKIT_IMAGE},network=host`, "--buildkitd-config", config, "--bootstrap"],
    env,
  );
}

/** Removes a builder and its state volume. */
export function removeBuilder(name: string, env: NodeJS.ProcessEnv): void {
  spawnSync("docker", ["buildx", "rm", "--force", name], { env });
}


/** Why no second engine can be made here, or undefined. */
export function noFreshEngine(): string | undefined {
  if (process.env._EXPERIMENTAL_DAGGER_RUNNER_HOST !== "docker-container://pycroft-dagger-engine") {
    return "a second engine is only made next to test/engine/up.sh's";
  }
  return undefined;
}

/**
 * Starts the fresh-machine engine on its volume (new unless an earlier start left it) and waits until
 * it listens. It runs on docker's default network, so it reaches the local registry at
 * that container's address: its engine.json is up.sh's with that address.
 */
export async function startEngine(): Promise<void> {
  const image = sh("docker", ["inspect", "-f", "{{.Config.Image}}", "pycroft-dagger-engine"]).trim();
  const registryIp = sh("docker", ["inspect", "-f", "{{.NetworkSettings.IPAddress}}", "pycroft-registry"]).trim();
  const config = join(tempDirUntilExit("pycroft-bench-engine-"), "engine.json");
  const upstream = readFileSync(join(import.meta.dirname, "../engine/engine.json"), "utf8");
  writeFileSync(config, upstream.replaceAll(REGISTRY, `${registryIp}:5000`));
  spawnSync("docker", ["rm", "--force", FRESH_ENGINE.container]);
  sh("docker", ["run", "-d", "--name", FRESH_ENGINE.container, "--privileged", "-v", `${FRESH_ENGINE.volume}:/var/lib/dagger`,
    "-v", `${config}:/etc/dagger/engine.json:ro`, image]);
  for (let i = 0; i < 1800; i++) {
    if (spawnSync("docker", ["exec", FRESH_ENGINE.container, "test", "-S", "/run/dagger/engine.sock"]).status === 0) return;
    await new Promise((r) => setTimeout(r, 250));
  }
  throw new Error(`the fresh-machine engine did not start:\n${sh("docker", ["logs", "--tail", "30", FRESH_ENGINE.container])}`);
}

/** Stops the fresh-machine engine and deletes its container and cache volume. */
export function dropEngine(): void {
  spawnSync("docker", ["rm", "--force", FRESH_ENGINE.container]);
  spawnSync("docker", ["volume", "rm", "--force", FRESH_ENGINE.volume]);
}
