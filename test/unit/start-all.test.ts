// startAll, the one place services are started and stopped, driven with stand-in services whose
// starts the test finishes by hand: what is started when, what is stopped how, and what a failure says.
import { ExecError, Service } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { startAll, startFailure, Storage } from "../../src/services/service.js";

/** A service whose start the test settles, recording its starts and stops. */
class StandIn {
  starts = 0;
  stops: { kill?: boolean }[] = [];
  private settle?: { resolve: () => void; reject: (err: unknown) => void };

  start(): Promise<this> {
    this.starts++;
    return new Promise<this>((resolve, reject) => {
      this.settle = { resolve: () => resolve(this), reject };
    });
  }

  async stop(opts: { kill?: boolean } = {}): Promise<this> {
    this.stops.push(opts);
    return this;
  }

  up(): void {
    this.settle!.resolve();
  }

  fail(err: unknown): void {
    this.settle!.reject(err);
  }
}

const asServices = (s: Record<string, StandIn>) => s as unknown as Record<string, Service>;
/** Lets every pending promise callback run. */
const settled = () => new Promise((resolve) => setTimeout(resolve, 0));
const tmpfs: Storage = { kind: "tmpfs", runId: "run-1" };

describe("startAll", () => {
  it("starts every service at once, not one after another, and waits for all of them", async () => {
    const s = { db: new StandIn(), ldap: new StandIn(), mq: new StandIn() };
    let done = false;
    const started = startAll(asServices(s), tmpfs).then((stop) => ((done = true), stop));
    await settled();
    // None is up yet, and all three are starting.
    expect([s.db.starts, s.ldap.starts, s.mq.starts]).toEqual([1, 1, 1]);
    s.mq.up();
    s.db.up();
    await settled();
    expect(done).toBe(false);
    s.ldap.up();
    const stop = await started;
    expect(done).toBe(true);
    expect(s.db.stops).toEqual([]);
    await stop();
    for (const svc of Object.values(s)) expect(svc.starts).toBe(1);
  });

  it("kills services whose data is thrown away, and stops dev services (data on volumes) cleanly", async () => {
    const test = { db: new StandIn(), mq: new StandIn() };
    const testRun = startAll(asServices(test), tmpfs);
    await settled();
    test.db.up();
    test.mq.up();
    await (await testRun)();
    expect([test.db.stops, test.mq.stops]).toEqual([[{ kill: true }], [{ kill: true }]]);

    const dev = { db: new StandIn() };
    const devRun = startAll(asServices(dev), { kind: "volumes", project: "app" });
    await settled();
    dev.db.up();
    await (await devRun)();
    expect(dev.db.stops).toEqual([{ kill: false }]);
  });

  it("names every service that never got ready with its last words, and stops the ones that came up", async () => {
    const s = { db: new StandIn(), ldap: new StandIn(), mq: new StandIn(), keycloak: new StandIn() };
    const run = startAll(asServices(s), tmpfs);
    await settled();
    s.db.up();
    s.ldap.fail(new ExecError("exit code 1", { cmd: ["sh"], exitCode: 1, stdout: "", stderr: "slapd: bad config line 3\nslapd stopped." }));
    s.mq.up();
    s.keycloak.fail(new Error("health check timed out"));
    await expect(run).rejects.toThrow(
      'service "ldap" never became ready:\nslapd: bad config line 3\nslapd stopped.\n\nservice "keycloak" never became ready:\nhealth check timed out',
    );
    // What came up is stopped again; what never started has nothing to stop.
    expect([s.db.stops, s.mq.stops]).toEqual([[{ kill: true }], [{ kill: true }]]);
    expect([s.ldap.stops, s.keycloak.stops]).toEqual([[], []]);
  });

  it("starts nothing and stops nothing for an empty set", async () => {
    const stop = await startAll({}, tmpfs);
    await expect(stop()).resolves.toBeUndefined();
  });
});

describe("a service's failure to start", () => {
  const exec = (stdout: string, stderr: string) => new ExecError("process did not complete", { cmd: ["sh"], exitCode: 1, stdout, stderr });

  it("keeps the last 40 lines of what the service left, stderr before stdout", () => {
    const log = Array.from({ length: 100 }, (_, i) => `line ${i + 1}`).join("\n");
    const lines = startFailure("db", exec("", log)).split("\n");
    expect(lines[0]).toBe('service "db" never became ready:');
    expect(lines.slice(1)).toEqual(Array.from({ length: 40 }, (_, i) => `line ${i + 61}`));
    expect(startFailure("mq", exec("from stdout", "from stderr"))).toBe('service "mq" never became ready:\nfrom stderr\nfrom stdout');
  });

  it("falls back to the error's message when the exec left no output, and to the value itself for a non-error", () => {
    expect(startFailure("db", exec("  \n", "\n"))).toBe('service "db" never became ready:\nprocess did not complete');
    expect(startFailure("db", new Error("  connection reset\n"))).toBe('service "db" never became ready:\nconnection reset');
    expect(startFailure("db", "engine gone")).toBe('service "db" never became ready:\nengine gone');
  });
});
