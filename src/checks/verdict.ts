import { Container, ReturnType } from "@dagger.io/dagger";

/** A tool's whole report, stdout then stderr, as its user would see it in a terminal. */
export interface Report {
  output: string;
  exitCode: number;
}

/** Runs a command that may fail, keeping its report: a failing linter's findings are the result. */
export function runTool(command: string[]) {
  return (c: Container): Container => c.withExec(command, { expect: ReturnType.Any });
}

export async function report(ran: Container): Promise<Report> {
  const [stdout, stderr, exitCode] = await Promise.all([ran.stdout(), ran.stderr(), ran.exitCode()]);
  return { output: [stdout.trimEnd(), stderr.trimEnd()].filter(Boolean).join("\n"), exitCode };
}

/**
 * The report with paths under `dir` made relative to it, as on the caller's checkout: GitHub places
 * an annotation (`::error file=…`) only by a path relative to the repository.
 */
export function relativeTo(dir: string, r: Report): Report {
  return { ...r, output: relativePaths(dir, r.output) };
}

/** The text with paths under `dir` made relative to it. */
export function relativePaths(dir: string, text: string): string {
  return text.replaceAll(`${dir}/`, "");
}

/** The tool's output when it passed; otherwise an error carrying its own findings, unindented. */
export function verdict(tool: string, { output, exitCode }: Report): string {
  if (exitCode !== 0) throw new Error(`${tool} failed with exit code ${exitCode}:\n${output}`);
  return output;
}
