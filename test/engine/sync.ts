// The host side of live edits: watches a checkout and sends each change to a dev or test stack started
// with --sync-token (its receiver: src/app/receiver.ts), as compose's bind mount would have shown it,
// and asks a test stack to run pytest.
import { spawnSync } from "node:child_process";
import { randomUUID } from "node:crypto";
import { Dirent, FSWatcher, readdirSync, statSync, watch } from "node:fs";
import { join } from "node:path";

import { dag } from "@dagger.io/dagger";

import { SOURCE_EXCLUDES } from "../../src/config.js";
import type { Pycroft } from "../../src/index.js";
import { DEPENDENCY_MANIFESTS, PATH_DEPENDENCY_MANIFEST } from "../../src/images/project.js";
import type { StackFlags } from "./options.js";

/** Whether a path (relative, with /) is one of what never leaves the machine (`SOURCE_EXCLUDES`). */
export function excluded(rel: string, patterns: readonly string[] = SOURCE_EXCLUDES): boolean {
  const segments = rel.split("/");
  return patterns.some((pattern) => {
    if (!pattern.startsWith("**/")) return rel === pattern || rel.startsWith(`${pattern}/`);
    const name = new RegExp(`^${pattern.slice(3).replace(/[.+?^${}()|[\]\\]/g, "\\$&").replaceAll("*", ".*")}$`);
    return segments.some((s) => name.test(s));
  });
}

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
 * What to tell someone whose edits include a dependency manifest: the test stack keeps the
 * dependencies it was built with, so only a new one installs the changed ones. Undefined otherwise.
 */
export function staleDependencies(paths: string[]): string | undefined {
  const changed = paths.filter((p) => DEPENDENCY_MANIFESTS.includes(p) || PATH_DEPENDENCY_MANIFEST.test(p));
  if (changed.length === 0) return undefined;
  return `${changed.join(", ")} changed: the test stack keeps the dependencies it was built with; stop it (Ctrl-C) and start it again to install the new ones`;
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

/** A watch on a checkout's tree: `close()` ends it; `dirs()` lists the directories watched (relative, "" the top). */
export interface TreeWatch {
  close(): void;
  dirs(): string[];
}

/**
 * Watches every directory of `dir` but those that never leave the machine (`excluded`: .git,
 * node_modules, .venv, caches, build output), each with a watch of its own, and calls `changed`
 * with the path (relative, with /) of each file or directory that changes. node's recursive watch
 * would watch every file and directory below, node_modules and .git included: tens of thousands of
 * inotify watches on a checkout with its JS deps installed. A new directory is watched as it
 * appears, and the files already in it are reported, as they may have come before its watch.
 */
export function watchTree(dir: string, changed: (rel: string) => void): TreeWatch {
  const watchers = new Map<string, FSWatcher>();
  const add = (rel: string, report: boolean) => {
    if (watchers.has(rel)) return;
    const path = rel === "" ? dir : join(dir, rel);
    let entries: Dirent[];
    try {
      const watcher = watch(path, (_event, name) => name && seen(rel === "" ? name.toString() : `${rel}/${name.toString()}`));
      // A directory that goes away ends its watch.
      watcher.on("error", () => drop(rel));
      watchers.set(rel, watcher);
      entries = readdirSync(path, { withFileTypes: true });
    } catch {
      return drop(rel);
    }
    for (const entry of entries) {
      const child = rel === "" ? entry.name : `${rel}/${entry.name}`;
      if (excluded(child)) continue;
      if (entry.isDirectory()) add(child, report);
      else if (report) changed(child);
    }
  };
  const drop = (rel: string) => {
    for (const [watched, watcher] of watchers) {
      if (rel === "" || watched === rel || watched.startsWith(`${rel}/`)) {
        watcher.close();
        watchers.delete(watched);
      }
    }
  };
  const seen = (rel: string) => {
    if (excluded(rel)) return;
    changed(rel);
    const stat = statSync(join(dir, rel), { throwIfNoEntry: false });
    if (stat?.isDirectory()) add(rel, true);
    else if (!stat) drop(rel);
  };
  add("", false);
  return {
    close: () => drop(""),
    dirs: () => [...watchers.keys()].sort(),
  };
}

/**
 * Watches `dir` and sends what changed, in batches (an editor's save is several events), one batch
 * at a time so that changes arrive in order; after a batch that no other follows yet, runs `then`
 * (a test run) with the batch's paths before the next one goes. Returns the watcher; `close()` stops it.
 */
export function watchAndSync(dir: string, target: SyncTarget, log: (line: string) => void = console.log, then?: (batch: string[]) => Promise<void>): TreeWatch {
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let sending = Promise.resolve();
  const flush = () => {
    const batch = [...pending];
    pending.clear();
    let started = 0;
    sending = sending
      .then(() => {
        // What the paths are when they go, which may be after a test run.
        const stats = batch.map((rel) => statSync(join(dir, rel), { throwIfNoEntry: false }));
        started = Date.now();
        return send(dir, target, batch.filter((_, i) => stats[i]?.isFile()), batch.filter((_, i) => !stats[i]));
      })
      .then(
        async (count) => {
          log(`synced ${count} of ${batch.length} changed paths in ${Date.now() - started} ms`);
          if (then && pending.size === 0) await then(batch);
        },
        (err: Error) => log(`sync failed: ${err.message}`),
      )
      .catch((err: Error) => log(`run failed: ${err.message}`));
  };
  return watchTree(dir, (rel) => {
    pending.add(rel);
    clearTimeout(timer);
    timer = setTimeout(flush, 30);
  });
}
