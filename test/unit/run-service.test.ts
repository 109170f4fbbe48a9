// The wrapper every service runs under, run for real on this machine: a stop reaches the service as
// its own stop signal, the wrapper outlives the service's shutdown, and dev data takes one server only.
import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { describe, expect, it } from "vitest";

import { DATA_IN_USE, JOIN_HINT, RUN_SERVICE } from "../../src/services/service.js";

/**
 * A service that shuts down like PostgreSQL: TERM alone (a "smart" shutdown) does not end it; its
 * stop signal INT does, after a clean shutdown that takes a moment.
 */
const FAKE_SERVICE = `import signal, sys, time
def on_int(sig, _):
    sys.stdout.write("got SIGINT\\n"); sys.stdout.flush()
    time.sleep(0.5)
    sys.stdout.write("shut down cleanly\\n"); sys.stdout.flush()
    sys.exit(0)
# TERM starts a "smart" shutdown that waits for clients: here, it changes nothing.
signal.signal(signal.SIGTERM, lambda sig, _: None)
signal.signal(signal.SIGINT, on_int)
# One write: with PYTHONUNBUFFERED, print() writes "ready" and "\\n" apart, and a stop between
# them would lose the newline.
sys.stdout.write("ready\\n"); sys.stdout.flush()
while True:
    time.sleep(0.05)`;

/** What a second db on the same lock says (as `serve` writes it). */
const BUSY = `db ${DATA_IN_USE}: stop that one first, or join a running dev-stack: ${JOIN_HINT}`;

/** Starts the wrapper in a process group of its own, as the engine's init starts a service. */
function runService(log: string, stop: string, lock: string) {
  const child = spawn("bash", ["-c", RUN_SERVICE, "run-service", log, stop, lock, lock ? BUSY : "", "python3", "-c", FAKE_SERVICE], {
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  let output = "";
  child.stdout.on("data", (d: Buffer) => (output += d.toString()));
  child.stderr.on("data", (d: Buffer) => (output += d.toString()));
  // "close": exited, and its output all read.
  const exited = new Promise<number | null>((resolve) => child.on("close", (code) => resolve(code)));
  const ready = async () => {
    for (let i = 0; i < 100 && !output.includes("ready\n"); i++) await new Promise((r) => setTimeout(r, 50));
    expect(output).toContain("ready\n");
  };
  return { child, exited, ready, output: () => output };
}

describe("the service wrapper", () => {
  it("passes the engine's stop to the service as its stop signal and exits only once the service has shut down", async () => {
    const dir = mkdtempSync(join(tmpdir(), "run-service-"));
    const log = join(dir, "service.log");
    const svc = runService(log, "INT", "");
    await svc.ready();
    // What the engine's init does on a graceful stop: SIGTERM to the whole process group.
    process.kill(-svc.child.pid!, "SIGTERM");
    expect(await svc.exited).toBe(0);
    expect(svc.output()).toBe("ready\ngot SIGINT\nshut down cleanly\n");
    // Everything the service printed, the shutdown included, is in the log too.
    expect(readFileSync(log, "utf8")).toContain("shut down cleanly");
  });

  it("lets one service at a time have a dev data lock, and tells the second why it cannot start", async () => {
    const dir = mkdtempSync(join(tmpdir(), "run-service-"));
    const lock = join(dir, "db.lock");
    const first = runService(join(dir, "first.log"), "INT", lock);
    await first.ready();
    const second = runService(join(dir, "second.log"), "INT", lock);
    expect(await second.exited).toBe(75);
    expect(second.output()).toBe(`${BUSY}\n`);

    process.kill(-first.child.pid!, "SIGTERM");
    expect(await first.exited).toBe(0);
    // Once the first has stopped, the data is free again.
    const third = runService(join(dir, "third.log"), "INT", lock);
    await third.ready();
    process.kill(-third.child.pid!, "SIGTERM");
    expect(await third.exited).toBe(0);
  });
});
