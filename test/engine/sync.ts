// The host side of live edits in this repository's client sessions: the module's own watcher (`dagger
// call watcher`, src/live/watcher.ts) run on a checkout against a dev or test stack started with
// --sync-token (its receiver: src/live/receiver.ts), and a client of test-stack's runs for the bench
// and test/pycroft, which time single edits.
import { spawn, spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { join } from "node:path";

import { dag } from "@dagger.io/dagger";

import { WATCHER_NAME } from "../../src/live/watcher.js";
import type { Pycroft } from "../../src/index.js";
import { tempDirUntilExit } from "../e2e/engine.js";
import type { StackFlags } from "./options.js";

/** Where and how to send changes: the receiver's base URL and the stack's token. */
export interface SyncTarget {
  url: string;
  token: string;
}

/** Sends changed files (as a tar) and removed ones; returns how many the receiver wrote and removed. */
export async function send(dir: string, target: SyncTarget, files: string[], gone: string[]): Promise<number> {
  const post = async (path: string, body: Buffer) => {
    const res = await fetch(`${target.url}${path}`, { method: "POST", body: new Uint8Array(body), headers: { Authorization: `Bearer ${target.token}` } });
    const text = (await res.text()).trim();
    if (!res.ok) throw new Error(`sync ${path}: ${res.status} ${text}`);
    return Number(text);
  };
  let count = 0;
  if (files.length > 0) {
    const tar = spawnSync("tar", ["-cf", "-", "-C", dir, "--", ...files], { maxBuffer: 1 << 30 });
    if (tar.status !== 0) throw new Error(`tar: ${tar.stderr.toString()}`);
    count += await post("/files", tar.stdout);
  }
  if (gone.length > 0) count += await post("/delete", Buffer.from(gone.join("\n")));
  return count;
}

/**
 * Runs the test stack's command (pytest) with these arguments, writing its output as it comes; returns
 * its exit code, the answer's last line (`exit-code: N`), which is not written.
 */
export async function runThere(target: SyncTarget, args: string[], write: (text: string) => void): Promise<number> {
  const res = await fetch(`${target.url}/run`, { method: "POST", body: args.join("\n"), headers: { Authorization: `Bearer ${target.token}` } });
  if (!res.ok || !res.body) throw new Error(`run: ${res.status} ${(await res.text()).trim()}`);
  const decoder = new TextDecoder();
  // Held back: the last line seen, which may be the exit code.
  let held = "";
  for await (const chunk of res.body) {
    const text = held + decoder.decode(chunk, { stream: true });
    const cut = text.lastIndexOf("\n", text.length - 2) + 1;
    write(text.slice(0, cut));
    held = text.slice(cut);
  }
  const code = held.match(/^exit-code: (\d+)\n$/);
  if (!code) {
    write(held);
    throw new Error("the run ended without its exit code: the test stack went away");
  }
  return Number(code[1]);
}

/**
 * A pause of 3 s, as someone who reads a run's result before saving the next edit takes: test-stack
 * starts the next run's pytest meanwhile. The bench's kept step and test/pycroft wait it before each edit.
 */
export const readResult = () => new Promise((done) => setTimeout(done, 3000));

/** One run in a test stack, read to its end: the exit code, the output and the wall time (seconds). */
export async function runToEnd(target: SyncTarget, args: string[]): Promise<{ code: number; output: string; seconds: number }> {
  const start = performance.now();
  let output = "";
  const code = await runThere(target, args, (text) => (output += text));
  return { code, output, seconds: (performance.now() - start) / 1000 };
}

/**
 * Starts `test-stack` on the module with a fresh token and tunnels its port to a free host port (only
 * this process talks to it); `stop()` ends the tunnel and the stack.
 */
export async function upTestStack(m: Pycroft, flags: StackFlags = {}): Promise<{ target: SyncTarget; stop(): Promise<void> }> {
  const token = randomUUID();
  const stack = await m.testStack(dag.setSecret("pycroft-sync-token", token), flags.worker, flags.keycloak, flags.ahead);
  const tunnel = await dag.host().tunnel(stack).start();
  return { target: { url: await tunnel.endpoint({ scheme: "http" }), token }, stop: async () => void (await tunnel.stop()) };
}

/** The watcher that `dagger call watcher` exports, running on a checkout. */
export interface Watcher {
  /** Where it was exported to. */
  script: string;
  /** What it printed so far. */
  output(): string;
  /**
   * Its n-th run's result (1 the first, which it starts at once), once it reports it: pytest's exit
   * code and what the run printed. Rejects if the watcher ends first, or after `minutes`.
   */
  result(n: number, minutes?: number): Promise<{ code: number; output: string }>;
  /** When it ends by itself (the stack went away, a refusal): its exit code. */
  ended: Promise<number | null>;
  /** Ends it as Ctrl-C does, and waits for that. */
  stop(): Promise<void>;
}

/** A line the watcher prints after each run. */
const RESULT = /^pytest exit code (\d+) in [\d.]+ s; watching .*$/gm;

/**
 * Exports the module's watcher (`dagger call watcher`) and runs it with python3 on `dir` against a
 * stack, as a user runs it. With `run`, it runs pytest with those arguments in the stack at once and
 * after each edit. `write` gets what it prints, as it comes.
 */
export async function startWatcher(m: Pycroft, dir: string, target: SyncTarget, run?: string[], write: (text: string) => void = () => {}): Promise<Watcher> {
  const script = join(tempDirUntilExit("pycroft-watcher-"), WATCHER_NAME);
  await m.watcher().export(script);
  return spawnWatcher(script, ["-C", dir, "--url", target.url, ...(run ? ["--run", ...run] : [])], target.token, write);
}

/**
 * The watcher script at `script` run with python3 and these arguments, its token in
 * PYCROFT_SYNC_TOKEN (unset without one). `write` gets what it prints, as it comes.
 */
export function spawnWatcher(script: string, args: string[], token: string | undefined, write: (text: string) => void = () => {}): Watcher {
  const child = spawn("python3", [script, ...args], { env: { ...process.env, PYCROFT_SYNC_TOKEN: token }, stdio: ["ignore", "pipe", "pipe"] });
  let output = "";
  const take = (data: Buffer) => {
    const text = data.toString();
    output += text;
    write(text);
  };
  child.stdout.on("data", take);
  child.stderr.on("data", take);
  const ended = new Promise<number | null>((done) => child.once("close", (code) => done(code)));
  let over = false;
  void ended.then(() => (over = true));
  const results = () => [...output.matchAll(RESULT)];
  return {
    script,
    output: () => output,
    ended,
    result: async (n, minutes = 10) => {
      const deadline = Date.now() + minutes * 60_000;
      while (results().length < n) {
        if (over || Date.now() > deadline) throw new Error(`the watcher ${over ? "ended" : `gave no result in ${minutes} min`} before run ${n}'s result:\n${output.slice(-3000)}`);
        await new Promise((done) => setTimeout(done, 20));
      }
      const all = results();
      const from = n > 1 ? all[n - 2]!.index! + all[n - 2]![0].length + 1 : 0;
      return { code: Number(all[n - 1]![1]), output: output.slice(from, all[n - 1]!.index) };
    },
    stop: async () => {
      if (!over) child.kill("SIGINT");
      await ended;
    },
  };
}
