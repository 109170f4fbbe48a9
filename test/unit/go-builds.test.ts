// The Go builds of test/engine share $CACHE/go and build-dagger.sh's copied sources: lib.sh's go_lock
// runs them one at a time (build-dagger.sh beside lint-ci.sh in test/run.sh), copy_module_checked
// checks a copy of a module against its zip, and build_checked makes lost sources again once.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, unlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

import { afterAll, describe, expect, it } from "vitest";

const REPO = resolve(__dirname, "../..");
const LIB = join(REPO, "test/engine/lib.sh");
const dirs: string[] = [];
const started: ChildProcess[] = [];
afterAll(() => {
  for (const p of started) {
    if (p.exitCode !== null || p.signalCode !== null) continue;
    try {
      process.kill(-p.pid!, "SIGKILL");
    } catch (err) {
      // The group ended between its last output and this kill, before its exit was reported.
      if ((err as NodeJS.ErrnoException).code !== "ESRCH") throw err;
    }
  }
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

function scratch(): string {
  const d = mkdtempSync(join(tmpdir(), "go-builds-"));
  dirs.push(d);
  return d;
}

/** bash SCRIPT with lib.sh sourced, its cache in CACHE; synchronous. */
function lib(cache: string, script: string, env: Record<string, string> = {}) {
  return spawnSync("bash", ["-c", `. "${LIB}"\n${script}`], {
    encoding: "utf8",
    env: { ...process.env, PYCROFT_ENGINE_CACHE: cache, ...env },
  });
}

/** Starts bash ARGS in a process group of its own (so the test can end it and its children). */
function start(cache: string, args: string[], env: Record<string, string> = {}) {
  const p = spawn("bash", args, {
    cwd: REPO,
    detached: true,
    env: { ...process.env, PYCROFT_ENGINE_CACHE: cache, ...env },
    stdio: ["pipe", "pipe", "pipe"],
  });
  started.push(p);
  const out = { stdout: "", stderr: "" };
  p.stdout!.on("data", (b) => (out.stdout += b));
  p.stderr!.on("data", (b) => (out.stderr += b));
  const done = new Promise<number | null>((res) => p.on("exit", (code) => res(code)));
  return { p, out, done };
}

async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const lines = (file: string) => (existsSync(file) ? readFileSync(file, "utf8").trim().split("\n") : []);

describe("go_lock", () => {
  it("runs two holders one after the other, the second saying whom it waits for; go_unlock lets it go on", async () => {
    const cache = scratch(), log = join(cache, "log");
    // Each holder: in, (first only: a while, go_unlock, then more time before it ends), out.
    const holder = (name: string, after: string) =>
      start(cache, ["-c", `. "${LIB}"; go_lock; echo "${name} in" >>"${log}"; sleep 0.7; echo "${name} out" >>"${log}"; ${after}`]);
    const a = holder("a", `go_unlock; sleep 1.5; echo "a ends" >>"${log}"`);
    await until("a to hold the lock", () => lines(log).includes("a in"));
    const b = holder("b", "");
    expect(await b.done).toBe(0);
    expect(await a.done).toBe(0);
    expect(lines(log)).toEqual(["a in", "a out", "b in", "b out", "a ends"]);
    expect(b.out.stderr).toContain(`go_lock: waiting for the Go build holding ${cache}/go/.lock (pid ${a.p.pid}, bash) to end`);
    expect(a.out.stderr).toBe("");
  });

  it("is shared with the scripts its holder starts (no deadlock), not with others", () => {
    const cache = scratch();
    const r = lib(
      cache,
      `go_lock
       bash -c '. "${LIB}"; go_lock; echo child has it'
       env -u _PYCROFT_GO_LOCK_FD bash -c '. "${LIB}"; exec {fd}>>"$GO_LOCK_FILE"; flock -n "$fd" && echo other has it || echo other waits'`,
    );
    expect(r.status).toBe(0);
    expect(r.stdout).toBe("child has it\nother waits\n");
  });

  // Where the cold build failed: test/run.sh runs lint-ci.sh while up.sh runs build-dagger.sh.
  it.each([
    ["test/ci/lint-ci.sh", /building actionlint|building yamlcheck|^go: /m],
    ["test/engine/build-dagger.sh", /==> build-dagger|^go: /m],
  ])("%s waits for the lock before any Go step", async (script, goStep) => {
    const cache = scratch();
    const holder = start(cache, ["-c", `. "${LIB}"; go_lock; echo held; read -r _ || true`]);
    await until("the test to hold the lock", () => holder.out.stdout.includes("held"));
    // GOPROXY=off: should it not wait, it fails at once rather than download anything.
    const s = start(cache, [script], { GOPROXY: "off", GOFLAGS: "-mod=mod" });
    await until(`${script} to wait`, () => s.out.stderr.includes("go_lock: waiting"));
    await new Promise((r) => setTimeout(r, 1000));
    expect(s.p.exitCode).toBe(null);
    expect(s.out.stderr).not.toMatch(goStep);
    expect(s.out.stderr).toContain(`(pid ${holder.p.pid}, bash)`);
    process.kill(-s.p.pid!, "SIGKILL");
    holder.p.stdin!.end();
    expect(await holder.done).toBe(0);
  });
});

/** A module zip as the Go module cache keeps it (MODULE@VERSION/PATH entries) and its extracted dir. */
function fakeModule(root: string) {
  const name = "example.com/m@v1.0.0", files = ["go.mod", "a.go", "sub/b.go", "sub/deep/c.go"];
  const dir = join(root, "modcache", name);
  for (const f of files) {
    mkdirSync(join(dir, f, ".."), { recursive: true });
    writeFileSync(join(dir, f), `// ${f}\n`);
  }
  const zip = join(root, "m.zip");
  const py = spawnSync("python3", ["-c", `
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for f in sys.argv[3:]: z.write(f"{sys.argv[2]}/{f}", f"${name}/{f}")`, zip, dir, ...files], { encoding: "utf8" });
  if (py.status !== 0) throw new Error(py.stderr);
  spawnSync("chmod", ["-R", "a-w", dir]); // the module cache is read-only
  return { dir, zip, files };
}

describe("copy_module_checked", () => {
  it("copies a module's directory, writable, with every file of its zip", () => {
    const root = scratch(), m = fakeModule(root), dest = join(root, "copy");
    const r = lib(root, `copy_module_checked "${m.dir}" "${m.zip}" "${dest}" && test -w "${dest}/sub/deep"`);
    expect(r.stderr).toBe("");
    expect(r.status).toBe(0);
    for (const f of m.files) expect(readFileSync(join(dest, f), "utf8")).toBe(`// ${f}\n`);
  });

  it("detects a copy that lost a file, says which, and copies again", () => {
    const root = scratch(), m = fakeModule(root), dest = join(root, "copy"), count = join(root, "copies");
    // A first copy that loses sub/b.go, as one whose file another process deleted.
    const r = lib(
      root,
      `cp() { command cp "$@" || return; echo x >>"${count}"; [ "$(wc -l <"${count}")" -gt 1 ] || rm "${dest}/sub/b.go"; }
       copy_module_checked "${m.dir}" "${m.zip}" "${dest}"`,
    );
    expect(r.status).toBe(0);
    expect(r.stderr).toBe(`copy of ${m.dir} in ${dest}, against ${m.zip}: 1 files missing (sub/b.go)\ncopying ${m.dir} again\n`);
    expect(lines(count)).toHaveLength(2);
    for (const f of m.files) expect(existsSync(join(dest, f))).toBe(true);
  });

  it("refuses, naming the files, when the module cache's directory itself lacks them", () => {
    const root = scratch(), m = fakeModule(root), dest = join(root, "copy");
    spawnSync("chmod", ["u+w", join(m.dir, "sub")]);
    unlinkSync(join(m.dir, "sub/b.go"));
    const r = lib(root, `copy_module_checked "${m.dir}" "${m.zip}" "${dest}"`);
    expect(r.status).toBe(1);
    expect(r.stderr.match(/1 files missing \(sub\/b\.go\)/g)).toHaveLength(2);
    expect(r.stderr).toContain(`the module cache's ${m.dir} lacks files of its zip`);
  });
});

describe("build_checked", () => {
  // A "build" that reads every source the list names; REMAKE writes them all; both count their runs.
  function run(before: string) {
    const root = scratch(), src = join(root, "src"), list = join(root, ".files");
    writeFileSync(list, "a.go\nsub/b.go\n");
    const r = lib(
      root,
      `set -e
       remake() { echo remake >>"${root}/runs"; mkdir -p "${src}/sub"; echo a >"${src}/a.go"; echo b >"${src}/sub/b.go"; }
       build() { echo build >>"${root}/runs"; (cd "${src}" && cat a.go sub/b.go) >/dev/null || return 1; [ ! -e "${root}/fail" ]; }
       remake; : >"${root}/runs"
       ${before}
       build_checked "${list}" "${src}" remake build
       echo passed`,
    );
    return { ...r, runs: lines(join(root, "runs")) };
  }

  it("builds once when the sources are there", () => {
    const r = run("");
    expect([r.status, r.stdout, r.stderr, r.runs]).toEqual([0, "passed\n", "", ["build"]]);
  });

  it("says which sources went missing, makes them again and builds once more", () => {
    const r = run(`rm "$PYCROFT_ENGINE_CACHE/src/sub/b.go"`);
    expect(r.status).toBe(0);
    expect(r.stderr).toContain("the build failed, and its sources in ");
    expect(r.stderr).toContain("/src have: 1 files missing (sub/b.go)\nmaking the sources again (remake) and building once more\n");
    expect(r.runs).toEqual(["build", "remake", "build"]);
  });

  it("fails without a second build when the sources are all there (the build itself failed)", () => {
    const r = run(`touch "$PYCROFT_ENGINE_CACHE/fail"`);
    expect([r.status, r.stdout, r.runs]).toEqual([1, "", ["build"]]);
    expect(r.stderr).toBe("");
  });

  it("builds at most twice: a second failure stands", () => {
    const r = run(`rm "$PYCROFT_ENGINE_CACHE/src/sub/b.go"; touch "$PYCROFT_ENGINE_CACHE/fail"`);
    expect(r.status).not.toBe(0);
    expect(r.runs).toEqual(["build", "remake", "build"]);
  });
});
