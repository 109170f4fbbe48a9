// The host side of live edits: watches a checkout and sends each change to a dev stack started with
// --sync-token (its receiver: src/dev/sync.ts), as compose's bind mount would have shown it.
import { spawnSync } from "node:child_process";
import { existsSync, FSWatcher, statSync, watch } from "node:fs";
import { sep } from "node:path";

import { SOURCE_EXCLUDES } from "../../src/config.js";

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
 * Watches `dir` and sends what changed, in batches (an editor's save is several events), one batch
 * at a time so that changes arrive in order. Returns the watcher; `close()` stops it.
 */
export function watchAndSync(dir: string, target: SyncTarget, log: (line: string) => void = console.log): FSWatcher {
  const pending = new Set<string>();
  let timer: NodeJS.Timeout | undefined;
  let sending = Promise.resolve();
  const flush = () => {
    const batch = [...pending];
    pending.clear();
    const files = batch.filter((rel) => existsSync(`${dir}/${rel}`) && statSync(`${dir}/${rel}`).isFile());
    const gone = batch.filter((rel) => !existsSync(`${dir}/${rel}`));
    const started = Date.now();
    sending = sending
      .then(() => send(dir, target, files, gone))
      .then(
        (count) => log(`synced ${count} of ${batch.length} changed paths in ${Date.now() - started} ms`),
        (err: Error) => log(`sync failed: ${err.message}`),
      );
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
