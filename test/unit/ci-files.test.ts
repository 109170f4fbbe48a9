// The CI files (ci/ for Pycroft, .github/workflows for this repository) call the module with
// `dagger call|check|functions` lines. Every such line is read here and checked against the CLI
// that `dagger` makes of the module (the runtime's introspector on src/) and of Dagger's core types,
// so renaming a function or a flag, or making an argument required, fails here and not on a runner.
// The actions the GitHub workflows use are checked against a table of the first major of each that
// runs on no Node older than 24, and the docs deploy jobs against the checks they must wait for.
// (That the files are valid YAML and valid workflows is test/ci/lint-ci.sh: yamlcheck + actionlint.)
import { readdirSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { beforeAll, describe, expect, it } from "vitest";

import { buildCli, checkDagger, Cli, daggerCommands, daggerLookingLines, parseDagger, shellCommands, yamlScalars } from "../support/ci-commands.js";
import { introspect } from "../support/introspect.js";
import { actionUses, ciJobs, stepInput, stepLines, upstream } from "../support/workflows.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const dagger = JSON.parse(readFileSync(join(root, "dagger.json"), "utf8")) as { name: string; engineVersion: string };
const ENGINE = dagger.engineVersion.replace(/^v/, "");

function yamlFiles(dir: string, recursive: boolean): string[] {
  const entries = readdirSync(join(root, dir), { recursive, withFileTypes: false }) as string[];
  return entries.filter((f) => /\.ya?ml$/.test(f)).map((f) => join(dir, f)).sort();
}
const CI_FILES = [...yamlFiles("ci", true), ...yamlFiles(".github/workflows", false)];
const read = (file: string) => readFileSync(join(root, file), "utf8");
const WORKFLOWS = CI_FILES.filter((f) => f.startsWith(".github/workflows/") || f.startsWith("ci/github/"));

/**
 * Every action the workflows use, and the first major of it whose runtime is Node 24 or none: GitHub
 * removed Node 20 from its runners on 2026-09-16. For composite actions, the actions they run count
 * too. Each entry says what its action.yml (`runs.using`) says at that major and the one before.
 * A new action fails the test until its entry is added here.
 */
const NODE24_FROM: Record<string, { major: number; why: string }> = {
  "actions/checkout": { major: 5, why: "v5.0.0 runs node24; v4 node20" },
  "actions/setup-node": { major: 5, why: "v5.0.0 runs node24; v4 node20" },
  "actions/upload-artifact": { major: 6, why: "v6.0.0 runs node24; v5 still node20 (node24 only opt-in)" },
  "actions/upload-pages-artifact": { major: 5, why: "composite; v5 runs upload-artifact v7.0.0 (node24), v4 runs v4.6.2 (node20)" },
  "actions/deploy-pages": { major: 5, why: "v5.0.0 runs node24; v4 node20" },
  "mikepenz/action-junit-report": { major: 6, why: "v6.0.0 runs node24; v5 node20" },
  "codecov/codecov-action": { major: 6, why: "composite; v6 runs github-script v8 (node24), v5 github-script v7.0.1 (node20)" },
  "dagger/dagger-for-github": { major: 5, why: "composite of shell steps since v5; v4 ran node16" },
  "irongut/CodeCoverageSummary": { major: 1, why: "a docker action in every release" },
};

/** What is wrong with the actions a workflow uses: unknown to the table, or older than its Node 24 major. */
function staleActions(text: string, table: typeof NODE24_FROM): string[] {
  return actionUses(text).flatMap((u) => {
    if (u.problem) return [`line ${u.line}: ${u.problem}`];
    const entry = table[u.action];
    if (!entry) return [`line ${u.line}: ${u.action} is not in NODE24_FROM: look up the first major that runs on Node 24 and add it`];
    if (u.major! < entry.major) return [`line ${u.line}: ${u.action}@${u.ref} runs on Node 20 or older: use v${entry.major} or later (${entry.why})`];
    return [];
  });
}

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
    for (const m of text.matchAll(/^\s*DAGGER_VERSION:\s*["']?([^"'\s]+)/gm)) expect(m[1]).toBe(ENGINE);
    for (const use of actionUses(text).filter((u) => u.action === "dagger/dagger-for-github")) {
      expect(use.ref, `${file}:${use.line}`).toMatch(/^v\d+\.\d+\.\d+$|^[0-9a-f]{40}$/);
      const version = stepInput(stepLines(text, use.line), "version");
      expect(version, `${file}:${use.line}: dagger-for-github without version:`).toBeDefined();
      if (version!.includes("env.DAGGER_VERSION")) expect(text, file).toMatch(/^\s*DAGGER_VERSION:/m);
      else expect(version, `${file}:${use.line}`).toBe(ENGINE);
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

  it("ci/github/pycroft.yml runs every job of Pycroft's CI, with Sphinx's log for annotations and the outdated JS report in the dev image", () => {
    expect([...called("ci/github/pycroft.yml")].sort()).toEqual(["build-prod", "bundle", "dev", "docs", "docs-log", "lint", "publish", "test-report", "typecheck"]);
  });

  it("ci/gitlab/pycroft.gitlab-ci.yml runs every job of Pycroft's CI, with the outdated JS report in the dev image", () => {
    expect([...called("ci/gitlab/pycroft.gitlab-ci.yml")].sort()).toEqual(["build-prod", "bundle", "dev", "docs", "lint", "publish", "test-report", "typecheck"]);
  });

  it("this repository's workflow lists the functions, runs the tests and every check", () => {
    const commands = daggerCommands(read(".github/workflows/ci.yml")).commands.map((c) => c.args.join(" "));
    expect(commands).toEqual(["functions", "call test", "check", "call watcher export --path pycroft-watch.py", "call test-stack --sync-token env://PYCROFT_SYNC_TOKEN up --ports 5099:5099"]);
  });
});

describe("the submodules' tags (versions from git tags)", () => {
  /** A line that fetches the submodules' tags. */
  const FETCH = /git submodule foreach --recursive .*git fetch[^|]*--tags/;

  it("ci/github/pycroft.yml: every job that calls the module fetches them after its checkout and before its first call", () => {
    const text = read("ci/github/pycroft.yml");
    const lines = text.split("\n");
    const calls = daggerCommands(text).commands;
    const jobs = ciJobs(text).filter((j) => calls.some((c) => c.line >= j.line && c.line <= j.endLine));
    expect(jobs.length).toBeGreaterThanOrEqual(4);
    for (const job of jobs) {
      const at = (test: (l: string) => boolean) => lines.findIndex((l, i) => i + 1 >= job.line && i + 1 <= job.endLine && test(l)) + 1;
      const checkout = at((l) => /uses:\s*actions\/checkout@/.test(l));
      const fetch = at((l) => FETCH.test(l));
      const first = Math.min(...calls.filter((c) => c.line >= job.line && c.line <= job.endLine).map((c) => c.line));
      expect(checkout, `${job.name}: a checkout`).toBeGreaterThan(0);
      expect(fetch, `${job.name}: the tag fetch, after the checkout`).toBeGreaterThan(checkout);
      expect(first, `${job.name}: its first call after the tag fetch`).toBeGreaterThan(fetch);
    }
  });

  it("ci/gitlab/pycroft.gitlab-ci.yml: every job that calls the module extends the template whose before_script fetches them", () => {
    const text = read("ci/gitlab/pycroft.gitlab-ci.yml");
    const lines = text.split("\n");
    const template = lines.findIndex((l) => l === ".dagger:");
    const end = lines.findIndex((l, i) => i > template && /^\S/.test(l));
    const body = lines.slice(template, end);
    const before = body.findIndex((l) => /^\s+before_script:/.test(l));
    expect(before).toBeGreaterThan(0);
    expect(body.slice(before).some((l) => FETCH.test(l))).toBe(true);
    // git is in the job's image: the template installs it.
    expect(body.some((l) => /apk add .*\bgit\b/.test(l))).toBe(true);
    const calls = daggerCommands(text).commands;
    const jobs = ciJobs(text).filter((j) => calls.some((c) => c.line >= j.line && c.line <= j.endLine));
    expect(jobs.map((j) => j.name).sort()).toEqual(["build", "checks", "docs", "publish", "test"]);
    for (const job of jobs) expect(lines.slice(job.line, job.endLine).some((l) => /^\s+extends:\s*\.dagger\s*$/.test(l)), job.name).toBe(true);
  });
});

describe("the actions the workflows use", () => {
  it("finds every workflow", () => {
    expect(WORKFLOWS).toEqual(expect.arrayContaining([".github/workflows/ci.yml", "ci/github/pycroft.yml"]));
  });

  it.each(WORKFLOWS)("%s uses every action at a major that runs on Node 24", (file) => {
    expect(actionUses(read(file)).length).toBeGreaterThan(0);
    expect(staleActions(read(file), NODE24_FROM)).toEqual([]);
  });

  it("lists no action that no workflow uses", () => {
    const used = new Set(WORKFLOWS.flatMap((f) => actionUses(read(f)).map((u) => u.action)));
    expect(Object.keys(NODE24_FROM).filter((a) => !used.has(a))).toEqual([]);
  });

  it("refuses a Node 20 major, an action not in the table and a ref that names no release", () => {
    const yaml = [
      "jobs:",
      "  a:",
      "    steps:",
      "      - uses: actions/checkout@v4",
      "      - uses: actions/checkout@v5.0.1",
      "      - uses: 'actions/deploy-pages@v5'  # quoted",
      "      - name: pinned",
      "        uses: actions/upload-artifact@0123456789abcdef0123456789abcdef01234567 # v5.0.0",
      "      - uses: actions/upload-artifact@0123456789abcdef0123456789abcdef01234567",
      "      - uses: some/new-action@v9",
      "      - uses: actions/setup-node@main",
      "      - uses: ./local",
    ].join("\n");
    expect(staleActions(yaml, NODE24_FROM)).toEqual([
      expect.stringMatching(/^line 4: actions\/checkout@v4 runs on Node 20 or older: use v5 or later/),
      expect.stringMatching(/^line 8: actions\/upload-artifact@0123456789abcdef0123456789abcdef01234567 runs on Node 20 or older: use v6/),
      expect.stringMatching(/^line 9: .*a commit pin needs its release as a comment/),
      expect.stringMatching(/^line 10: some\/new-action is not in NODE24_FROM/),
      expect.stringMatching(/^line 11: actions\/setup-node@main: pinned to neither a release/),
      expect.stringMatching(/^line 12: \.\/local: a local action/),
    ]);
  });

  it("this repository's workflow sets up a Node of 24 or later", () => {
    const text = read(".github/workflows/ci.yml");
    const setups = actionUses(text).filter((u) => u.action === "actions/setup-node");
    expect(setups.length).toBeGreaterThan(0);
    for (const u of setups) expect(Number(stepInput(stepLines(text, u.line), "node-version")), `line ${u.line}`).toBeGreaterThanOrEqual(24);
  });
});

describe("the docs are deployed only after the checks Pycroft's CI deploys them after", () => {
  /** The jobs of a file that call each module function. */
  const callers = (text: string) => {
    const jobs = ciJobs(text);
    const by = new Map<string, Set<string>>();
    for (const c of daggerCommands(text).commands) {
      const job = jobs.find((j) => c.line >= j.line && c.line <= j.endLine);
      for (const fn of parseDagger(c.args, cli).called.slice(0, 1)) {
        if (!by.has(fn)) by.set(fn, new Set());
        if (job) by.get(fn)!.add(job.name);
      }
    }
    return by;
  };
  // Pycroft's python-lint job: ruff, mypy and Sphinx; deploy-docs needs it, so it deploys only when all passed.
  const GATES = ["lint", "typecheck", "docs"];

  it("reads jobs, needs and if: of GitHub and GitLab files", () => {
    const github = ["on: push", "jobs:", "  a:", "    steps: []", "  b:", "    needs: a", "    if: always()", "  c:", "    needs: [a, 'b']", "  d:", "    needs:", "      - c", "env:", "  X: 1"].join("\n");
    expect(ciJobs(github)).toEqual([
      { name: "a", line: 3, endLine: 4, needs: [] },
      { name: "b", line: 5, endLine: 7, needs: ["a"], if: "always()" },
      { name: "c", line: 8, endLine: 9, needs: ["a", "b"] },
      { name: "d", line: 10, endLine: 12, needs: ["c"] },
    ]);
    expect([...upstream(ciJobs(github), "d")].sort()).toEqual(["a", "b", "c", "d"]);
    const gitlab = ["variables:", "  A: 1", ".t:", "  image: x", "x:", "  stage: s", "y:", "  needs: [x]", "z:", "  needs:", "    - job: y", "    - x"].join("\n");
    expect(ciJobs(gitlab).map((j) => [j.name, j.needs])).toEqual([["x", []], ["y", ["x"]], ["z", ["y", "x"]]]);
  });

  it("ci/github/pycroft.yml: deploy-pages runs only after the jobs of ruff, mypy and the docs passed", () => {
    const text = read("ci/github/pycroft.yml");
    const jobs = ciJobs(text);
    const deploys = actionUses(text).filter((u) => u.action === "actions/deploy-pages").map((u) => jobs.find((j) => u.line >= j.line && u.line <= j.endLine)!);
    expect(deploys.map((j) => j.name)).toEqual(["deploy-docs"]);
    const deploy = deploys[0];
    const before = upstream(jobs, deploy.name);
    const by = callers(text);
    for (const fn of GATES) {
      expect(by.get(fn)?.size, fn).toBeGreaterThan(0);
      for (const job of by.get(fn)!) expect(before, `${fn} runs in ${job}, which ${deploy.name} does not wait for`).toContain(job);
    }
    // A status function in if: would run it after a failed or skipped job too.
    expect(deploy.if ?? "").not.toMatch(/always\(\)|failure\(\)|cancelled\(\)/);
    // The artifact it deploys is uploaded by a job it waits for.
    const uploads = actionUses(text).filter((u) => u.action === "actions/upload-pages-artifact");
    expect(uploads.length).toBeGreaterThan(0);
    for (const u of uploads) expect(before).toContain(jobs.find((j) => u.line >= j.line && u.line <= j.endLine)!.name);
  });

  it("ci/gitlab/pycroft.gitlab-ci.yml: pages runs only after the jobs of ruff, mypy and the docs passed", () => {
    const text = read("ci/gitlab/pycroft.gitlab-ci.yml");
    const jobs = ciJobs(text);
    const pages = jobs.find((j) => j.name === "pages")!;
    // With needs:, GitLab starts a job as soon as those finished: the stages no longer order it.
    expect(pages.needs.length).toBeGreaterThan(0);
    const before = upstream(jobs, "pages");
    const by = callers(text);
    for (const fn of GATES) {
      expect(by.get(fn)?.size, fn).toBeGreaterThan(0);
      for (const job of by.get(fn)!) expect(before, `${fn} runs in ${job}, which pages does not wait for`).toContain(job);
    }
  });
});
