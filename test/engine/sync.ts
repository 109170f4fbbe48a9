// The host side of live edits: watches a checkout and sends each change to a dev or test stack started
// with --sync-token (its receiver: src/app/receiver.ts), as compose's bind mount would have shown it,
// and asks a test stack to run pytest.
import { spawnSync } from "node:child_process";
import { existsSync, FSWatcher, statSync, watch } from "node:fs";
import { sep } from "node:path";

import { SOURCE_EXCLUDES } from "../../src/config.js";
import { DEPENDENCY_MANIFESTS } from "../../src/images/project.js";

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
  // The source's own, and a path dependency's under deps/ (installed from its own pyproject).
  const changed = paths.filter((p) => DEPENDENCY_MANIFESTS.includes(p) || /^deps\/[^/]+\/(pyproject\.toml|setup\.py|setup\.cfg)$/.test(p));
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
 * Watches `dir` and sends what changed, in batches (an editor's save is several events), one batch
 * at a time so that changes arrive in order; after a batch that no other follows yet, runs `then`
 * (a test run) with the batch's paths before the next one goes. Returns the watcher; `close()` stops it.
 */
export function watchAndSync(dir: string, target: SyncTarget, log: (line: string) => void = console.log, then?: (batch: string[]) => Promise<void>): FSWatcher {
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let sending = Promise.resolve();
  const flush = () => {
    const batch = [...pending];
    pending.clear();
    const files = batch.filter((rel) => existsSync(`${dir}/${rel}`) && statSync(`${dir}/${rel}`).isFile());
    const gone = batch.filter((rel) => !existsSync(`${dir}/${rel}`));
    let started = 0;
    sending = sending
      .then(() => {
        started = Date.now();
        return send(dir, target, files, gone);
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
  return watch(dir, { recursive: true }, (_event, name) => {
    if (!name) return;
    const rel = name.toString().split(sep).join("/");
    if (excluded(rel)) return;
    pending.add(rel);
    clearTimeout(timer);
    timer = setTimeout(flush, 30);
  });
}
