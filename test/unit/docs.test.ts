// The README and docs/ as a reader meets them: the function reference matches the docstrings it is
// generated from, every relative link leads somewhere, and the README's function table and npm
// commands match the module and package.json. (Their `dagger` commands are checked in ci-files.test.ts.)
import { existsSync, readdirSync, readFileSync, statSync } from "node:fs";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import { beforeAll, describe, expect, it } from "vitest";

import { REFERENCE, REGENERATE, reference, render } from "../docs/reference.js";
import { kebab, shellCommands } from "../support/ci-commands.js";
import { Introspected, introspect } from "../support/introspect.js";

const root = fileURLToPath(new URL("../..", import.meta.url));
const read = (file: string) => readFileSync(join(root, file), "utf8");
const PAGES = ["README.md", ...readdirSync(join(root, "docs")).filter((f) => f.endsWith(".md")).map((f) => `docs/${f}`)].sort();

let module: Introspected;

beforeAll(async () => {
  module = await introspect(join(root, "src"), "pycroft");
}, 60_000);

/** The text outside fenced code blocks, with inline code spans blanked: where links and headings are. */
function prose(markdown: string): string[] {
  const lines: string[] = [];
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) {
      fenced = !fenced;
      lines.push("");
      continue;
    }
    lines.push(fenced ? "" : line.replace(/`[^`]*`/g, (code) => " ".repeat(code.length)));
  }
  return lines;
}

/** GitHub's anchor for each heading of a Markdown file (lower-cased, punctuation dropped, a -N for repeats). */
function anchors(markdown: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  let fenced = false;
  for (const line of markdown.split("\n")) {
    if (/^\s*```/.test(line)) fenced = !fenced;
    const m = fenced ? null : /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const slug = m[1]
      .replace(/\[([^\]]*)\]\([^)]*\)/g, "$1")
      .toLowerCase()
      .replace(/[^\p{L}\p{N}\s_-]/gu, "")
      .replace(/\s/g, "-");
    const n = seen.get(slug) ?? 0;
    seen.set(slug, n + 1);
    out.add(n === 0 ? slug : `${slug}-${n}`);
  }
  return out;
}

/** Every inline link target of the prose, with its line number. */
function links(markdown: string): { line: number; target: string }[] {
  return prose(markdown).flatMap((text, i) =>
    [...text.matchAll(/\]\(([^)\s]+)(?:\s+"[^"]*")?\)/g)].map((m) => ({ line: i + 1, target: m[1] })),
  );
}

/** What is wrong with each relative link of `file`: a missing file or directory, or a missing heading. */
function brokenLinks(file: string, text = read(file)): string[] {
  const problems: string[] = [];
  for (const { line, target } of links(text)) {
    if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // https:, mailto:, …
    const [path, anchor] = target.split("#", 2);
    const where = `${file}:${line}: ${target}`;
    if (path === "") {
      if (!anchors(text).has(anchor)) problems.push(`${where}: no heading with that anchor`);
      continue;
    }
    const resolved = join(root, dirname(file), decodeURI(path));
    if (relative(root, resolved).startsWith("..")) problems.push(`${where}: outside the repository`);
    else if (!existsSync(resolved)) problems.push(`${where}: no such file`);
    else if (anchor !== undefined) {
      if (!resolved.endsWith(".md") || statSync(resolved).isDirectory()) problems.push(`${where}: an anchor into a file that is not Markdown`);
      else if (!anchors(readFileSync(resolved, "utf8")).has(anchor)) problems.push(`${where}: no heading with that anchor`);
    }
  }
  return problems;
}

describe("docs/reference.md", () => {
  it("is what the docstrings in src/ make of it", async () => {
    const expected = await reference();
    expect(read(REFERENCE), `${REFERENCE} is out of date with the docstrings in src/: run \`${REGENERATE}\` and commit it`).toBe(expected);
  }, 60_000);

  it("has a section for every function and a row for every argument and option", () => {
    const text = render(module);
    const pycroft = module.objects.Pycroft;
    for (const [name, fn] of Object.entries<Introspected>(pycroft.methods)) {
      const section = text.split(`\n### ${kebab(name)}\n`)[1]?.split("\n### ")[0];
      expect(section, name).toBeDefined();
      expect(section).toContain(fn.description.trim());
      for (const arg of Object.values<Introspected>(fn.arguments)) expect(section, `${name} --${arg.name}`).toMatch(`| \`--${kebab(arg.name)}\` |`);
    }
    const options = text.split("\n## Options\n")[1].split("\n## ")[0];
    for (const arg of Object.values<Introspected>(pycroft._constructor.arguments)) expect(options).toMatch(`| \`--${kebab(arg.name)}\` |`);
    expect(text).toMatch("| `--source` | Directory | `./example` (of the module) |");
    expect(text).toMatch("| `--address` | String | **required** |");
    expect(text).toMatch("| `--shards` | Int | `1` |");
  });

  it("refuses to document a function or an argument without a docstring", () => {
    const withBase = (base: Introspected) => ({
      name: "Pycroft",
      description: "The module.",
      objects: { Pycroft: { _constructor: { arguments: {} }, properties: {}, methods: { base } } },
    });
    const container = { kind: "OBJECT_KIND", name: "Container" };
    const string = { kind: "STRING_KIND" };
    expect(render(withBase({ name: "base", description: "The base.", arguments: {}, returnType: container }))).toMatch("### base\n\nReturns Container.\n\nThe base.\n\nNo arguments.");
    expect(() => render(withBase({ name: "base", description: " ", arguments: {}, returnType: container }))).toThrow(/^base has no docstring/);
    const arg = { name: "pythonImage", description: "", type: string, isOptional: true };
    expect(() => render(withBase({ name: "base", description: "The base.", arguments: { pythonImage: arg }, returnType: container }))).toThrow(/^base --python-image has no docstring/);
  });
});

describe.each(PAGES)("%s", (file) => {
  it("links only to files and headings that exist", () => {
    expect(links(read(file)).length).toBeGreaterThan(0);
    expect(brokenLinks(file)).toEqual([]);
  });

  it("runs only npm scripts that package.json has", () => {
    const scripts = Object.keys(JSON.parse(read("package.json")).scripts);
    const blocks = [...read(file).matchAll(/^```sh\n([\s\S]*?)^```/gm)].map((m) => m[1]);
    const used = blocks.flatMap(shellCommands).filter((w) => w[0] === "npm" && w[1] === "run").map((w) => w[2]);
    expect(used.filter((name) => !scripts.includes(name))).toEqual([]);
  });
});

describe("the link check", () => {
  it("knows GitHub's anchors, and reads links from prose only", () => {
    expect([...anchors("# A `b`: c's d\n## Tests\n```\n# not a heading\n```\n## Tests\n")]).toEqual(["a-b-cs-d", "tests", "tests-1"]);
    expect(links("[a](x.md) `[b](y.md)`\n```\n[c](z.md)\n```\n[d](https://e.org/f)").map((l) => l.target)).toEqual(["x.md", "https://e.org/f"]);
  });

  it("reports a missing file, a missing heading and a way out of the repository", () => {
    const text = [
      "[ok](usage.md#bad-input) [ok](#the-page) [ok](../ci) [ok](https://example.org/x)",
      "# The page",
      "[gone](no-such.md) [gone](usage.md#no-such-heading) [out](../../elsewhere.md) [gone](#no-heading)",
    ].join("\n");
    expect(brokenLinks("docs/page.md", text)).toEqual([
      "docs/page.md:3: no-such.md: no such file",
      "docs/page.md:3: usage.md#no-such-heading: no heading with that anchor",
      "docs/page.md:3: ../../elsewhere.md: outside the repository",
      "docs/page.md:3: #no-heading: no heading with that anchor",
    ]);
  });
});

describe("README.md", () => {
  const readme = read("README.md");

  it("lists every function of the module in its table, and nothing else", () => {
    const rows = [...readme.matchAll(/^\| `([a-z-]+)`(?: ✓)? \|/gm)].map((m) => m[1]);
    const functions = Object.entries<Introspected>(module.objects.Pycroft.methods).map(([key, fn]) => kebab(fn.alias ?? key));
    expect(rows.sort()).toEqual(functions.sort());
  });

  it("marks exactly the checks with ✓", () => {
    const marked = [...readme.matchAll(/^\| `([a-z-]+)` ✓ \|/gm)].map((m) => m[1]);
    const checks = Object.entries<Introspected>(module.objects.Pycroft.methods).filter(([, fn]) => fn.isCheck).map(([key]) => kebab(key));
    expect(marked.sort()).toEqual(checks.sort());
  });

  it("shows this repository's two commands, as test/run.sh takes them", () => {
    expect(readme).toMatch(/^bash test\/run\.sh main\b/m);
    expect(readme).toMatch(/^bash test\/run\.sh +#/m);
    const usage = read("test/run.sh");
    expect(usage).toMatch(/bash test\/run\.sh main\b/);
    expect(usage).toMatch(/case "\$\{1:-\}" in main \| ""\)/);
  });

  it("stays a guide: at most 200 lines", () => {
    expect(readme.trimEnd().split("\n").length).toBeLessThanOrEqual(200);
  });
});
