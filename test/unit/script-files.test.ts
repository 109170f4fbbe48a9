// The module's scripts as files (src/scripts): each one the module reads, read relative to the code
// that reads it (also from a copy of the module's source run with tsx, as `dagger call`'s runtime runs
// it), and the settings written into a script that leaves the module.
import { spawnSync } from "node:child_process";
import { cpSync, readdirSync, readFileSync, symlinkSync, writeFileSync } from "node:fs";
import { join, resolve } from "node:path";

import { describe, expect, it } from "vitest";

import { DEFAULTS, SOURCE_EXCLUDES } from "../../src/config.js";
import { WATCH, WATCHER_NAME } from "../../src/live/watcher.js";
import { DEPENDENCY_MANIFESTS, PATH_DEPENDENCY_MANIFEST } from "../../src/images/project.js";
import { script, withSettings } from "../../src/scripts/index.js";
import { tempDir } from "../support/run-script.js";

const SCRIPTS = "src/scripts";
const scripts = readdirSync(SCRIPTS).filter((name) => !name.endsWith(".ts"));
/** The module's TypeScript, all of it. */
const code = readdirSync("src", { recursive: true, encoding: "utf8" })
  .filter((path) => path.endsWith(".ts"))
  .map((path) => readFileSync(join("src", path), "utf8"))
  .join("\n");

describe("the scripts' files", () => {
  it("are each read by the module's code, by name, and read as they are", () => {
    expect(scripts.length).toBeGreaterThan(15);
    for (const name of scripts) {
      // Read with script() or withSettings() — the watcher by its exported name.
      const named = name === WATCHER_NAME ? /withSettings\(WATCHER_NAME,/ : new RegExp(`(script|withSettings)\\("${name.replaceAll(".", "\\.")}"`);
      expect(code, name).toMatch(named);
      expect(script(name)).toBe(readFileSync(join(SCRIPTS, name), "utf8"));
    }
  });

  it("are read relative to the code that reads them: from a copy of the module's source, run with tsx as the Dagger runtime runs it, the copy's", () => {
    const copy = tempDir("module-source");
    cpSync("src", join(copy, "src"), { recursive: true });
    cpSync("package.json", join(copy, "package.json"));
    symlinkSync(resolve("node_modules"), join(copy, "node_modules"));
    writeFileSync(join(copy, "src/scripts/pytest.sh"), "# the copy's\n");
    const entry = join(copy, "entry.ts");
    writeFileSync(
      entry,
      'import { WATCH } from "./src/live/watcher.js";\nimport { script } from "./src/scripts/index.js";\nconsole.log(JSON.stringify([script("pytest.sh"), WATCH]));\n',
    );
    const ran = spawnSync(resolve("node_modules/.bin/tsx"), [entry], { cwd: tempDir("elsewhere"), encoding: "utf8" });
    expect(ran.status, ran.stderr).toBe(0);
    expect(JSON.parse(ran.stdout)).toEqual(["# the copy's\n", WATCH]);
  });
});

describe("the settings a script that leaves the module carries", () => {
  it("are the watcher's: its name, port and the module's own lists, in place of the file's stand-ins; the rest of it is the file", () => {
    const settings = [
      `NAME = "${WATCHER_NAME}"`,
      `PORT = ${DEFAULTS.syncPort}`,
      `EXCLUDES = ${JSON.stringify(SOURCE_EXCLUDES)}`,
      `MANIFESTS = ${JSON.stringify(DEPENDENCY_MANIFESTS)}`,
      `PATH_DEPENDENCY = ${JSON.stringify(PATH_DEPENDENCY_MANIFEST.source)}`,
    ];
    const [before, after] = script(WATCHER_NAME).split(/^NAME = [\s\S]*?(?=^# <<< settings$)/m);
    expect(WATCH).toBe(`${before}${settings.join("\n")}\n${after}`);
    expect(before).toMatch(/# >>> settings: [^\n]*\n(#[^\n]*\n)*$/);
  });

  it("are refused for a script without exactly one settings block", () => {
    expect(() => withSettings("pytest.sh", ["x=1"])).toThrow("pytest.sh has 0 settings blocks (# >>> settings … # <<< settings), not one");
    expect(withSettings("entrypoint.sh", ["port=1"])).toMatch(/^# >>> settings: .*\n(#.*\n)*port=1\n# <<< settings\n/m);
  });
});
