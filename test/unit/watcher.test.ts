// The watcher that `dagger call watcher` exports, run as a user runs it (python3 on the host) against
// the stack's own receiver, run here as its container runs it.
import { ChildProcess, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, rmSync, statSync, symlinkSync, utimesSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { RECEIVE } from "../../src/live/receiver.js";
import { WATCH, WATCHER_NAME } from "../../src/live/watcher.js";
import { spawnWatcher, Watcher } from "../engine/sync.js";
import { freePort, listeningPython, tempDir } from "../support/run-script.js";

const TOKEN = "unit-watch-token";
const children: ChildProcess[] = [];
const watchers: Watcher[] = [];
afterEach(async () => {
  await Promise.all(watchers.splice(0).map((w) => w.stop()));
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** The watcher as `dagger call watcher export` writes it. */
function exported(): string {
  const path = join(tempDir("watcher"), WATCHER_NAME);
  writeFileSync(path, WATCH, { mode: 0o755 });
  return path;
}

/** A receiver on a free port, as the stack runs it: on an app dir of its own, running `command` on demand. */
async function stack(command: string[] = [], port?: number) {
  const root = tempDir("app");
  const at = port ?? (await freePort());
  const proc = await listeningPython(children, RECEIVE, [String(at), root, ...command], at, { PYCROFT_SYNC_TOKEN: TOKEN });
  return { root, port: at, url: `http://127.0.0.1:${at}`, proc };
}

/** The watcher running with these arguments and token (null: PYCROFT_SYNC_TOKEN unset), ended after the test. */
function watcher(args: string[], token: string | null = TOKEN): Watcher {
  const w = spawnWatcher(exported(), args, token ?? undefined);
  watchers.push(w);
  return w;
}

/** Waits (up to 10 s) until `ok()` holds; fails with `what()` otherwise. */
async function until(ok: () => boolean, what: () => string): Promise<void> {
  for (let i = 0; i < 200 && !ok(); i++) await new Promise((done) => setTimeout(done, 50));
  expect(ok(), what()).toBe(true);
}

const count = (text: string, pattern: RegExp) => [...text.matchAll(pattern)].length;

describe("the watcher (dagger call watcher)", () => {
  it("sends the checkout at its start, of which the stack writes only what differs, then each saved edit and removal; never what stays on the machine, nor links", async () => {
    const { root, url } = await stack();
    const host = tempDir("checkout");
    for (const d of ["pkg/sub", ".git", "node_modules/left-pad", "web/__pycache__", "thing"]) mkdirSync(join(host, d), { recursive: true });
    writeFileSync(join(host, "pkg/same.py"), "unchanged = 1\n");
    writeFileSync(join(host, "pkg/edited.py"), "edited = 'while the stack was starting'\n");
    writeFileSync(join(host, "pkg/sub/deeper.py"), "deeper = 1\n");
    writeFileSync(join(host, ".git/HEAD"), "ref: refs/heads/main\n");
    writeFileSync(join(host, "node_modules/left-pad/index.js"), "module.exports = 1\n");
    writeFileSync(join(host, "web/__pycache__/app.cpython-312.pyc"), "bytecode");
    writeFileSync(join(host, "thing/inside.py"), "inside = 1\n");
    symlinkSync("pkg/same.py", join(host, "link.py"));
    // What the stack was built with: the same file (from an hour ago), an older version of the other.
    mkdirSync(join(root, "pkg/sub/__pycache__"), { recursive: true });
    writeFileSync(join(root, "pkg/same.py"), "unchanged = 1\n");
    chmodSync(join(root, "pkg/same.py"), 0o644);
    const anHourAgo = new Date(Math.floor(Date.now() / 1000) * 1000 - 3600_000);
    utimesSync(join(root, "pkg/same.py"), anHourAgo, anHourAgo);
    writeFileSync(join(root, "pkg/edited.py"), "edited = 'as built'\n");
    writeFileSync(join(root, "pkg/sub/__pycache__/deeper.cpython-312.pyc"), "bytecode");

    const w = watcher(["--source", host, "--url", url, "--interval", "0.05"]);
    // The whole checkout went; the stack wrote the two files it did not have and the edited one, not the same one.
    await until(() => /^sent the checkout in \d+ ms: the stack wrote the \d+ files that differed from its own$/m.test(w.output()), w.output);
    expect(w.output()).toMatch(/^sent the checkout in \d+ ms: the stack wrote the 3 files that differed/m);
    expect(readFileSync(join(root, "pkg/edited.py"), "utf8")).toBe("edited = 'while the stack was starting'\n");
    expect(Math.round(statSync(join(root, "pkg/same.py")).mtimeMs)).toBe(anHourAgo.getTime());
    expect(readFileSync(join(root, "pkg/sub/deeper.py"), "utf8")).toBe("deeper = 1\n");
    for (const never of [".git", "node_modules", "web/__pycache__", "link.py"]) expect(existsSync(join(root, never)), never).toBe(false);

    // A new file, then an edit, each on its own.
    writeFileSync(join(host, "pkg/new.py"), "new = 1\n");
    await until(() => existsSync(join(root, "pkg/new.py")), w.output);
    writeFileSync(join(host, "pkg/new.py"), "new = 2\n");
    await until(() => readFileSync(join(root, "pkg/new.py"), "utf8") === "new = 2\n", w.output);

    // A file removed, and one moved out of the checkout.
    rmSync(join(host, "pkg/edited.py"));
    renameSync(join(host, "pkg/same.py"), join(tempDir("elsewhere"), "same.py"));
    await until(() => !existsSync(join(root, "pkg/edited.py")) && !existsSync(join(root, "pkg/same.py")), w.output);

    // A directory removed goes with what the stack has in it (its __pycache__ too), in one removal.
    rmSync(join(host, "pkg/sub"), { recursive: true });
    await until(() => !existsSync(join(root, "pkg/sub")), w.output);
    expect(w.output()).toMatch(/^synced 1 of 1 changed paths in/m);

    // A directory that becomes a file (and back): the one removed before the other is written.
    rmSync(join(host, "thing"), { recursive: true });
    writeFileSync(join(host, "thing"), "now a file\n");
    await until(() => existsSync(join(root, "thing")) && statSync(join(root, "thing")).isFile(), w.output);
    expect(readFileSync(join(root, "thing"), "utf8")).toBe("now a file\n");
    rmSync(join(host, "thing"));
    mkdirSync(join(host, "thing"));
    writeFileSync(join(host, "thing/again.py"), "again = 1\n");
    await until(() => existsSync(join(root, "thing/again.py")), w.output);

    // Edits inside what stays on the machine are never sent.
    writeFileSync(join(host, ".git/HEAD"), "ref: refs/heads/other\n");
    writeFileSync(join(host, "node_modules/left-pad/index.js"), "module.exports = 2\n");
    await new Promise((done) => setTimeout(done, 500));
    for (const never of [".git", "node_modules"]) expect(existsSync(join(root, never)), never).toBe(false);
  });

  it.runIf(process.platform === "linux")("on Linux, a save wakes it at once (inotify): with a scan only every 30 s, edits arrive long before that, also in a directory made after its start", async () => {
    const { root, url } = await stack();
    const host = tempDir("checkout");
    const w = watcher(["-C", host, "--url", url, "--interval", "30"]);
    await until(() => /^sent the checkout in/m.test(w.output()), w.output);
    // `until` gives up after 10 s: only a wake-up can have sent it by then.
    const within = async (path: string) => {
      writeFileSync(join(host, path), "saved\n");
      await until(() => existsSync(join(root, path)), w.output);
    };
    await within("top.py");
    mkdirSync(join(host, "pkg"));
    await within("pkg/first.py");
    await within("pkg/second.py");
  });

  it("--run: pytest at once with the arguments after --run, then after each edit, with its output as it comes and its exit code; a changed dependency manifest is named", async () => {
    const host = tempDir("checkout");
    writeFileSync(join(host, "code"), "3");
    // The stack's command: what it got, what the app dir has, and the exit code the checkout asks for.
    const fake = join(tempDir("bin"), "pytest");
    writeFileSync(fake, `#!/bin/sh\necho "ran with: $*"\nprintf 'code %s, no newline at the end' "$(cat code)"\nexit "$(cat code)"\n`, { mode: 0o755 });
    const { url } = await stack([fake]);

    const w = watcher(["-C", host, "--url", url, "--interval", "0.05", "--run", "-x", "tests/model", "--lf"]);
    const runs = () => [...w.output().matchAll(/^pytest exit code (\d+) in [\d.]+ s; watching (.+) \(Ctrl-C stops\)$/gm)];
    await until(() => runs().length === 1, w.output);
    expect(w.output()).toMatch(/^ran with: -x tests\/model --lf\ncode 3, no newline at the end\npytest exit code 3 in/m);
    expect(runs()[0]![2]).toBe(host);

    writeFileSync(join(host, "code"), "0");
    await until(() => runs().length === 2, w.output);
    expect(runs()[1]![1]).toBe("0");
    expect(w.output()).not.toMatch(/changed: the test stack keeps/);

    writeFileSync(join(host, "uv.lock"), "version = 1\n");
    await until(() => runs().length === 3, w.output);
    expect(w.output()).toMatch(/^uv\.lock changed: the test stack keeps the dependencies it was built with; stop it and start it again to install the new ones\nran with:/m);
  });

  it("--once: sends the checkout, runs pytest once and exits with its exit code; without --run, exits 0 once the checkout is sent", async () => {
    const host = tempDir("checkout");
    writeFileSync(join(host, "code"), "5");
    const fake = join(tempDir("bin"), "pytest");
    writeFileSync(fake, `#!/bin/sh\necho "ran with: $*"\nexit "$(cat code)"\n`, { mode: 0o755 });
    const { root, url } = await stack([fake]);

    const failing = watcher(["-C", host, "--url", url, "--once", "--run", "-k", "db"]);
    expect(await failing.ended).toBe(5);
    expect(failing.output()).toMatch(/^ran with: -k db\npytest exit code 5 in [\d.]+ s$/m);
    expect(failing.output()).not.toMatch(/watching/);

    writeFileSync(join(host, "code"), "0");
    const passing = watcher(["-C", host, "--url", url, "--once", "--run"]);
    expect(await passing.ended).toBe(0);
    expect(readFileSync(join(root, "code"), "utf8")).toBe("0");

    writeFileSync(join(host, "sent.py"), "x = 1\n");
    const sendOnly = watcher(["-C", host, "--url", url, "--once"]);
    expect(await sendOnly.ended).toBe(0);
    expect(readFileSync(join(root, "sent.py"), "utf8")).toBe("x = 1\n");
    expect(sendOnly.output()).not.toMatch(/ran with/);
  });

  it("waits for a stack that is not up yet, then sends the checkout to it", async () => {
    const port = await freePort();
    const host = tempDir("checkout");
    writeFileSync(join(host, "app.py"), "app = 1\n");
    const w = watcher(["-C", host, "--url", `http://127.0.0.1:${port}`]);
    await until(() => w.output().includes(`waiting for the stack at http://127.0.0.1:${port}`), w.output);
    const { root } = await stack([], port);
    await until(() => existsSync(join(root, "app.py")), w.output);
    expect(count(w.output(), /^waiting for the stack/gm)).toBe(1);
  });

  it("refuses, with a message and exit code 2: a wrong token, --run on a dev stack, no token, a source that is not a directory", async () => {
    const host = tempDir("checkout");
    const dev = await stack();
    const wrong = watcher(["-C", host, "--url", dev.url], "not-the-token");
    expect(await wrong.ended).toBe(2);
    expect(wrong.output()).toMatch(/the stack refused the token: PYCROFT_SYNC_TOKEN is not the one it was started with/);

    const run = watcher(["-C", host, "--url", dev.url, "--run"]);
    expect(await run.ended).toBe(2);
    expect(run.output()).toMatch(/--run needs a test-stack/);

    const none = watcher(["-C", host, "--url", dev.url], null);
    expect(await none.ended).toBe(2);
    expect(none.output()).toMatch(/PYCROFT_SYNC_TOKEN is not set/);

    const file = join(host, "a-file");
    writeFileSync(file, "");
    const notDir = watcher(["-C", file, "--url", dev.url]);
    expect(await notDir.ended).toBe(2);
    expect(notDir.output()).toMatch(/a-file: not a directory/);
  });

  it("a stack that goes away ends the watcher with exit code 1 at the next edit, saying so", async () => {
    const host = tempDir("checkout");
    const { url, proc } = await stack();
    const w = watcher(["-C", host, "--url", url, "--interval", "0.05"]);
    await until(() => /^sent the checkout in/m.test(w.output()), w.output);
    proc.kill("SIGKILL");
    await new Promise((done) => proc.once("exit", done));
    writeFileSync(join(host, "edit.py"), "x = 1\n");
    expect(await w.ended).toBe(1);
    expect(w.output()).toMatch(/the stack at http:\/\/127\.0\.0\.1:\d+ went away/);
  });

  /** Calls one of the watcher's own functions with each list of arguments, as its main loop does: what it returns, as JSON. */
  const called = (fn: string, calls: unknown[][]) => {
    const script = `import json, runpy, sys\nm = runpy.run_path(sys.argv[1])\nfor a in json.loads(sys.argv[2]):\n    print(json.dumps(m[${JSON.stringify(fn)}](*a)))`;
    const ran = spawnSync("python3", ["-c", script, exported(), JSON.stringify(calls)], { encoding: "utf8" });
    expect(ran.status, ran.stderr).toBe(0);
    return ran.stdout.trim().split("\n").map((line) => JSON.parse(line) as unknown);
  };
  const each = (values: unknown[]) => values.map((v) => [v]);

  it("leaves out what the module's source leaves out (SOURCE_EXCLUDES, written into it): version control, envs, JS deps, caches, build output", () => {
    const out = [".git/HEAD", "deps/w/.git/config", "node_modules/x/y.js", "web/node_modules/z.js", "pkg/__pycache__/a.pyc", "deps/w/.venv/bin/python",
      "htmlcov/index.html", "a.egg-info/PKG-INFO", "web/static/dist/app.js", "web/static/manifest.json", ".pytest_cache/v", "web/.ruff_cache/x"];
    const kept = ["pkg/htmlcov/x", "web/static/manifest.json.bak", "web/static/css/a.css", "web/static/logo.png", "pkg/a.py", "gitignore", ".github/workflows/ci.yml", "distance.py", "gitlab.md"];
    const host = tempDir("checkout");
    for (const path of [...out, ...kept]) {
      mkdirSync(join(host, path, ".."), { recursive: true });
      writeFileSync(join(host, path), "");
    }
    const [found] = called("scan", [[host]]) as [Record<string, unknown>];
    const files = Object.keys(found).filter((path) => found[path] !== "dir");
    expect(files.sort()).toEqual([...kept].sort());
    // Nor is a directory left out listed (nor anything below it).
    expect(Object.keys(found).filter((path) => /(^|\/)(\.git|node_modules|__pycache__|\.venv|htmlcov|dist|\.pytest_cache|\.ruff_cache|[^/]*\.egg-info)$/.test(path))).toEqual(["pkg/htmlcov"]);
  });

  it("names a changed dependency manifest (the project's, the JS ones, a path dependency's), which the test stack keeps as it was built; nothing else", () => {
    const [both, code, ...manifests] = called("stale", each([
      ["uv.lock", "web/app.py", "pyproject.toml"],
      ["web/app.py", "tests/test_app.py", "deps/wtforms-widgets/wtforms_widgets/base_form.py", "docs/pyproject.toml"],
      ["package.json"], ["package-lock.json"], ["bun.lock"], ["bun.lockb"], ["deps/wtforms-widgets/pyproject.toml"], ["deps/w/setup.py"],
    ]));
    expect(both).toBe("uv.lock, pyproject.toml changed: the test stack keeps the dependencies it was built with; stop it and start it again to install the new ones");
    expect(code).toBeNull();
    for (const notice of manifests) expect(notice).toMatch(/^\S+ changed: the test stack keeps/);
  });

  it("sends what changed since the last send, and of a removed tree only its top (not a sibling whose name starts alike)", () => {
    const file = (mtime: number) => [mtime, 1, 33188, 7];
    const sent = { a: "dir", "a/b": "dir", "a/b/c.py": file(1), "a-b": "dir", "a-b/x.py": file(1), ab: file(1), kept: file(1), edited: file(1), turned: "dir", "turned/y.py": file(1) };
    const now = { "a-b": "dir", "a-b/x.py": file(1), kept: file(1), edited: file(2), turned: file(3), fresh: file(1) };
    expect(called("changes", [[sent, now]])).toEqual([[["edited", "fresh", "turned"], ["a", "ab", "turned"]]]);
  });
});
