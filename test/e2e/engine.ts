// Running the module's functions for real: on the engine test/engine/up.sh makes here, or on a
// contributor's own Dagger (`dagger run npm test`).
import { cpSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { PassThrough } from "node:stream";
import { gunzipSync } from "node:zlib";

import { connection, dag, Directory } from "@dagger.io/dagger";

import { UPLOAD_EXCLUDES } from "../../src/config.js";
import { Pycroft } from "../../src/index.js";
import { newPycroft, Options } from "../support/module.js";

/** Why e2e cannot run here, or undefined when an engine is reachable. */
export function noEngine(): string | undefined {
  const env = process.env;
  if (env.DAGGER_SESSION_PORT || env._EXPERIMENTAL_DAGGER_CLI_BIN) return undefined;
  return 'no Dagger engine: run `eval "$(bash test/engine/up.sh)"`, or `dagger run npm test`';
}

/**
 * Images the e2e run may pull. The stand-in registry built here holds Debian's Python (3.11); the
 * same tag exists upstream, so the suite runs unchanged on any engine.
 */
export const PYTHON_IMAGE = process.env.PYCROFT_E2E_PYTHON_IMAGE ?? "python:3.11-slim-bookworm";
/** Whether the engine is the one test/engine/up.sh runs in docker on this machine. */
const UP_SH_ENGINE = process.env._EXPERIMENTAL_DAGGER_RUNNER_HOST === "docker-container://pycroft-dagger-engine";

/**
 * A registry the engine can push to and the host can read over plain HTTP: the one test/engine/up.sh
 * runs in the engine's network, or PYCROFT_E2E_REGISTRY; the publish tests are skipped without one.
 */
export const REGISTRY = process.env.PYCROFT_E2E_REGISTRY ?? (UP_SH_ENGINE ? "127.0.0.1:5000" : undefined);

/** A directory of the host as `dagger call` uploads `--source`: without what never leaves the machine. */
export function hostDir(path: string): Directory {
  return dag.host().directory(path, { exclude: UPLOAD_EXCLUDES });
}

/** The module on a source directory of this repository, with the e2e images. */
export function pycroft(source = "example", o: Options = {}): Pycroft {
  return pycroftOn(hostDir(source), o);
}

/** The module on any source directory, e.g. one a test modified. */
export function pycroftOn(source: Directory, o: Options = {}): Pycroft {
  return newPycroft(source, hostDir("dockerfiles/openldap"), { pythonImage: PYTHON_IMAGE, ...o });
}

/** Runs `fn` in a Dagger session; PYCROFT_E2E_VERBOSE=1 streams the engine's progress to stderr. */
export async function session<T>(fn: () => Promise<T>): Promise<T> {
  let result!: T;
  await connection(
    async () => {
      result = await fn();
    },
    { LogOutput: process.env.PYCROFT_E2E_VERBOSE ? process.stderr : undefined },
  );
  return result;
}

/** Temporary directories of this process's, deleted when it exits: the bench's too, which runs outside vitest's temp root. */
const ownTempDirs = new Set<string>();
process.on("exit", () => {
  for (const dir of ownTempDirs) rmSync(dir, { recursive: true, force: true });
});

/** A new temporary directory, deleted when this process exits. */
export function tempDirUntilExit(prefix: string): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  ownTempDirs.add(dir);
  return dir;
}

/**
 * A scratch copy of a source directory, to edit on disk as a developer would: the engine sees an
 * edit as a new upload of the same path, which is what its content-addressed cache keys on.
 */
export function scratchCopy(source = "example"): string {
  const dir = join(tempDirUntilExit("pycroft-src-"), "src");
  const skip = /(^|\/)(\.git|\.venv|node_modules|__pycache__|\.pytest_cache|htmlcov|[^/]+\.egg-info)(\/|$)/;
  cpSync(source, dir, { recursive: true, filter: (path) => !skip.test(path) });
  return dir;
}

/** Service passwords no default has, so a leak of them anywhere can be told from a default value. */
export const E2E_PASSWORDS = { db: "e2e-db-Pw-7f3kQ", ldap: "e2e-ldap-Pw-9x2qR", mq: "e2e-mq-Pw-4m8zS" } as const;

/** The module's password options set to `E2E_PASSWORDS` (inside a session). */
export function e2ePasswords(): Options {
  return {
    dbPassword: dag.setSecret("e2e-db-password", E2E_PASSWORDS.db),
    ldapPassword: dag.setSecret("e2e-ldap-password", E2E_PASSWORDS.ldap),
    mqPassword: dag.setSecret("e2e-mq-password", E2E_PASSWORDS.mq),
  };
}

/** Which of `E2E_PASSWORDS` occur in the bytes given (gzip members are searched unpacked). */
export function leakedPasswords(data: Buffer | string): string[] {
  const bytes = typeof data === "string" ? Buffer.from(data) : data;
  const text = bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
  return Object.values(E2E_PASSWORDS).filter((pw) => text.includes(pw));
}

/** Every file under a host directory with the `E2E_PASSWORDS` it contains, for those that contain any. */
export function leaksIn(dir: string): Record<string, string[]> {
  const files = (readdirSync(dir, { recursive: true, withFileTypes: true }) as import("node:fs").Dirent[]).filter((d) => d.isFile());
  const found = files.map((d) => [join(d.parentPath, d.name), leakedPasswords(readFileSync(join(d.parentPath, d.name)))] as const);
  return Object.fromEntries(found.filter(([, leaked]) => leaked.length > 0));
}

/** `session`, also returning everything the engine logged for it (the progress output, exec output included). */
export async function sessionLog<T>(fn: () => Promise<T>): Promise<{ result: T; log: string }> {
  const chunks: Buffer[] = [];
  const sink = new PassThrough();
  sink.on("data", (chunk: Buffer) => chunks.push(chunk));
  let result!: T;
  await connection(
    async () => {
      result = await fn();
    },
    { LogOutput: sink },
  );
  return { result, log: Buffer.concat(chunks).toString("utf8") };
}

/** Prints the HTTP status of each URL given, error statuses included. */
export const HTTP_STATUS = `import sys, urllib.error, urllib.request as u
for url in sys.argv[1:]:
    try:
        print(u.urlopen(url).status)
    except urllib.error.HTTPError as e:
        print(e.code)`;
