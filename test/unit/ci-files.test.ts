// The CI files (ci/ for Pycroft, .github/workflows for this repository) call the module with
// `dagger call|check|functions` lines. Every such line is read here and checked against the CLI
// that `dagger` makes of the module (the runtime's introspector on src/) and of Dagger's core types,
// so renaming a function or a flag, or making an argument required, fails here and not on a runner.
// (That the files are valid YAML and valid workflows is test/ci/lint-ci.sh: yamlcheck + actionlint.)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { beforeAll, describe, expect, it } from "vitest";

import { buildCli, checkDagger, Cli, daggerCommands, daggerLookingLines, parseDagger, shellCommands, yamlScalars } from "../support/ci-commands.js";
import { introspect } from "../support/introspect.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dagger = JSON.parse(readFileSync(join(root, "dagger.json"), "utf8")) as { name: string; engineVersion: string };
const ENGINE = dagger.engineVersion.replace(/^v/, "");

function yamlFiles(dir: string, recursive: boolean): string[] {
  const entries = readdirSync(join(root, dir), { recursive, withFileTypes: false }) as string[];
  return entries.filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f)).sort();
}
const CI_FILES = [...yamlFiles("ci", true), ...yamlFiles(".github/workflows", false)];
const read = (file: string) => readFileSync(join(root, file), "utf8");

let cli: Cli;

beforeAll(async () => {
  cli = buildCli(await introspect(join(root, "src"), dagger.name), dagger.name);
}, 60_000);

const check = (line: string) => {
  const commands = shellCommands(line);
  expect(commands[0][0]).toBe("dagger");
  return checkDagger(commands[0].slice(1), cli);
};

describe("reading commands out of CI files", () => {
  it("reads plain, quoted, literal and folded scalars, continuations and lists", () => {
    const yaml = [
      "jobs:",
      "  a:",
      "    steps:",
      "      - run: dagger call --source . lint  # a comment",
      "      - name: multi",
      "        run: |",
      "          branch=\"${GITHUB_REF_NAME//\\//-}\"",
      "          dagger -m \"$M\" call --source . publish \\",
      "            --tag \"$branch\" --password env:P",
      "          echo done",
      "      - run: >",
      "          dagger call",
      "          test-report --args=-m,\"not legacy\"",
      "          export --path reports",
      "test:",
      "  script:",
      "    - 'dagger call test'",
      "    - dagger call lint || status=1; dagger call bundle && exit \"$(cat reports/exit-code)\"",
      "    - exit \"$(cat reports/exit-code)\" 2>&1 >/dev/null",
    ].join("\n");
    const scalars = yamlScalars(yaml);
    expect(scalars.find((s) => s.style === "literal")).toMatchObject({ line: 7, endLine: 10 });
    expect(scalars.find((s) => s.style === "folded")?.text).toBe('dagger call test-report --args=-m,"not legacy" export --path reports');
    expect(daggerCommands(yaml).commands.map((c) => c.args)).toEqual([
      ["call", "--source", ".", "lint"],
      ["-m", "$M", "call", "--source", ".", "publish", "--tag", "$branch", "--password", "env:P"],
      ["call", "test-report", "--args=-m,not legacy", "export", "--path", "reports"],
      ["call", "test"],
      ["call", "lint"],
      ["call", "bundle"],
    ]);
    expect(shellCommands('exit "$(cat reports/exit-code)" 2>&1 >/dev/null')).toEqual([["exit", "$(cat reports/exit-code)"]]);
    expect(daggerLookingLines(yaml)).toEqual([4, 8, 12, 17, 18]);
  });

  it("refuses a backslash continuation in a folded block, which the shell would read as an escaped space", () => {
    const yaml = ["- run: >", "    dagger call --source . \\", "    lint"].join("\n");
    expect(daggerCommands(yaml).problems).toEqual([expect.stringMatching(/backslash continuation in a folded/)]);
  });
});

describe("checking a command against the module's CLI", () => {
  it("accepts the module's functions, flags and chained core calls", () => {
    expect(check('dagger -m github.com/a/b@main --progress plain call --source . --no-install-package x lint --output-format github')).toEqual([]);
    expect(check('dagger call test-report --args=-m,"not legacy" --with-worker=false export --path reports')).toEqual([]);
    expect(check("dagger call docs --allow-warnings export --path public")).toEqual([]);
    expect(check("dagger -q call --uid 1001 build-prod --platform linux/arm64 as-tarball export --path x.tar")).toEqual([]);
    expect(check("dagger call publish --address r/p --tag a --tag b --password env:PW")).toEqual([]);
    expect(check("dagger check lint pycroft:typecheck 'b*'")).toEqual([]);
    expect(check("dagger functions")).toEqual([]);
    expect(check("dagger up")).toEqual([]);
    expect(check("dagger -m github.com/a/b@main up dev-stack")).toEqual([]);
    expect(check("dagger run npm test")).toEqual([]);
  });

  it("names what is wrong", () => {
    expect(check("dagger call lnit")).toEqual([expect.stringMatching(/^Pycroft has no function lnit/)]);
    expect(check("dagger call lint --output-fromat github")).toEqual([expect.stringMatching(/^lint: no flag --output-fromat/)]);
    expect(check("dagger call --sauce . lint")).toEqual([expect.stringMatching(/^constructor: no flag --sauce/)]);
    expect(check("dagger call test-report exprot --path r")).toEqual([expect.stringMatching(/^Directory has no function exprot/)]);
    expect(check("dagger call test-report export")).toEqual(["export: required flag --path missing"]);
    expect(check("dagger call publish --tag a")).toEqual(["publish: required flag --address missing"]);
    expect(check('dagger call publish --address r --password "$PW"')).toEqual([expect.stringMatching(/never as its value/)]);
    expect(check("dagger call docs --allow-warnings=yes")).toEqual([expect.stringMatching(/a boolean is true or false/)]);
    expect(check("dagger call --uid x base")).toEqual([expect.stringMatching(/not an integer/)]);
    expect(check("dagger call test stdout")).toEqual([expect.stringMatching(/returns a scalar/)]);
    expect(check("dagger check build-prod")).toEqual([expect.stringMatching(/^dagger check build-prod: no such check/)]);
    expect(check("dagger --progres plain call lint")).toEqual([expect.stringMatching(/unknown global flag --progres/)]);
    expect(check("dagger up test")).toEqual([expect.stringMatching(/^dagger up test: no such up function \(up: dev-stack\)/)]);
    expect(check("dagger up --bogus")).toEqual([expect.stringMatching(/^dagger up: unknown flag --bogus/)]);
    expect(check("dagger cal test")).toEqual([expect.stringMatching(/^dagger cal: only call, check, functions and up/)]);
  });

  it("knows the checks `dagger check` runs", () => {
    const checks = [...cli.types.get("Pycroft")!.values()].filter((f) => f.isCheck).map((f) => f.name).sort();
    expect(checks).toEqual(["bundle", "docs", "lint", "migrate", "test", "typecheck"]);
  });
});

describe.each(CI_FILES)("%s", (file) => {
  const text = read(file);

  it("calls the module only with functions and flags that exist", () => {
    const { commands, problems } = daggerCommands(text);
    expect(problems).toEqual([]);
    expect(commands.length).toBeGreaterThan(0);
    const errors = commands.flatMap((c) => checkDagger(c.args, cli).map((e) => `${file}:${c.line}: ${e}`));
    expect(errors).toEqual([]);
  });

  it("has no dagger command this test did not read", () => {
    const { commands } = daggerCommands(text);
    const read = new Set(commands.flatMap((c) => Array.from({ length: c.endLine - c.line + 1 }, (_, k) => c.line + k)));
    expect(daggerLookingLines(text).filter((l) => !read.has(l))).toEqual([]);
  });

  it(`installs the Dagger CLI of dagger.json's engineVersion (${ENGINE}) from a pinned action`, () => {
    const lines = text.split("\n");
    for (const m of text.matchAll(/^\s*DAGGER_VERSION:\s*["']?([^"'\s]+)/gm)) expect(m[1]).toBe(ENGINE);
    for (const [i, line] of lines.entries()) {
      const uses = /^(\s*)(- +)?uses:\s*dagger\/dagger-for-github@(\S+)/.exec(line);
      if (!uses) continue;
      expect(uses[3], `${file}:${i + 1}`).toMatch(/^v\d+\.\d+\.\d+$|^[0-9a-f]{40}$/);
      const col = uses[1].length + (uses[2]?.length ?? 0);
      const step: string[] = [];
      for (let j = i + 1; j < lines.length && (lines[j].trim() === "" || lines[j].search(/\S/) >= col); j++) step.push(lines[j]);
      const version = step.map((l) => /^\s*version:\s*["']?([^"'#]+?)["']?\s*$/.exec(l)?.[1]).find(Boolean);
      expect(version, `${file}:${i + 1}: dagger-for-github without version:`).toBeDefined();
      if (version!.includes("env.DAGGER_VERSION")) expect(text, file).toMatch(/^\s*DAGGER_VERSION:/m);
      else expect(version, `${file}:${i + 1}`).toBe(ENGINE);
    }
  });

  it("names the module by a git ref where it names one", () => {
    for (const m of text.matchAll(/^\s*DAGGER_MODULE:\s*["']?([^"'\s#]+)/gm)) {
      expect(m[1]).toMatch(/^github\.com\/[\w.-]+\/[\w.-]+(\/[\w./-]+)?@[\w./-]+$/);
    }
  });
});

// The pages of docs/ and the README show commands to copy: each `dagger` line of their sh blocks
// must work as written. The minimums keep the check from passing on a page whose blocks it no longer finds.
const DOC_PAGES = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)].sort();
const MIN_DAGGER_COMMANDS: Record<string, number> = { "README.md": 9, "docs/ci.md": 8, "docs/usage.md": 20, "docs/development.md": 8 };

describe.each(DOC_PAGES)("%s", (file) => {
  it("shows only dagger commands that exist, in its sh blocks", () => {
    const blocks = [...read(file).matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]);
    const commands = blocks.flatMap(shellCommands).filter((w) => w[0] === "dagger");
    expect(commands.length).toBeGreaterThanOrEqual(MIN_DAGGER_COMMANDS[file] ?? 0);
    expect(commands.flatMap((w) => checkDagger(w.slice(1), cli).map((e) => `${w.join(" ")}: ${e}`))).toEqual([]);
  });
});

describe("what the CI files run", () => {
  /** The module functions the file calls (the first of each chain). */
  const called = (file: string) =>
    new Set(daggerCommands(read(file)).commands.map((c) => parseDagger(c.args, cli)).filter((p) => p.verb === "call").map((p) => p.called[0]));

  it.each(["ci/github/pycroft.yml", "ci/gitlab/pycroft.gitlab-ci.yml"])("%s runs every job of Pycroft's CI", (file) => {
    expect([...called(file)].sort()).toEqual(["build-prod", "bundle", "docs", "lint", "publish", "test-report", "typecheck"]);
  });

  it("this repository's workflow lists the functions, runs the tests and every check", () => {
    const commands = daggerCommands(read(".github/workflows/ci.yml")).commands.map((c) => c.args.join(" "));
    expect(commands).toEqual(["functions", "call test", "check", "call watcher export --path pycroft-watch.py", "call test-stack --sync-token env://PYCROFT_SYNC_TOKEN up --ports 5099:5099"]);
  });
});
