// Tests of the fake engine itself, driven by plain SDK calls.
import { CacheSharingMode, dag, ExecError } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { decodeId, execError, execs, fields, formatChain, step, steps, withFakeEngine } from "../support/fake-engine.js";

describe("fake engine", () => {
  it("records a container pipeline sent by the SDK", async () => {
    await withFakeEngine(async (engine) => {
      await dag.container().from("alpine").withExec(["echo", "hi"]).sync();

      expect(engine.queries).toHaveLength(1);
      expect(engine.queries[0]!.text).toContain('from (address: "alpine")');
      expect(engine.lastChain()).toEqual([
        { field: "container", args: {} },
        { field: "from", args: { address: "alpine" } },
        { field: "withExec", args: { args: ["echo", "hi"] } },
        { field: "sync", args: {} },
      ]);
    });
  });

  it("mints IDs that encode the pipeline which produced them", async () => {
    await withFakeEngine(async (engine) => {
      const id = await dag.container().from("alpine").withEnvVariable("A", "1").id();

      expect(id).toMatch(/^fake:/);
      expect(fields(engine.pipeline(id))).toEqual(["container", "from", "withEnvVariable"]);
      expect(decodeId("not-an-id")).toBeUndefined();
    });
  });

  it("expands a Directory argument into its own pipeline", async () => {
    await withFakeEngine(async (engine) => {
      const src = dag.directory().withNewFile("app.py", "print(1)");
      const host = dag.host().directory(".", { exclude: ["node_modules"] });
      await dag
        .container()
        .from("python:3.12-slim-bookworm")
        .withDirectory("/app", src)
        .withMountedDirectory("/src", host)
        .withExec(["python", "/app/app.py"])
        .sync();

      // The SDK first asks each argument object for its id, then inlines it.
      expect(engine.queries.map((q) => q.leaf).sort()).toEqual(["id", "id", "sync"]);
      const chain = engine.lastChain();
      expect(step(chain, "withDirectory", { path: "/app" }).args.source).toEqual([
        { field: "directory", args: {} },
        { field: "withNewFile", args: { path: "app.py", contents: "print(1)" } },
      ]);
      expect(step(chain, "withMountedDirectory", { path: "/src" }).args.source).toEqual([
        { field: "host", args: {} },
        { field: "directory", args: { path: ".", exclude: ["node_modules"] } },
      ]);
      expect(execs(chain)).toEqual(["python /app/app.py"]);
    });
  });

  it("shows a secret as the pipeline that made it, never inlined as a string", async () => {
    await withFakeEngine(async (engine) => {
      const token = dag.setSecret("token", "s3cr3t");
      await dag
        .container()
        .from("alpine")
        .withSecretVariable("TOKEN", token)
        .withMountedSecret("/run/pw", dag.secret("env://PASSWORD"))
        .withExec(["sh", "-c", "login"])
        .sync();

      const chain = engine.lastChain();
      expect(step(chain, "withSecretVariable", { name: "TOKEN" }).args.secret).toEqual([
        { field: "setSecret", args: { name: "token", plaintext: "s3cr3t" } },
      ]);
      expect(step(chain, "withMountedSecret").args.source).toEqual([
        { field: "secret", args: { uri: "env://PASSWORD" } },
      ]);
      // The plaintext only lives inside the setSecret step, not in the container's own steps.
      const own = chain.map((s) => ({ ...s, args: s.field === "withSecretVariable" ? {} : s.args }));
      expect(JSON.stringify(own)).not.toContain("s3cr3t");
    });
  });

  it("continues a pipeline across sync() (node(id:) is spliced in)", async () => {
    await withFakeEngine(async (engine) => {
      const base = await dag.container().from("alpine").withExec(["apk", "add", "git"]).sync();
      await base.withExec(["git", "--version"]).sync();

      expect(engine.queries.at(-1)!.text).toContain("node (id:");
      expect(fields(engine.lastChain())).toEqual(["container", "from", "withExec", "withExec", "sync"]);
      expect(execs(engine.lastChain())).toEqual(["apk add git", "git --version"]);
    });
  });

  it("passes enums by name, expands cache volumes and lists of IDs", async () => {
    await withFakeEngine(async (engine) => {
      engine.respond("publish", "registry.example/app@sha256:0123");
      const variant = (platform: string) =>
        dag
          .container({ platform: platform as never })
          .from("alpine")
          .withMountedCache("/root/.cache", dag.cacheVolume("pip"), { sharing: CacheSharingMode.Locked });

      const ref = await dag.container().publish("registry.example/app:1", {
        platformVariants: [variant("linux/amd64"), variant("linux/arm64")],
      });

      expect(ref).toBe("registry.example/app@sha256:0123");
      const [publish] = engine.chains("publish");
      const last = publish!.at(-1)!;
      expect(last.args.address).toBe("registry.example/app:1");
      expect(last.args.platformVariants.map((v: never) => step(v, "container").args.platform)).toEqual([
        "linux/amd64",
        "linux/arm64",
      ]);
      const cache = step(last.args.platformVariants[0], "withMountedCache");
      expect(cache.args).toEqual({
        path: "/root/.cache",
        cache: [{ field: "cacheVolume", args: { key: "pip" } }],
        sharing: "LOCKED",
      });
    });
  });

  it("answers leaves with typed defaults or configured values", async () => {
    await withFakeEngine(async (engine) => {
      const ctr = dag.container().from("alpine");
      expect(await ctr.withExec(["true"]).exitCode()).toBe(0);
      expect(await ctr.withExec(["true"]).stdout()).toBe("");
      expect(await ctr.directory("/").entries()).toEqual([]);
      expect(await ctr.exists("/etc")).toBe(false);

      // A function responder sees the expanded parent pipeline; undefined means "default".
      engine.respond("stdout", ({ parent }) => (execs(parent).at(-1) === "echo hi" ? "hi\n" : undefined));
      expect(await ctr.withExec(["echo", "hi"]).stdout()).toBe("hi\n");
      expect(await ctr.withExec(["echo", "other"]).stdout()).toBe("");
    });
  });

  it("serves lists of objects from configured items", async () => {
    await withFakeEngine(async (engine) => {
      engine.respond("envVariables", [
        { name: "PATH", value: "/usr/bin" },
        { name: "LANG", value: "C.UTF-8" },
      ]);
      const vars = await dag.container().from("alpine").envVariables();

      expect(await Promise.all(vars.map(async (v) => `${await v.name()}=${await v.value()}`))).toEqual([
        "PATH=/usr/bin",
        "LANG=C.UTF-8",
      ]);
      expect(await dag.container().envVariables()).toHaveLength(2);
    });
  });

  it("can make a pipeline fail like a failing withExec", async () => {
    await withFakeEngine(async (engine) => {
      engine.respond("sync", ({ parent }) => {
        if (execs(parent).includes("pytest")) throw execError({ exitCode: 2, stderr: "1 failed", cmd: ["pytest"] });
      });
      await dag.container().from("alpine").withExec(["ls"]).sync(); // unaffected

      const failing = dag.container().from("alpine").withExec(["pytest"]).sync();
      await expect(failing).rejects.toBeInstanceOf(ExecError);
      await expect(failing).rejects.toMatchObject({ exitCode: 2, stderr: "1 failed" });
    });
  });

  it("parses query text and explains lookup failures with the readable pipeline", async () => {
    await withFakeEngine(async (engine) => {
      const chain = engine.pipeline('{ container { from(address: "alpine") { withExec(args: ["ls"]) { id } } } }');
      expect(fields(chain)).toEqual(["container", "from", "withExec"]);
      expect(formatChain(chain)).toBe('container\nfrom(address: "alpine")\nwithExec(args: ["ls"])');
      expect(() => step(chain, "withExec", { args: ["pwd"] })).toThrow(/found 0 in:\ncontainer\n/);
      expect(steps(chain, "withExec")).toHaveLength(1);
    });
  });

  it("restores the session environment and returns the callback's result", async () => {
    const before = process.env.DAGGER_SESSION_PORT;
    const result = await withFakeEngine(async (engine) => {
      expect(process.env.DAGGER_SESSION_PORT).toBe(String(engine.port));
      return 42;
    });
    expect(result).toBe(42);
    expect(process.env.DAGGER_SESSION_PORT).toBe(before);
  });
});

