// test-stack's pytest started ahead of its run, run for real here with this machine's pytest on a
// small app: what it imports ahead, what it leaves to the run, and that a run gives what `pytest` gives.
import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { PYTEST_AHEAD } from "../../src/testing/ahead.js";
import { tempDir } from "../support/run-script.js";

/**
 * An app dir with a test of its own module and a conftest that imports modules from outside it, as
 * from the venv: `quietparty`; `thirdparty`, which warns when imported; `optional`, which does
 * without `myplug` when it cannot import it. `myplug` is a pytest plugin installed as a distribution
 * with a pytest11 entry point. Each outside module notes in `imports.log` the arguments of the
 * process that imported it.
 */
function app() {
  const root = tempDir("pytest-ahead");
  const [site, dir] = [join(root, "site"), join(root, "app")];
  mkdirSync(join(dir, "tests"), { recursive: true });
  mkdirSync(join(site, "myplug-1.0.dist-info"), { recursive: true });
  const note = (name: string) => `import os, sys\nwith open(os.environ["IMPORTS_LOG"], "a") as f:\n    f.write(f"${name} {sys.argv[1:]}\\n")\n`;
  writeFileSync(join(site, "quietparty.py"), note("quietparty"));
  writeFileSync(join(site, "thirdparty.py"), `${note("thirdparty")}import warnings\nwarnings.warn("thirdparty is old", DeprecationWarning)\n`);
  writeFileSync(join(site, "optional.py"), `${note("optional")}try:\n    import myplug as plugin\nexcept ImportError:\n    plugin = None\n`);
  writeFileSync(join(site, "myplug.py"), `${note("myplug")}import pytest\n@pytest.fixture\ndef one():\n    return 1\n`);
  writeFileSync(join(site, "myplug-1.0.dist-info", "METADATA"), "Metadata-Version: 2.1\nName: myplug\nVersion: 1.0\n");
  writeFileSync(join(site, "myplug-1.0.dist-info", "entry_points.txt"), "[pytest11]\nmyplug = myplug\n");
  writeFileSync(join(site, "myplug-1.0.dist-info", "RECORD"), "myplug.py,,\nmyplug-1.0.dist-info/METADATA,,\n");
  writeFileSync(join(dir, "appmod.py"), "VALUE = 1\n");
  writeFileSync(join(dir, "tests", "conftest.py"), "import quietparty, thirdparty, optional\n");
  writeFileSync(
    join(dir, "tests", "test_app.py"),
    "import appmod, optional\n\ndef test_value(one):\n    assert appmod.VALUE == one\n\ndef test_optional_found_its_plugin():\n    assert optional.plugin is not None\n",
  );
  const log = join(root, "imports.log");
  writeFileSync(join(root, "pytest-ahead.py"), PYTEST_AHEAD);
  const env = { ...process.env, PYTHONPATH: `${site}:${dir}`, IMPORTS_LOG: log };
  return {
    dir,
    env,
    record: join(root, "record.json"),
    script: join(root, "pytest-ahead.py"),
    imports: () => (existsSync(log) ? readFileSync(log, "utf8") : ""),
    forget: () => rmSync(log, { force: true }),
  };
}

type App = ReturnType<typeof app>;
const ARGS = ["-q", "-p", "no:cacheprovider"];

/** `pytest ARGS` as the stack ran it before, its stderr in its output as the receiver has it. */
function plain(a: App, args: string[]) {
  const ran = spawnSync("sh", ["-c", 'exec "$@" 2>&1', "sh", "python3", "-m", "pytest", ...ARGS, ...args], { cwd: a.dir, env: a.env, encoding: "utf8" });
  return { code: ran.status, output: ran.stdout };
}

/** Starts the script as the receiver does; `run(args)` gives it its arguments and waits for its end. */
function ahead(a: App, ...rest: string[]) {
  const child = spawn("python3", [a.script, a.record, ...rest], { cwd: a.dir, env: a.env, stdio: ["pipe", "pipe", "pipe"] });
  let output = "";
  child.stdout.on("data", (d) => (output += d));
  child.stderr.on("data", (d) => (output += d));
  const ended = new Promise<number | null>((done) => child.on("close", done));
  return {
    run: async (args: string[]) => {
      child.stdin.end([...ARGS, ...args].map((arg) => `${arg}\n`).join(""));
      return { code: await ended, output };
    },
  };
}

/** Waits until `imports.log` has `line`. */
async function imported(a: App, line: string) {
  for (let i = 0; i < 200 && !a.imports().includes(line); i++) await new Promise((done) => setTimeout(done, 25));
  expect(a.imports()).toContain(line);
}

/** pytest's output without its timings. */
const untimed = (output: string) => output.replace(/ in [\d.]+s/g, "");
const verdict = (output: string) => untimed(output).trim().split("\n").at(-1)!;
/** How the imports log shows a module imported by a process with these arguments. */
const importedWith = (name: string, args: string[]) => `${name} [${args.map((arg) => `'${arg}'`).join(", ")}]`;

describe("pytest started ahead (test-stack)", () => {
  it("imports what the last run imported from outside the app dir before its arguments come; the app's modules are the run's, with the edits made meanwhile", async () => {
    const a = app();
    // The first run has nothing to go by: it imports everything itself, and notes what it imported.
    expect(verdict((await ahead(a).run(["tests"])).output)).toBe("2 passed, 1 warning");
    const record = JSON.parse(readFileSync(a.record, "utf8"));
    expect(record.modules).toEqual(expect.arrayContaining(["quietparty", "thirdparty", "optional"]));
    expect(record.modules.filter((m: string) => m === "appmod" || m.startsWith("tests"))).toEqual([]);
    // Even when named, a module of the app dir is left to the run.
    writeFileSync(a.record, JSON.stringify({ ...record, modules: [...record.modules, "appmod"] }));

    a.forget();
    const next = ahead(a);
    // Imported while nobody has asked for a run (the process has no arguments yet); the modules that
    // must be left to the run are found, and the process starts again without them.
    await imported(a, importedWith("quietparty", [a.record, "1"]));
    // An edit between its start and its run is tested (and fails here, as it should).
    writeFileSync(join(a.dir, "appmod.py"), "VALUE = 2\n");
    const ran = await next.run(["tests"]);
    expect(ran.code).toBe(1);
    expect(ran.output).toContain("assert 2 == 1");
    expect(verdict(ran.output)).toBe("1 failed, 1 passed, 1 warning");
    // quietparty was not imported again by the run; the others were imported by it.
    const args = [...ARGS, "tests"];
    expect(a.imports().trim().split("\n").sort()).toEqual(
      [
        ...["quietparty", "thirdparty", "optional"].map((m) => importedWith(m, [a.record])),
        importedWith("quietparty", [a.record, "1"]),
        ...["myplug", "optional", "thirdparty"].map((m) => importedWith(m, args)),
      ].sort(),
    );
  });

  it("leaves to the run a module whose import warns or went on without a module left to the run, and gives the plain pytest's output", async () => {
    const a = app();
    await ahead(a).run(["tests"]);
    expect(JSON.parse(readFileSync(a.record, "utf8")).left).toEqual([]);
    const expected = plain(a, ["tests"]);
    for (const round of [1, 2]) {
      const ran = await ahead(a).run(["tests"]);
      expect({ round, code: ran.code, output: untimed(ran.output) }).toEqual({ round, code: expected.code, output: untimed(expected.output) });
    }
    expect(JSON.parse(readFileSync(a.record, "utf8")).left.sort()).toEqual(["optional", "thirdparty"]);
  });

  it("after 5 starts again, a run that meets a module to leave is the plain pytest's", async () => {
    const a = app();
    await ahead(a).run(["tests"]);
    a.forget();
    const ran = await ahead(a, "5").run(["tests"]);
    expect(untimed(ran.output)).toBe(untimed(plain(a, ["tests"]).output));
    // Imported ahead, then by the plain pytest that took over.
    expect(a.imports()).toContain(importedWith("thirdparty", [a.record, "5"]));
    expect(a.imports()).toContain(importedWith("thirdparty", [...ARGS, "tests"]));
    expect(a.imports()).not.toContain(importedWith("thirdparty", [a.record, "6"]));
  });

  it("leaves the pytest plugins' packages to the run, which rewrites their asserts as pytest does: no 'cannot be rewritten' warning", async () => {
    const a = app();
    await ahead(a).run(["tests"]);
    expect(JSON.parse(readFileSync(a.record, "utf8")).plugins).toEqual(["myplug"]);
    const args = ["-W", "error::pytest.PytestAssertRewriteWarning", "tests"];
    // Twice: the second run's process has the first one's record.
    for (const runs of [1, 2]) {
      a.forget();
      const ran = await ahead(a).run(args);
      expect(ran.output).not.toContain("cannot be rewritten");
      expect(verdict(ran.output)).toBe("2 passed, 1 warning");
      // Imported by the run alone, with its arguments.
      expect(a.imports().match(/^myplug .*/gm), `run ${runs}`).toEqual([importedWith("myplug", [...ARGS, ...args])]);
    }
  });

  it("a warning raised by an import meets pytest's filters as in a plain run: reported, ignored by module, or an error", async () => {
    const a = app();
    await ahead(a).run(["tests"]);
    for (const filters of [[], ["-W", "ignore::DeprecationWarning:thirdparty"], ["-W", "error::DeprecationWarning"]]) {
      const expected = plain(a, [...filters, "tests"]);
      const ran = await ahead(a).run([...filters, "tests"]);
      expect({ filters, code: ran.code, output: untimed(ran.output) }).toEqual({ filters, code: expected.code, output: untimed(expected.output) });
    }
    expect(untimed(plain(a, ["-W", "error::DeprecationWarning", "tests"]).output)).toContain("E   DeprecationWarning: thirdparty is old");
  });
});
