// The dev stack's helpers run for real on this machine: the port forwarder, the live-edit receiver and
// the host-side watcher that feeds it.
import { ChildProcess, execFileSync, spawn } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { FORWARD } from "../../src/dev/ports.js";
import { RECEIVE } from "../../src/dev/sync.js";
import { excluded, send, watchAndSync } from "../engine/sync.js";
import { freePort } from "../support/run-script.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** Runs a Python script from the module as the container would, until its port answers. */
async function python(script: string, args: string[], port: number, env: Record<string, string> = {}) {
  const child = spawn("python3", ["-c", script, ...args], { env: { ...process.env, ...env }, stdio: "ignore" });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    const up = await new Promise<boolean>((done) => {
      const socket = new Socket().once("connect", () => done(socket.destroy() && true)).once("error", () => done(false));
      socket.connect(port, "127.0.0.1");
    });
    if (up) return child;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`python did not listen on ${port}`);
}

describe("the dev stack's port forwarder", () => {
  it("pipes each connection both ways to its target, and the target sees the client's end of input", async () => {
    // An upstream that answers once its input has ended, as a request/response protocol would.
    const upstream = createServer((socket) => {
      let got = "";
      socket.on("data", (d) => (got += d.toString()));
      socket.on("end", () => socket.end(`upstream got: ${got}`));
    });
    await new Promise<void>((done) => upstream.listen(0, "127.0.0.1", done));
    const target = (upstream.address() as { port: number }).port;
    const listen = await freePort();
    await python(FORWARD, [`${listen}=127.0.0.1:${target}`], listen);

    const answer = await new Promise<string>((done, fail) => {
      let text = "";
      const socket = new Socket().on("data", (d) => (text += d.toString())).on("end", () => done(text)).on("error", fail);
      socket.connect(listen, "127.0.0.1", () => socket.end("hello through the forwarder"));
    });
    upstream.close();
    expect(answer).toBe("upstream got: hello through the forwarder");
  });
});

describe("live edits", () => {
  const TOKEN = "unit-sync-token";

  async function receiver() {
    const root = mkdtempSync(join(tmpdir(), "pycroft-app-"));
    const port = await freePort();
    await python(RECEIVE, [String(port), root], port, { PYCROFT_SYNC_TOKEN: TOKEN });
    return { root, target: { url: `http://127.0.0.1:${port}`, token: TOKEN } };
  }

  it("the receiver writes the files of a tar under the app dir, removes files, and refuses a wrong token", async () => {
    const { root, target } = await receiver();
    const host = mkdtempSync(join(tmpdir(), "pycroft-checkout-"));
    mkdirSync(join(host, "web/templates"), { recursive: true });
    writeFileSync(join(host, "web/templates/index.html"), "<p>edited</p>");
    writeFileSync(join(root, "old.py"), "gone soon");

    expect(await send(host, target, ["web/templates/index.html"], ["old.py"])).toBe(2);
    expect(readFileSync(join(root, "web/templates/index.html"), "utf8")).toBe("<p>edited</p>");
    expect(existsSync(join(root, "old.py"))).toBe(false);

    await expect(send(host, { ...target, token: "wrong" }, ["web/templates/index.html"], [])).rejects.toThrow(/401 wrong or missing sync token/);
  });

  it("the receiver writes nothing outside the app dir: no ../ paths, absolute paths or links, and deletes nothing there", async () => {
    const { root, target } = await receiver();
    const outside = mkdtempSync(join(tmpdir(), "pycroft-outside-"));
    writeFileSync(join(outside, "keep"), "kept");
    // A tar with members a checkout would never produce.
    const tar = join(outside, "evil.tar");
    execFileSync("python3", [
      "-c",
      `import io, sys, tarfile
with tarfile.open(sys.argv[1], "w") as t:
    for name in ("../escaped", sys.argv[2] + "/absolute", "ok.txt"):
        data = b"x"; info = tarfile.TarInfo(name); info.size = len(data); t.addfile(info, io.BytesIO(data))
    link = tarfile.TarInfo("link"); link.type = tarfile.SYMTYPE; link.linkname = sys.argv[2]; t.addfile(link)`,
      tar,
      outside,
    ]);
    const post = (path: string, body: Buffer) =>
      fetch(`${target.url}${path}`, { method: "POST", body: new Uint8Array(body), headers: { Authorization: `Bearer ${TOKEN}` } }).then((r) => r.text());
    expect((await post("/files", readFileSync(tar))).trim()).toBe("1");
    expect(readFileSync(join(root, "ok.txt"), "utf8")).toBe("x");
    expect(existsSync(join(root, "..", "escaped"))).toBe(false);
    expect(existsSync(join(outside, "absolute"))).toBe(false);
    expect(existsSync(join(root, "link"))).toBe(false);
    expect((await post("/delete", Buffer.from(`../${outside.split("/").pop()}/keep\n${outside}/keep`))).trim()).toBe("0");
    expect(readFileSync(join(outside, "keep"), "utf8")).toBe("kept");
  });

  it("the watcher sends a file saved in the checkout, and a removal, but nothing of what never leaves the machine", async () => {
    const { root, target } = await receiver();
    const host = mkdtempSync(join(tmpdir(), "pycroft-checkout-"));
    mkdirSync(join(host, "web"));
    mkdirSync(join(host, "node_modules"));
    writeFileSync(join(root, "stale.py"), "old");
    writeFileSync(join(host, "stale.py"), "old");
    const lines: string[] = [];
    const watcher = watchAndSync(host, target, (line) => lines.push(line));
    try {
      writeFileSync(join(host, "web/app.py"), "print('live')");
      writeFileSync(join(host, "node_modules/big.js"), "never sent");
      rmSync(join(host, "stale.py"));
      // Until the receiver has both changes and the watcher has logged the answer to what it sent.
      const done = () => existsSync(join(root, "web/app.py")) && !existsSync(join(root, "stale.py")) && lines.length > 0;
      for (let i = 0; i < 200 && !done(); i++) {
        await new Promise((done) => setTimeout(done, 50));
      }
    } finally {
      watcher.close();
    }
    expect(readFileSync(join(root, "web/app.py"), "utf8")).toBe("print('live')");
    expect(existsSync(join(root, "stale.py"))).toBe(false);
    expect(existsSync(join(root, "node_modules"))).toBe(false);
    expect(lines.join("\n")).toMatch(/^synced \d+ of \d+ changed paths in \d+ ms$/m);
    expect(lines.join("\n")).not.toMatch(/sync failed/);
  });

  it("what is never sent: version control, envs, installed JS deps, caches, build output", () => {
    for (const path of [".git/index", "node_modules/x/index.js", "web/__pycache__/app.cpython-312.pyc", "deps/w/.venv/bin/python", "htmlcov/index.html", "web/static/dist/main-X.js", "web/static/manifest.json", "pycroft.egg-info/PKG-INFO"]) {
      expect(excluded(path), path).toBe(true);
    }
    for (const path of ["web/app.py", "web/static/logo.png", "web/templates/index.html", "gitlab.md", "distance.py"]) {
      expect(excluded(path), path).toBe(false);
    }
  });
});
