// publish: validation, tags, registry auth and multi-platform manifest lists.
import { dag } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { step, steps, withFakeEngine } from "../support/fake-engine.js";
import { exampleSource, module } from "../support/example.js";

describe("publish", () => {
  it("publishes every tag and prints the digest-pinned references", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("defaultPlatform", "linux/amd64");
      engine.respond("publish", ({ args }) => `${args.address}@sha256:${"ab".repeat(32)}`);
      const out = await module().publish("registry.agdsn.de/agdsn/pycroft", ["1.0.0", "latest"]);

      expect(out.split("\n")).toEqual([
        `registry.agdsn.de/agdsn/pycroft:1.0.0@sha256:${"ab".repeat(32)}`,
        `registry.agdsn.de/agdsn/pycroft:latest@sha256:${"ab".repeat(32)}`,
      ]);
      const pushed = engine.chains("publish");
      expect(pushed).toHaveLength(2);
      // One platform: the prod image itself is pushed.
      expect(steps(pushed[0]!, "withDefaultArgs").at(-1)?.args.args[0]).toBe("uwsgi");
      expect(steps(pushed[0]!, "container").map((s) => s.args.platform)).toEqual(["linux/amd64"]);
    });
  });

  it("pushes one manifest list for several platforms, logged in when credentials are given", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      const password = dag.setSecret("token", "hunter2");
      await module().publish("registry.agdsn.de/agdsn/pycroft", [], ["linux/amd64", "linux/arm64"] as never[], "ci", password);

      const [pushed] = engine.chains("publish");
      const publish = step(pushed!, "publish");
      expect(publish.args.address).toBe("registry.agdsn.de/agdsn/pycroft:latest");
      const platforms = (publish.args.platformVariants as never[][]).map((v) => steps(v, "container")[0]!.args.platform);
      expect(platforms).toEqual(["linux/amd64", "linux/arm64"]);
      expect(step(pushed!, "withRegistryAuth").args).toMatchObject({ address: "registry.agdsn.de", username: "ci" });
    });
  });

  it("refuses a platform the Python image has no variant for, instead of publishing another platform's image under its name", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      // The engine's answer for an image published for amd64 only, asked for arm64.
      engine.respond("platform", () => "linux/amd64");
      const refused = /python:3\.12-slim-bookworm has no linux\/arm64 image, only linux\/amd64: .*--python-image published for linux\/arm64/;
      await expect(module().publish("agdsn/pycroft", [], ["linux/amd64", "linux/arm64"] as never[])).rejects.toThrow(refused);
      await expect(module().buildProd(undefined, "linux/arm64" as never)).rejects.toThrow(refused);
      expect(engine.chains("publish")).toEqual([]);
      // Where the image has it, both build on.
      engine.respond("platform", ({ parent }) => parent.find((s) => s.field === "container")?.args.platform);
      await module().buildProd(undefined, "linux/arm64" as never);
      await module().publish("agdsn/pycroft", [], ["linux/amd64", "linux/arm64"] as never[]);
      expect(engine.chains("publish")).toHaveLength(1);
    });
  });

  it("refuses bad input before building anything", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("defaultPlatform", "linux/amd64");
      await expect(module().publish("")).rejects.toThrow(/publishing needs an image address/);
      await expect(module().publish("agdsn/pycroft", ["bad tag"])).rejects.toThrow(/"bad tag" is not a valid image tag/);
      await expect(module().publish("agdsn/pycroft:1.0")).rejects.toThrow(/without tag or digest/);
      await expect(module().publish("agdsn/pycroft", [], [], "ci")).rejects.toThrow(/both --username and --password/);
      await expect(module().publish("agdsn/pycroft", [], ["linux/amd46"] as never[])).rejects.toThrow(
        'unknown platform "linux/amd46": use linux/ARCH (amd64, arm64, arm/v7, 386, ppc64le, s390x, riscv64), e.g. linux/arm64',
      );
      await expect(module().buildProd(undefined, "windows/amd64" as never)).rejects.toThrow(/unknown platform "windows\/amd64"/);
      expect(engine.chains("publish")).toHaveLength(0);
    });
  });

  it("says what to check when a push fails: credentials on a refusal, reachability otherwise", async () => {
    await withFakeEngine(async (engine) => {
      exampleSource(engine);
      engine.respond("publish", () => {
        throw new Error("failed to push registry.agdsn.de/agdsn/pycroft:latest: 401 Unauthorized");
      });
      const password = dag.setSecret("token", "wrong");
      await expect(module().publish("registry.agdsn.de/agdsn/pycroft", [], [], "ci", password)).rejects.toThrow(
        /^could not publish registry\.agdsn\.de\/agdsn\/pycroft:latest: .*401 Unauthorized\nthe registry refused the credentials: check --username and --password/s,
      );
      engine.respond("publish", () => {
        throw new Error("dial tcp 10.0.0.1:443: connect: connection refused");
      });
      await expect(module().publish("registry.agdsn.de/agdsn/pycroft")).rejects.toThrow(
        /connection refused\ncheck the address, and that the registry is reachable from the Dagger engine/,
      );
    });
  });
});
