// Reads the structure the CI files' tests check beyond their `dagger` lines: the jobs with their
// `needs:` and `if:`, and the actions the GitHub workflows use, with the major version each is at.
// Line by line, as ci-commands.ts reads YAML (the files are block-style; lint-ci.sh parses them).

import { yamlScalars } from "./ci-commands.js";

const indentOf = (l: string) => l.length - l.trimStart().length;
const content = (l: string) => l.trim() !== "" && !l.trimStart().startsWith("#");
const unquote = (v: string) => v.trim().replace(/^(["'])(.*)\1$/, "$2");

export interface Job {
  name: string;
  /** 1-based lines of the file the job spans, its key line included. */
  line: number;
  endLine: number;
  needs: string[];
  /** The job's `if:` condition as written, when it has one. */
  if?: string;
}

/** GitLab's top-level keys that are settings, not jobs. */
const GITLAB_KEYWORDS = new Set(["default", "include", "stages", "variables", "workflow", "image", "services", "cache", "before_script", "after_script"]);

/**
 * The jobs of a GitHub workflow (the keys under `jobs:`) or, for a file without `jobs:`, of a
 * GitLab CI file (its top-level keys but settings and hidden `.templates`).
 */
export function ciJobs(text: string): Job[] {
  const lines = text.split(/\r?\n/);
  const top = lines.findIndex((l) => /^jobs:\s*(#.*)?$/.test(l));
  let keyCol = 0;
  let from = 0;
  let to = lines.length;
  if (top >= 0) {
    const first = lines.findIndex((l, i) => i > top && content(l));
    keyCol = first < 0 ? 0 : indentOf(lines[first]);
    from = top + 1;
    const next = lines.findIndex((l, i) => i > top && content(l) && indentOf(l) === 0);
    to = next < 0 ? lines.length : next;
  }
  const starts: { name: string; i: number }[] = [];
  for (let i = from; i < to; i++) {
    const m = /^(\s*)([\w.-]+):\s*(#.*)?$/.exec(lines[i]);
    if (!m || m[1].length !== keyCol) continue;
    if (top < 0 && (GITLAB_KEYWORDS.has(m[2]) || m[2].startsWith("."))) continue;
    starts.push({ name: m[2], i });
  }
  return starts.map(({ name, i }, k) => {
    let end = k + 1 < starts.length ? starts[k + 1].i : to;
    if (top < 0) {
      // A GitLab job ends at the next top-level key, whatever it is.
      const next = lines.findIndex((l, j) => j > i && content(l) && indentOf(l) === 0);
      end = Math.min(end, next < 0 ? lines.length : next);
    }
    const body = lines.slice(i + 1, end);
    const firstCol = body.find(content);
    const col = firstCol === undefined ? keyCol + 2 : indentOf(firstCol);
    const at = (key: string) => body.findIndex((l) => indentOf(l) === col && l.trimStart().startsWith(`${key}:`));
    const value = (j: number) => body[j].trimStart().replace(/^[\w-]+:/, "").replace(/\s+#.*$/, "").trim();
    let needs: string[] = [];
    const n = at("needs");
    if (n >= 0) {
      const v = value(n);
      if (v.startsWith("[")) needs = v.replace(/^\[|\]$/g, "").split(",").map(unquote).filter(Boolean);
      else if (v !== "") needs = [unquote(v)];
      else {
        for (let j = n + 1; j < body.length && (!content(body[j]) || indentOf(body[j]) > col); j++) {
          const item = /^\s*-\s+(?:job:\s*)?(.+?)\s*(#.*)?$/.exec(body[j]);
          if (item) needs.push(unquote(item[1]));
        }
      }
    }
    const cond = at("if");
    return { name, line: i + 1, endLine: end, needs, ...(cond >= 0 ? { if: value(cond) } : {}) };
  });
}

/** The job and every job it waits for, directly or through others. */
export function upstream(jobs: Job[], name: string): Set<string> {
  const byName = new Map(jobs.map((j) => [j.name, j]));
  const seen = new Set<string>();
  const visit = (n: string) => {
    if (seen.has(n)) return;
    seen.add(n);
    for (const d of byName.get(n)?.needs ?? []) visit(d);
  };
  visit(name);
  return seen;
}

export interface ActionUse {
  /** 1-based line of the `uses:`. */
  line: number;
  /** owner/repo, or owner/repo/path for an action in a subdirectory. */
  action: string;
  ref: string;
  /** The major version the ref names: of a release tag, or of the `# vX.Y.Z` comment on a commit pin. */
  major?: number;
  problem?: string;
}

/** Every `uses:` of a GitHub workflow: actions of other repositories, local ones and docker images. */
export function actionUses(text: string): ActionUse[] {
  const out: ActionUse[] = [];
  text.split(/\r?\n/).forEach((l, i) => {
    const m = /^\s*(?:-\s+)?uses:\s*(["']?)([^\s"'#]+)\1\s*(?:#\s*(.*))?$/.exec(l);
    if (!m) return;
    const [, , spec, comment] = m;
    const line = i + 1;
    if (spec.startsWith("./") || spec.startsWith("docker://")) {
      out.push({ line, action: spec, ref: "", problem: `${spec}: a local action or docker image, whose runtime this test cannot read` });
      return;
    }
    const at = spec.lastIndexOf("@");
    const action = at < 0 ? spec : spec.slice(0, at);
    const ref = at < 0 ? "" : spec.slice(at + 1);
    const release = /^v(\d+)(\.\d+){0,2}$/.exec(ref);
    if (release) {
      out.push({ line, action, ref, major: Number(release[1]) });
    } else if (/^[0-9a-f]{40}$/.test(ref)) {
      const tag = /^v(\d+)(\.\d+){0,2}\b/.exec(comment ?? "");
      out.push(tag ? { line, action, ref, major: Number(tag[1]) } : { line, action, ref, problem: `${spec}: a commit pin needs its release as a comment (# vX.Y.Z)` });
    } else {
      out.push({ line, action, ref, problem: `${spec}: pinned to neither a release (vN, vN.N.N) nor a commit` });
    }
  });
  return out;
}

/** The lines of the step whose key (`uses:`, `run:`, …) is on line `line` (1-based), that line first. */
export function stepLines(text: string, line: number): string[] {
  const lines = text.split(/\r?\n/);
  const m = /^(\s*)(-\s+)?/.exec(lines[line - 1])!;
  const col = m[1].length + (m[2]?.length ?? 0);
  const step = [lines[line - 1]];
  for (let j = line; j < lines.length && (lines[j].trim() === "" || indentOf(lines[j]) >= col); j++) step.push(lines[j]);
  return step;
}

/** The value of `key:` in a step's `with:` (or anywhere in the step), unquoted; undefined without one. */
export function stepInput(step: string[], key: string): string | undefined {
  const re = new RegExp(`^\\s*${key}:\\s*(.*?)(?:\\s+#.*)?$`);
  for (const l of step) {
    const m = re.exec(l);
    if (m) return unquote(m[1]);
  }
  return undefined;
}

/** The `run:` script of the step named `name`, as the runner gets it; throws when there is none. */
export function stepRun(text: string, name: string): string {
  const lines = text.split(/\r?\n/);
  const at = lines.findIndex((l) => {
    const m = /^\s*-\s+name:\s*(.*?)\s*$/.exec(l);
    return m !== null && unquote(m[1]) === name;
  });
  if (at < 0) throw new Error(`no step named ${JSON.stringify(name)}`);
  const step = stepLines(text, at + 1);
  const run = step.findIndex((l) => /^\s*run:/.test(l));
  if (run < 0) throw new Error(`step ${JSON.stringify(name)} has no run:`);
  const key = at + 1 + run;
  // A plain or quoted script is on the key's line, a literal or folded one starts on the next.
  const scalar = yamlScalars(text).find((s) => s.line === key || (s.line === key + 1 && (s.style === "literal" || s.style === "folded")));
  if (!scalar) throw new Error(`step ${JSON.stringify(name)}: no script read from line ${key}`);
  return scalar.text;
}
