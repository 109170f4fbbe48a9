// `dagger check` in client mode: the module's check functions, found the way the Dagger runtime finds
// them (the `@check()` marker, read by its own introspector), called with no arguments, all at once.
import { Pycroft } from "../../src/index.js";
import { Introspected, introspect } from "./introspect.js";

export interface CheckResult {
  /** The check as the CLI names it (kebab-case). */
  name: string;
  passed: boolean;
  seconds: number;
  /** The function's result (a Directory is synced, as `dagger check` does), or its error message. */
  output: string;
}

const kebab = (name: string) => name.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`);
const camel = (name: string) => name.replace(/-([a-z])/g, (_, c: string) => c.toUpperCase());

/** The names of the module's checks, kebab-case as `dagger check -l` lists them. */
export async function checkNames(): Promise<string[]> {
  const module = await introspect("src", "pycroft");
  return Object.values<Introspected>(module.objects.Pycroft.methods)
    .filter((fn) => fn.isCheck)
    .map((fn) => kebab(fn.name));
}

/** Runs the checks named (all when none are), concurrently as `dagger check` does; never throws for a failed check. */
export async function runChecks(module: Pycroft, names: string[] = []): Promise<CheckResult[]> {
  const all = await checkNames();
  const unknown = names.filter((n) => !all.includes(n));
  if (unknown.length > 0) throw new Error(`no check named ${unknown.join(", ")}: the checks are ${all.join(", ")}`);
  const selected = names.length > 0 ? names : all;
  return Promise.all(selected.map((name) => runOne(module, name)));
}

async function runOne(module: Pycroft, name: string): Promise<CheckResult> {
  const start = Date.now();
  const seconds = () => Math.round((Date.now() - start) / 100) / 10;
  try {
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const result: any = await (module as any)[camel(name)]();
    const output = typeof result?.sync === "function" ? `${(await result.sync(), "synced")}` : String(result);
    return { name, passed: true, seconds: seconds(), output };
  } catch (err) {
    return { name, passed: false, seconds: seconds(), output: (err as Error).message };
  }
}

/** One line a check, as `dagger check` reports them, then the output of each failed one. */
export function formatResults(results: CheckResult[]): string {
  const lines = results.map((r) => `${r.passed ? "✔" : "✘"} ${r.name} (${r.seconds}s)`);
  const failed = results.filter((r) => !r.passed).map((r) => `\n--- ${r.name} failed:\n${r.output}`);
  return [...lines, ...failed].join("\n");
}
