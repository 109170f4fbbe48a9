// A dev stack run as a user runs it (`npm run dev` / `dagger up` in a terminal of its own), and the
// edits a developer makes while it runs: shared by the e2e test and the bench.
import { ChildProcess, spawn } from "node:child_process";
import { randomUUID } from "node:crypto";
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";

/** Polls `served` every 100 ms until it holds; how long that took (a minute at most). */
export async function servedAfter(served: () => Promise<boolean>): Promise<number> {
  const started = Date.now();
  while (!(await served().catch(() => false))) {
    if (Date.now() - started > 60_000) throw new Error("not served within a minute");
    await new Promise((done) => setTimeout(done, 100));
  }
  return Date.now() - started;
}

/** How long after each kind of edit on disk the app first served it, in milliseconds. */
export interface EditTimes {
  template: number;
  python: number;
  js: number;
}

/**
 * Edits a template, Python code and JS in the example checkout `dir` that an app at `url` serves live
 * (the dev stack's sync, or compose's bind mount), and times each until served: through flask's
 * template reload, its reloader, and the bundler in watch mode.
 */
export async function liveEdits(dir: string, url: string): Promise<EditTimes> {
  // Each request ends within seconds (servedAfter asks again): a fetch on a reset connection could stay pending.
  const get = async (path: string) => (await fetch(`${url}${path}`, { signal: AbortSignal.timeout(10_000) })).text();
  const edit = (file: string, change: (text: string) => string) => writeFileSync(join(dir, file), change(readFileSync(join(dir, file), "utf8")));
  const marker = `live-${randomUUID()}`;
  const bundleOf = (page: string) => page.match(/dist\/main-\w+\.js/)?.[0];
  const before = await get("/");

  edit("web/templates/index.html", (t) => t.replace("</body>", `<p>${marker}-template</p></body>`));
  const template = await servedAfter(async () => (await get("/")).includes(`${marker}-template`));

  edit("web/app.py", (t) => t.replace('return render_template("index.html")', `return render_template("index.html") + "<!-- ${marker}-python -->"`));
  const python = await servedAfter(async () => (await get("/")).includes(`${marker}-python`));

  edit("web/resources/js/main.js", (t) => `${t}\nconsole.log("${marker}-js");\n`);
  const js = await servedAfter(async () => {
    const bundle = bundleOf(await get("/"));
    return bundle !== bundleOf(before) && (await get(`/static/${bundle}`)).includes(`${marker}-js`);
  });
  return { template, python, js };
}

const UP_MINUTES = 10;

/**
 * Runs `npm run call -- ARGS` in a process of its own (its own Dagger session, as a second terminal
 * running `dagger up` is) until its output matches `ready`; `stop` ends it with Ctrl-C's signal.
 */
export async function upInChild(args: string[], ready: RegExp, env: Record<string, string> = {}): Promise<{ stop(): Promise<void>; output(): string }> {
  const child: ChildProcess = spawn(process.execPath, ["--import", "tsx", "test/engine/call.ts", ...args], {
    stdio: ["ignore", "pipe", "pipe"],
    env: { ...process.env, ...env },
  });
  let output = "";
  const exited = new Promise<number | null>((done) => child.once("exit", done));
  const stop = async () => {
    if (child.exitCode === null) child.kill("SIGINT");
    await exited;
  };
  try {
    await new Promise<void>((resolve, reject) => {
      const seen = (chunk: Buffer) => {
        output += chunk.toString();
        if (ready.test(output)) resolve();
      };
      child.stdout!.on("data", seen);
      child.stderr!.on("data", seen);
      void exited.then((code) => reject(new Error(`${args.join(" ")} exited with ${code} before it was up:\n${output}`)));
      setTimeout(() => reject(new Error(`${args.join(" ")} was not up after ${UP_MINUTES} minutes:\n${output}`)), UP_MINUTES * 60_000).unref();
    });
  } catch (err) {
    await stop();
    throw err;
  }
  return { stop, output: () => output };
}
