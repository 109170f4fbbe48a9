// Reads the `dagger …` command lines out of CI files (GitHub workflows, GitLab CI) and checks them
// against the module's CLI: the binding the Dagger runtime's introspector reads from src/, and
// Dagger's core types (for chained calls such as `export --path reports`), as the `dagger` CLI
// turns both into kebab-case commands and flags.
//
// YAML is read line by line (no YAML package): plain, quoted, literal (|) and folded (>) scalars,
// as the CI files write them; test/ci/lint-ci.sh checks separately that the files parse.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import ts from "typescript";

import { Introspected } from "./introspect.js";

// ---------------------------------------------------------------------------------------------
// YAML scalars

export interface Scalar {
  /** 1-based lines of the file the scalar spans. */
  line: number;
  endLine: number;
  text: string;
  style: "plain" | "single" | "double" | "literal" | "folded";
}

const indentOf = (l: string) => l.length - l.trimStart().length;
const blank = (l: string) => l.trim() === "";

/** Every scalar value of a block-style YAML file (mapping values and sequence items). */
export function yamlScalars(text: string): Scalar[] {
  const lines = text.split(/\r?\n/);
  const out: Scalar[] = [];
  for (let i = 0; i < lines.length; i++) {
    const raw = lines[i];
    if (blank(raw) || raw.trimStart().startsWith("#")) continue;
    const m = /^(\s*)((?:- +)*)(?:((?:[\w.$/-]+|"[^"]*"|'[^']*')):(?: +|$))?(.*)$/.exec(raw);
    if (!m) continue;
    const [, indent, dashes, key, rest] = m;
    // Lines of the scalar's content are indented deeper than its parent node.
    const parentCol = key !== undefined ? indent.length + dashes.length : indent.length;
    const value = rest.replace(/\s+#.*$/, "");
    if (value === "" || value.startsWith("&") || value.startsWith("*") || /^[[{]/.test(value)) continue;

    const header = /^([|>])[-+0-9]*$/.exec(value);
    if (header) {
      let j = i + 1;
      const body: string[] = [];
      while (j < lines.length && (blank(lines[j]) || indentOf(lines[j]) > parentCol)) body.push(lines[j++]);
      while (body.length > 0 && blank(body[body.length - 1])) body.pop();
      const first = body.find((l) => !blank(l));
      const bodyIndent = first === undefined ? 0 : indentOf(first);
      const stripped = body.map((l) => (blank(l) ? "" : l.slice(bodyIndent)));
      const folded = header[1] === ">";
      out.push({ line: i + 2, endLine: i + 1 + body.length, text: folded ? fold(stripped) : stripped.join("\n"), style: folded ? "folded" : "literal" });
      i = j - 1;
      continue;
    }

    if (value.startsWith('"') || value.startsWith("'")) {
      const q = value[0];
      let buf = value.slice(1);
      let j = i;
      let end = closingQuote(buf, q);
      while (end < 0 && j + 1 < lines.length) {
        buf += " " + lines[++j].trim();
        end = closingQuote(buf, q);
      }
      if (end < 0) end = buf.length;
      const inner = buf.slice(0, end);
      const text = q === "'" ? inner.replace(/''/g, "'") : inner.replace(/\\(["\\/])/g, "$1").replace(/\\n/g, "\n").replace(/\\t/g, "\t");
      out.push({ line: i + 1, endLine: j + 1, text, style: q === "'" ? "single" : "double" });
      i = j;
      continue;
    }

    // A plain scalar continues on deeper-indented lines, folded into one line.
    const parts = [value];
    let j = i + 1;
    while (j < lines.length && (blank(lines[j]) || indentOf(lines[j]) > parentCol) && !lines[j].trimStart().startsWith("#")) {
      if (!blank(lines[j])) parts.push(lines[j].trim().replace(/\s+#.*$/, ""));
      j++;
    }
    while (j - 1 > i && blank(lines[j - 1])) j--;
    out.push({ line: i + 1, endLine: j, text: parts.join(" "), style: "plain" });
    i = j - 1;
  }
  return out;
}

function closingQuote(s: string, q: string): number {
  for (let k = 0; k < s.length; k++) {
    if (q === '"' && s[k] === "\\") { k++; continue; }
    if (s[k] === q) {
      if (q === "'" && s[k + 1] === "'") { k++; continue; }
      return k;
    }
  }
  return -1;
}

/** YAML's folding of a `>` block: a line break between two plain lines becomes a space. */
function fold(lines: string[]): string {
  let out = "";
  let breaks = 0;
  let prev: "none" | "normal" | "more" = "none";
  for (const l of lines) {
    if (l === "") { breaks++; continue; }
    const more = /^\s/.test(l);
    if (prev === "none") out += "\n".repeat(breaks) + l;
    else if (prev === "normal" && !more) out += (breaks === 0 ? " " : "\n".repeat(breaks)) + l;
    else out += "\n".repeat(breaks + 1) + l;
    breaks = 0;
    prev = more ? "more" : "normal";
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Shell

/**
 * The simple commands of a shell script, as the words the shell would pass (quotes removed;
 * `$VAR` and `$(…)` kept as written). Lists (`;`, `&&`, `||`, `|`, `&`, newlines), redirections,
 * comments, leading keywords and variable assignments are taken apart.
 */
export function shellCommands(script: string): string[][] {
  const commands: string[][] = [];
  let words: string[] = [];
  let word = "";
  let inWord = false;
  let redirect = false; // the next word is a redirection's target
  const endWord = () => {
    if (!inWord) return;
    if (redirect) redirect = false;
    else words.push(word);
    word = "";
    inWord = false;
  };
  const endCommand = () => {
    endWord();
    while (words.length > 0 && /^(if|then|else|elif|do|while|until|!|\{|\}|time)$/.test(words[0])) words.shift();
    while (words.length > 0 && /^[A-Za-z_][A-Za-z0-9_]*=/.test(words[0])) words.shift();
    if (words.length > 0) commands.push(words);
    words = [];
  };
  const s = script;
  for (let k = 0; k < s.length; k++) {
    const c = s[k];
    if (c === "\\") {
      if (s[k + 1] === "\n") { k++; continue; } // line continuation
      word += s[k + 1] ?? "";
      inWord = true;
      k++;
    } else if (c === "'") {
      const end = s.indexOf("'", k + 1);
      word += s.slice(k + 1, end < 0 ? s.length : end);
      inWord = true;
      k = end < 0 ? s.length : end;
    } else if (c === '"') {
      k++;
      while (k < s.length && s[k] !== '"') {
        if (s[k] === "\\" && /["\\$`\n]/.test(s[k + 1] ?? "")) { if (s[k + 1] !== "\n") word += s[k + 1]; k += 2; continue; }
        if (s[k] === "$" && s[k + 1] === "(") { const e = balanced(s, k + 1); word += s.slice(k, e + 1); k = e + 1; continue; }
        word += s[k++];
      }
      inWord = true;
    } else if (c === "$" && (s[k + 1] === "(" || s[k + 1] === "{")) {
      const e = balanced(s, k + 1);
      word += s.slice(k, e + 1);
      inWord = true;
      k = e;
    } else if (c === "#" && !inWord) {
      while (k < s.length && s[k] !== "\n") k++;
      k--;
    } else if (c === " " || c === "\t") {
      endWord();
    } else if (c === "\n" || c === ";" || c === "|" || c === "&" || c === "(" || c === ")") {
      if (c === "&" && s[k + 1] !== "&" && /[<>]$/.test(word)) { word += c; continue; } // >&2
      endCommand();
      if ((c === "|" || c === "&") && s[k + 1] === c) k++;
    } else if (c === ">" || c === "<") {
      if (/^\d*$/.test(word)) { word = ""; inWord = false; } // 2>&1: the fd is no word
      else endWord();
      while (s[k + 1] === ">" || s[k + 1] === "&") k++;
      redirect = true;
      if (/\d/.test(s[k + 1] ?? "")) { while (/\d/.test(s[k + 1] ?? "")) k++; redirect = false; }
    } else {
      word += c;
      inWord = true;
    }
  }
  endCommand();
  return commands;
}

/** Index of the bracket closing the one at `open`, counting nested ones of the same kind. */
function balanced(s: string, open: number): number {
  const [o, c] = s[open] === "(" ? ["(", ")"] : ["{", "}"];
  let depth = 0;
  for (let k = open; k < s.length; k++) {
    if (s[k] === o) depth++;
    else if (s[k] === c && --depth === 0) return k;
  }
  return s.length - 1;
}

// ---------------------------------------------------------------------------------------------
// The dagger commands of a CI file

export interface DaggerCommand {
  /** The file's lines the command comes from. */
  line: number;
  endLine: number;
  /** The words after `dagger`. */
  args: string[];
}

export interface Extracted {
  commands: DaggerCommand[];
  /** Things that would break the command on a runner although it reads well. */
  problems: string[];
}

export function daggerCommands(text: string): Extracted {
  const commands: DaggerCommand[] = [];
  const problems: string[] = [];
  for (const scalar of yamlScalars(text)) {
    if (!/\bdagger\b/.test(scalar.text)) continue;
    if (scalar.style === "folded" && /\\[ \n]/.test(scalar.text)) {
      // `\` + newline folded into `\ `: the shell reads an escaped space, not a continuation.
      problems.push(`line ${scalar.line}: a backslash continuation in a folded (>) block: use | or drop the backslashes`);
    }
    for (const words of shellCommands(scalar.text)) {
      if (words[0] === "dagger") commands.push({ line: scalar.line, endLine: scalar.endLine, args: words.slice(1) });
    }
  }
  return { commands, problems };
}

/** Lines (1-based) that look like a dagger call, check or functions command: each must be read. */
export function daggerLookingLines(text: string): number[] {
  return text
    .split(/\r?\n/)
    .map((l, i) => ({ l, i: i + 1 }))
    .filter(({ l }) => !l.trimStart().startsWith("#") && /(^|[\s:;&|('"-])dagger\s.*\b(call|check|functions)\b/.test(l))
    .map(({ i }) => i);
}

// ---------------------------------------------------------------------------------------------
// The CLI model

export interface Flag {
  name: string;
  bool: boolean;
  required: boolean;
  kind: string; // STRING_KIND, BOOLEAN_KIND, INTEGER_KIND, OBJECT_KIND:Secret, … (core types: "core")
}

export interface Fn {
  name: string;
  flags: Map<string, Flag>;
  /** The type a chained call continues on; undefined for a scalar result. */
  returns?: string;
  isCheck: boolean;
  /** Carries the up marker: `dagger up` starts it. */
  isUp?: boolean;
}

export interface Cli {
  module: string;
  main: string;
  constructorFlags: Map<string, Flag>;
  types: Map<string, Map<string, Fn>>;
}

/** camelCase → the CLI's kebab-case (Dagger's strcase.ToKebab for these names). */
export const kebab = (name: string): string =>
  name
    .replace(/_+$/, "")
    .replace(/([a-z0-9])([A-Z])/g, "$1-$2")
    .replace(/([A-Z])([A-Z][a-z])/g, "$1-$2")
    .toLowerCase();

function moduleFlag(arg: Introspected): Flag {
  const type = arg.type ?? {};
  const kind = type.kind === "OBJECT_KIND" || type.kind === "SCALAR_KIND" ? `${type.kind}:${type.name}` : type.kind;
  const required = !arg.isOptional && arg.defaultValue === undefined && !arg.defaultPath && !arg.defaultAddress;
  return { name: kebab(arg.name), bool: type.kind === "BOOLEAN_KIND", required, kind };
}

function flagMap(args: Record<string, Introspected>): Map<string, Flag> {
  return new Map(Object.values(args).map((a) => moduleFlag(a)).map((f) => [f.name, f]));
}

/** The CLI of the module's objects (from the introspector) and of Dagger's core types. */
export function buildCli(module: Introspected, moduleName: string): Cli {
  const types = coreTypes();
  const objects = module.objects as Record<string, Introspected>;
  const chainable = (t: Introspected): string | undefined =>
    t && t.kind === "OBJECT_KIND" && (objects[t.name] || types.has(t.name)) ? t.name : undefined;
  for (const [name, obj] of Object.entries(objects)) {
    const fns = new Map<string, Fn>();
    for (const [key, fn] of Object.entries<Introspected>(obj.methods ?? {})) {
      const cli = kebab(fn.alias ?? key);
      fns.set(cli, { name: cli, flags: flagMap(fn.arguments), returns: chainable(fn.returnType), isCheck: fn.isCheck === true, isUp: fn.isUp === true });
    }
    for (const [key, prop] of Object.entries<Introspected>(obj.properties ?? {})) {
      const cli = kebab(prop.alias ?? key);
      if (!fns.has(cli)) fns.set(cli, { name: cli, flags: new Map(), returns: chainable(prop.type), isCheck: false });
    }
    types.set(name, fns);
  }
  return { module: moduleName, main: module.name, constructorFlags: flagMap(module.objects[module.name]._constructor?.arguments ?? {}), types };
}

let core: Map<string, Map<string, Fn>> | undefined;

/** Dagger's core types and their functions, read from the SDK's generated client declarations. */
export function coreTypes(): Map<string, Map<string, Fn>> {
  if (!core) core = readCoreTypes();
  return new Map(core);
}

function readCoreTypes(): Map<string, Map<string, Fn>> {
  const sdk = dirname(createRequire(import.meta.url).resolve("@dagger.io/dagger"));
  const file = join(sdk, "api", "client.gen.d.ts");
  const src = ts.createSourceFile(file, readFileSync(file, "utf8"), ts.ScriptTarget.Latest, false);
  const opts = new Map<string, ts.TypeLiteralNode>();
  const classes: ts.ClassDeclaration[] = [];
  for (const st of src.statements) {
    if (ts.isTypeAliasDeclaration(st) && ts.isTypeLiteralNode(st.type)) opts.set(st.name.text, st.type);
    if (ts.isClassDeclaration(st) && st.name) classes.push(st);
  }
  const className = (n: string) => n.replace(/_$/, "");
  const names = new Set(classes.map((c) => className(c.name!.text)));
  const flag = (name: string, type: ts.TypeNode | undefined, required: boolean): Flag => ({
    name: kebab(name),
    bool: type?.kind === ts.SyntaxKind.BooleanKeyword,
    required,
    kind: "core",
  });
  const returned = (t: ts.TypeNode): string | undefined => {
    if (!ts.isTypeReferenceNode(t)) return undefined;
    const n = t.typeName.getText(src);
    if (n === "Promise") return t.typeArguments?.[0] ? returned(t.typeArguments[0]) : undefined;
    return names.has(className(n)) ? className(n) : undefined;
  };
  const types = new Map<string, Map<string, Fn>>();
  for (const cls of classes) {
    const fns = new Map<string, Fn>();
    for (const member of cls.members) {
      if (!ts.isPropertyDeclaration(member) || !member.type || !ts.isFunctionTypeNode(member.type)) continue;
      const name = member.name.getText(src);
      const fnType = member.type;
      if (fnType.parameters.some((p) => p.type && ts.isFunctionTypeNode(p.type))) continue; // .with(fn): SDK only
      const flags = new Map<string, Flag>();
      for (const p of fnType.parameters) {
        const pname = p.name.getText(src);
        const optsType = p.type && ts.isTypeReferenceNode(p.type) ? opts.get(p.type.typeName.getText(src)) : undefined;
        if (pname === "opts" && optsType) {
          for (const m of optsType.members) {
            if (ts.isPropertySignature(m)) flags.set(kebab(m.name.getText(src)), flag(m.name.getText(src), m.type, false));
          }
        } else {
          flags.set(kebab(pname), flag(pname, p.type, !p.questionToken));
        }
      }
      fns.set(kebab(name), { name: kebab(name), flags, returns: returned(fnType.type), isCheck: false });
    }
    types.set(className(cls.name!.text), fns);
  }
  return types;
}

// ---------------------------------------------------------------------------------------------
// Checking one command

/** Global flags of the dagger CLI that take a value / that take none (short and long forms). */
const GLOBAL_VALUE = new Set(["-m", "--mod", "--progress", "--workdir", "-o", "--output", "--lock", "--interactive-command", "--allow-llm"]);
const GLOBAL_BOOL = new Set([
  "-M", "--no-mod", "-q", "--quiet", "-s", "--silent", "-v", "--verbose", "-d", "--debug", "-j", "--json",
  "-i", "--interactive", "-E", "--no-exit", "-w", "--web", "-y", "--auto-apply", "--eager-runtime",
]);
const PROGRESS = new Set(["auto", "plain", "tty", "dots", "logs"]);
const CHECK_BOOL = new Set(["-l", "--list", "--failfast", "--no-generate", "--generate"]);
const SECRET = /^(env|file|cmd):.+|^(op|vault|libsecret):\/\/.+/;

interface Cursor {
  args: string[];
  k: number;
  errors: string[];
  /** The functions called, in chain order (for `dagger check`: the patterns). */
  called: string[];
}

/** Reads a global flag at the cursor if there is one; true when it did. */
function globalFlag(c: Cursor): boolean {
  const tok = c.args[c.k];
  const [name, value] = splitFlag(tok);
  if (/^-(v+|q+)$/.test(tok) || GLOBAL_BOOL.has(name)) {
    c.k++;
    return true;
  }
  if (GLOBAL_VALUE.has(name)) {
    const v = value ?? c.args[c.k + 1];
    if (v === undefined) c.errors.push(`${name} needs a value`);
    if (name === "--progress" && v !== undefined && !v.startsWith("$") && !PROGRESS.has(v)) c.errors.push(`--progress ${v}: not one of ${[...PROGRESS].join(", ")}`);
    c.k += value === undefined ? 2 : 1;
    return true;
  }
  return false;
}

function splitFlag(tok: string): [string, string | undefined] {
  const eq = tok.indexOf("=");
  return tok.startsWith("--") && eq > 0 ? [tok.slice(0, eq), tok.slice(eq + 1)] : [tok, undefined];
}

/** Reads the flags of one function (or the constructor) up to the next word that is not a flag. */
function functionFlags(c: Cursor, where: string, flags: Map<string, Flag>): void {
  const given = new Set<string>();
  while (c.k < c.args.length && c.args[c.k].startsWith("-")) {
    const tok = c.args[c.k];
    const [name, inline] = splitFlag(tok);
    const flag = tok.startsWith("--") ? flags.get(name.slice(2)) : undefined;
    if (!flag && globalFlag(c)) continue;
    if (!flag) {
      c.errors.push(`${where}: no flag ${name} (has: ${[...flags.keys()].map((f) => `--${f}`).join(" ") || "none"})`);
      c.k = c.args.length; // whether it took a value is unknown: the rest cannot be read
      return;
    }
    given.add(flag.name);
    let value = inline;
    if (flag.bool) {
      c.k++;
      if (value !== undefined && !/^(true|false)$/.test(value)) c.errors.push(`${where} --${flag.name}=${value}: a boolean is true or false`);
      continue;
    }
    if (value === undefined) {
      value = c.args[c.k + 1];
      c.k += 2;
    } else c.k++;
    if (value === undefined) {
      c.errors.push(`${where} --${flag.name} needs a value`);
      continue;
    }
    if (flag.kind === "INTEGER_KIND" && !/^(-?\d+|\$.*)$/.test(value)) c.errors.push(`${where} --${flag.name} ${value}: not an integer`);
    if (flag.kind === "OBJECT_KIND:Secret" && !SECRET.test(value)) {
      c.errors.push(`${where} --${flag.name}: a secret is passed as env:NAME, file:PATH or cmd:…, never as its value`);
    }
  }
  for (const f of flags.values()) if (f.required && !given.has(f.name)) c.errors.push(`${where}: required flag --${f.name} missing`);
}

export interface Parsed {
  verb: string;
  called: string[];
  errors: string[];
}

/** What is wrong with `dagger ARGS` for this CLI; empty when nothing is. */
export function checkDagger(args: string[], cli: Cli): string[] {
  return parseDagger(args, cli).errors;
}

/** `dagger ARGS` read as the CLI reads it: the verb, the functions it calls, what is wrong. */
export function parseDagger(args: string[], cli: Cli): Parsed {
  const c: Cursor = { args, k: 0, errors: [], called: [] };
  while (c.k < args.length && args[c.k].startsWith("-")) {
    if (!globalFlag(c)) {
      c.errors.push(`dagger: unknown global flag ${args[c.k]}`);
      return { verb: "", called: [], errors: c.errors };
    }
  }
  const verb = args[c.k++];
  const main = cli.types.get(cli.main)!;
  switch (verb) {
    case "call":
      functionFlags(c, "constructor", cli.constructorFlags);
      if (c.k >= args.length && c.errors.length === 0) c.errors.push("dagger call without a function");
      chain(c, cli, cli.main);
      break;
    case "functions":
      while (c.k < args.length) {
        if (args[c.k].startsWith("-")) {
          if (!globalFlag(c)) c.errors.push(`dagger functions: unknown flag ${args[c.k++]}`);
        } else if (!main.has(args[c.k])) c.errors.push(`dagger functions: no function ${args[c.k++]}`);
        else c.called.push(args[c.k++]);
      }
      break;
    case "check": {
      const checks = [...main.values()].filter((f) => f.isCheck).map((f) => f.name);
      if (checks.length === 0) c.errors.push("dagger check: the module has no check functions");
      while (c.k < args.length) {
        const tok = args[c.k];
        if (tok.startsWith("-")) {
          if (CHECK_BOOL.has(tok)) c.k++;
          else if (!globalFlag(c)) c.errors.push(`dagger check: unknown flag ${args[c.k++]}`);
          continue;
        }
        c.k++;
        c.called.push(tok);
        const pattern = tok.startsWith(`${cli.module}:`) ? tok.slice(cli.module.length + 1) : tok;
        const re = new RegExp(`^${pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*+/g, ".*").replace(/\?/g, ".")}$`);
        if (!checks.some((n) => re.test(n))) c.errors.push(`dagger check ${tok}: no such check (checks: ${checks.join(", ")})`);
      }
      break;
    }
    case "up": {
      // `dagger up [NAME…]`: the functions with the up marker, all or those named.
      const ups = [...main.values()].filter((f) => f.isUp).map((f) => f.name);
      if (ups.length === 0) c.errors.push("dagger up: the module has no function with the up marker");
      while (c.k < args.length) {
        const tok = args[c.k];
        if (tok.startsWith("-")) {
          if (!globalFlag(c)) c.errors.push(`dagger up: unknown flag ${args[c.k++]}`);
          continue;
        }
        c.k++;
        c.called.push(tok);
        if (!ups.includes(tok)) c.errors.push(`dagger up ${tok}: no such up function (up: ${ups.join(", ")})`);
      }
      break;
    }
    case "run":
      // `dagger run CMD…` runs any command in a session: nothing of the module's to check.
      c.k = args.length;
      break;
    case "version":
      break;
    default:
      c.errors.push(`dagger ${verb ?? ""}: only call, check, functions and up are checked here`);
  }
  return { verb: verb ?? "", called: c.called, errors: c.errors };
}

/** A chain of function calls starting on `type`: NAME [flags] NAME [flags] … */
function chain(c: Cursor, cli: Cli, start: string): void {
  let type: string | undefined = start;
  while (c.k < c.args.length) {
    const name = c.args[c.k++];
    if (type === undefined) {
      c.errors.push(`${name}: the previous function returns a scalar; nothing can be chained on it`);
      return;
    }
    const fns: Map<string, Fn> = cli.types.get(type)!;
    const fn: Fn | undefined = fns.get(name);
    if (!fn) {
      c.errors.push(`${type} has no function ${name}`);
      return;
    }
    c.called.push(name);
    functionFlags(c, name, fn.flags);
    type = fn.returns;
  }
}
