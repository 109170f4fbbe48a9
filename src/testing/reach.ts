/**
 * Which tests a pytest run may reach, read from its arguments alone: `test` starts keycloak and the
 * dummy worker only for a run that may reach the tests that use them (`DEFAULTS.keycloakTests`,
 * `DEFAULTS.dummyWorkerTests`). On two cores their starts (a JVM, a Celery worker) slow pytest's own.
 * When it starts them, the run waits for each before the first of those tests (src/testing/ready.ts).
 */

import { DEFAULTS } from "../config.js";

/**
 * The services only some tests use, by hostname, and those tests (paths from the source's root): a
 * run starts each only if it may reach them, and waits for it before the first of them.
 */
export const USED_BY = {
  keycloak: DEFAULTS.keycloakTests,
  "dummy-worker": DEFAULTS.dummyWorkerTests,
} as const;

/** pytest's flags that take no value: a path after one of them is a test to run, not the flag's value. */
const FLAGS = new Set([
  "-v", "-vv", "-vvv", "--verbose", "-q", "-qq", "--quiet", "-x", "--exitfirst", "-s", "-l", "--showlocals",
  "--lf", "--last-failed", "--ff", "--failed-first", "--nf", "--new-first", "--sw", "--stepwise",
  "--co", "--collect-only", "--collectonly", "--pdb", "--trace", "--no-header", "--no-summary",
  "--strict-markers", "--cache-clear", "--runxfail", "--setup-show", "--setup-only", "--setup-plan",
]);

/** A test's path from the source's root: `./` and the app dir in front, `/` at the end and a `::` node id taken off. */
function fromRoot(arg: string, appDir: string): string {
  const path = arg.split("::")[0]!.replace(/\/+$/, "");
  const relative = path === appDir ? "" : path.startsWith(`${appDir}/`) ? path.slice(appDir.length + 1) : path;
  return relative.replace(/^(\.\/)+/, "").replace(/^\.$/, "");
}

/**
 * Whether a pytest run with `args`, started in `appDir`, may run a test under `paths` (files or
 * directories, from the source's root). Only arguments that name tests can rule that out: a run
 * names none (the whole suite, narrowed by `-k`/`-m` at most), or any of them is at, above or below
 * one of `paths`, and it may. An argument that may be an option's value (it follows an option that
 * is not a known flag, such as `--deselect` or `--ignore`) counts as one of those it names, and
 * `--pyargs` names modules, not paths: both err towards starting the service.
 */
export function mayReach(args: string[], paths: readonly string[], appDir: string): boolean {
  const named: string[] = [];
  let sure = false;
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--") {
      named.push(...args.slice(i + 1));
      sure ||= i + 1 < args.length;
      break;
    }
    if (arg === "--pyargs") return true;
    if (arg.startsWith("-")) continue;
    named.push(arg);
    const before = args[i - 1];
    // A path after an option that may take it as its value does not show that the run names its tests.
    sure ||= before === undefined || !before.startsWith("-") || before.includes("=") || FLAGS.has(before);
  }
  if (!sure) return true;
  return named.some((arg) => {
    if (arg.startsWith("/") && !arg.startsWith(`${appDir}/`) && arg !== appDir) return true;
    const at = fromRoot(arg, appDir);
    return paths.some((p) => at === "" || at === p || p.startsWith(`${at}/`) || at.startsWith(`${p}/`));
  });
}
