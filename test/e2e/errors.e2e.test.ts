// Bad input on a real engine: each fails fast, with a message that names the cause and what to do.
import { Container, ExecError } from "@dagger.io/dagger";
import { describe, expect, it } from "vitest";

import { hostDir, noEngine, pycroftOn, session } from "./engine.js";

/** Everything a failed call says: its message and, for a failed command, that command's output. */
async function failure(call: Promise<unknown>): Promise<string> {
  return call.then(
    () => {
      throw new Error("the call was expected to fail, and passed");
    },
    (err: Error) => (err instanceof ExecError ? [err.message, err.stderr, err.stdout].join("\n") : err.message),
  );
}
const synced = (c: Promise<Container>) => c.then((x) => x.sync());

describe.skipIf(noEngine())("bad input on a real engine", () => {
  it("a pyproject.toml that does not parse is named as such, with the fix", async () => {
    const text = await session(() =>
      failure(synced(pycroftOn(hostDir("example").withNewFile("pyproject.toml", '[project\nname = "x"\n')).dev())),
    );
    expect(text).toMatch(/pyproject\.toml does not parse \(.*line 1.*\): fix it, then run 'uv lock' and commit uv\.lock/);
  });

  it("a Debian mirror that does not answer fails the first apt step within seconds, naming the mirror", async () => {
    const start = Date.now();
    const text = await session(() => failure(pycroftOn(hostDir("example"), { aptMirror: "http://127.0.0.1:9/debian" }).base().sync()));
    expect(text).toContain("apt could not update from the Debian mirror http://127.0.0.1:9/debian: check --apt-mirror");
    // Refused connections fail at once; a silent mirror within apt's 20 s timeout, once retried.
    expect(Date.now() - start).toBeLessThan(120_000);
  });

  it("an image that does not exist is named", async () => {
    const text = await session(() => failure(pycroftOn(hostDir("example"), { pythonImage: "python:0.0-does-not-exist" }).base().sync()));
    expect(text).toMatch(/python:0\.0-does-not-exist.*not found/);
  });

  it("a registry the engine cannot reach is named, with what to check", async () => {
    const text = await session(() => failure(pycroftOn(hostDir("example")).publish("127.0.0.1:1/pycroft-e2e", ["unreachable"])));
    expect(text).toMatch(/^could not publish 127\.0\.0\.1:1\/pycroft-e2e:unreachable: .*connection refused/s);
    expect(text).toContain("check the address, and that the registry is reachable from the Dagger engine");
  });
});
