// Named Celery workers: `worker` on its own, several in dev-stack and the test functions, all from
// the one app container on the one broker, each under its name, on its queues, with its processes.
import { describe, expect, it } from "vitest";

import { UsageError } from "../../src/config.js";
import { bound, serviceOf, step, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";

/** The ready check a worker's service waits for. */
const readyOf = (container: ReturnType<typeof serviceOf>["container"]) => (step(container, "withDockerHealthcheck").args.args as string[]).join(" ");

describe("worker", () => {
  it("runs one worker under the name, on the queues and with the processes given", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().worker("pycroft.task", "signer", ["timestamp", "snapshot"], 3)).sync();
      const { container, args } = serviceOf(engine.lastChain());
      expect(args.slice(-8)).toEqual([
        "celery", "-A", "pycroft.task", "worker", "--loglevel=info", "--hostname=signer@%h", "--queues=timestamp,snapshot", "--concurrency=3",
      ]);
      // It is ready on its own node's line.
      expect(readyOf(container)).toContain('grep -q "^\\[.*\\] signer@.* ready\\.$" /tmp/service.log');
    });
  });

  it("refuses a bad name, queue or concurrency before anything is built", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await expect(module().worker(undefined, "Signer")).rejects.toThrow(/worker name must be a hostname/);
      await expect(module().worker(undefined, "signer", ["a,b"])).rejects.toThrow('worker signer: queue "a,b" must start with a letter');
      await expect(module().worker(undefined, "signer", [], 0)).rejects.toThrow("worker signer: concurrency must be a whole number from 1 to 64, got 0");
      await expect(module().worker(undefined, "mq")).rejects.toBeInstanceOf(UsageError);
      expect(engine.queries).toEqual([]);
    });
  });
});

describe("dev-stack --worker", () => {
  it("runs the named workers instead of celery-worker, each from the app container, on the stack's broker; the dummy worker stays", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (
        await module().devStack(undefined, undefined, "pycroft.task", undefined, undefined, undefined, ["delegated-targets-signer:delegated_targets", "timestamp-signer:timestamp+snapshot:2"])
      ).sync();
      const services = bound(serviceOf(engine.lastChain()).container);
      expect(Object.keys(services).sort()).toEqual(["app", "db", "delegated-targets-signer", "dummy-worker", "keycloak", "ldap", "mail", "mq", "timestamp-signer"]);
      expect(services["delegated-targets-signer"]!.args.slice(-7)).toEqual([
        "celery", "-A", "pycroft.task", "worker", "--loglevel=info", "--hostname=delegated-targets-signer@%h", "--queues=delegated_targets",
      ]);
      expect(services["timestamp-signer"]!.args.slice(-8)).toEqual([
        "celery", "-A", "pycroft.task", "worker", "--loglevel=info", "--hostname=timestamp-signer@%h", "--queues=timestamp,snapshot", "--concurrency=2",
      ]);
      // One template: the same app container (its services bound) for both, and for the app itself.
      const template = (name: string) => JSON.stringify(services[name]!.container.filter((s) => s.field !== "withEnvVariable" && s.field !== "withDockerHealthcheck"));
      expect(template("timestamp-signer")).toBe(template("delegated-targets-signer"));
      expect(JSON.stringify(bound(services["timestamp-signer"]!.container).mq)).toBe(JSON.stringify(services.mq));
      expect(JSON.stringify(bound(services["dummy-worker"]!.container).mq)).toBe(JSON.stringify(services.mq));
      // Each waits for its own node's ready line.
      expect(readyOf(services["timestamp-signer"]!.container)).toContain("timestamp-signer@.* ready");
      expect(readyOf(services["dummy-worker"]!.container)).toContain("celery@.* ready");
    });
  });

  it("runs the one celery-worker on the default queue without --worker", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().devStack()).sync();
      const services = bound(serviceOf(engine.lastChain()).container);
      expect(services["celery-worker"]!.args.slice(-6)).toEqual(["celery", "-A", "pycroft.task", "worker", "--loglevel=info", "--hostname=celery-worker@%h"]);
    });
  });

  it("refuses a bad --worker before anything is built", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      const devStack = (workers: string[]) => module().devStack(undefined, undefined, undefined, undefined, undefined, undefined, workers);
      await expect(devStack(["signer:timestamp", "snapshot:2"])).rejects.toThrow('worker snapshot: queue "2" must start with a letter');
      await expect(devStack(["a:q", "a:r"])).rejects.toThrow('two workers are named "a"');
      await expect(devStack(["app:celery"])).rejects.toThrow('worker name "app" is the app service\'s hostname');
      expect(engine.queries).toEqual([]);
    });
  });
});

describe("test --worker", () => {
  it("starts the named workers with the services, bound like the app, before pytest runs", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await module().test([], false, false, 1, ["alpha:alpha", "beta:beta+gamma:2"]);
      const pytest = engine.chains("exitCode")[0]!;
      const services = bound(pytest);
      expect(Object.keys(services)).toEqual(["db", "ldap", "mq", "alpha", "beta"]);
      expect(services.beta!.args.slice(-8)).toEqual(["celery", "-A", "pycroft.task", "worker", "--loglevel=info", "--hostname=beta@%h", "--queues=beta,gamma", "--concurrency=2"]);
      // Started with the rest before pytest: five services; pytest waits until a ping names each.
      const started = engine.chains("start").map((c) => serviceOf(c).args.join(" "));
      expect(started.filter((a) => a.includes("--hostname=alpha@%h") || a.includes("--hostname=beta@%h"))).toHaveLength(2);
      expect(started).toHaveLength(5);
      const checks = JSON.parse(step(pytest, "withEnvVariable", { name: "PYCROFT_READY" }).args.value) as { host: string; node?: string; brokerEnv?: string }[];
      expect(checks.filter((c) => c.node).map((c) => [c.host, c.node, c.brokerEnv])).toEqual([
        ["alpha", "alpha", "PYCROFT_CELERY_BROKER_URI"],
        ["beta", "beta", "PYCROFT_CELERY_BROKER_URI"],
      ]);
      // On the broker pytest reaches.
      for (const name of ["alpha", "beta"]) expect(JSON.stringify(bound(services[name]!.container).mq)).toBe(JSON.stringify(services.mq));
    });
  });

  it("test-shell and test-report start them too; a bad one is refused before anything starts", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      await (await module().testShell(false, false, ["alpha:alpha"])).sync();
      expect(Object.keys(bound(engine.lastChain()))).toEqual(["db", "ldap", "mq", "alpha"]);
      await module().testReport([], false, false, 1, ["alpha:alpha"]);
      expect(Object.keys(bound(engine.chains("exitCode").at(-1)!))).toEqual(["db", "ldap", "mq", "alpha"]);
      const before = engine.queries.length;
      await expect(module().test([], false, false, 1, ["dummy-worker:hades"])).rejects.toThrow('worker name "dummy-worker" is the dummy-worker service\'s hostname');
      expect(engine.queries.slice(before).filter((q) => q.leaf === "start")).toEqual([]);
    });
  });
});
