// The dev stack's helpers run for real on this machine: the port forwarder, the live-edit receiver and
// the host-side watcher that feeds it.
import { ChildProcess, execFileSync, spawnSync } from "node:child_process";
import { existsSync, mkdirSync, mkdtempSync, readFileSync, realpathSync, symlinkSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";

import { afterEach, describe, expect, it } from "vitest";

import { FORWARD } from "../../src/dev/ports.js";
import { RECEIVE } from "../../src/live/receiver.js";
import { shardsOption, stackOptions } from "../engine/options.js";
import { optionsFromEnv } from "../support/module.js";
import { runThere, send } from "../engine/sync.js";
import { freePort, listeningPython } from "../support/run-script.js";

const children: ChildProcess[] = [];
afterEach(() => {
  for (const child of children.splice(0)) child.kill("SIGKILL");
});

/** Runs a Python script from the module as the container would, until its port answers. */
const python = (script: string, args: string[], port: number, env: Record<string, string> = {}) => listeningPython(children, script, args, port, env);


/** Whether a process runs (not a zombie); one that ends between the two reads of /proc is gone. */
function running(pid: number): boolean {
  try {
    return readFileSync(`/proc/${pid}/stat`, "utf8").split(" ")[2] !== "Z";
  } catch {
    return false;
  }
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
    expect((await post("/delete", Buffer.from(`../${outside.split("/").pop()}\n${outside}\n..\n.\n`))).trim()).toBe("0");
    // A link in the app dir to a directory outside: nothing is removed through it; the link itself goes.
    symlinkSync(outside, join(root, "outlink"));
    expect((await post("/delete", Buffer.from("outlink/keep"))).trim()).toBe("0");
    expect((await post("/delete", Buffer.from("outlink"))).trim()).toBe("1");
    expect(existsSync(join(root, "outlink"))).toBe(false);
    expect(readFileSync(join(outside, "keep"), "utf8")).toBe("kept");
  });

  it("a directory the checkout no longer has is removed with what is in it, so that Python no longer imports it (as a namespace package)", async () => {
    const { root, target } = await receiver();
    for (const file of ["pkg/__init__.py", "pkg/sub/__init__.py", "pkg/sub/__pycache__/__init__.cpython-312.pyc", "pkg/sub/deeper/m.py"]) {
      mkdirSync(dirname(join(root, file)), { recursive: true });
      writeFileSync(join(root, file), "");
    }
    const imports = () => spawnSync("python3", ["-c", "import pkg.sub.deeper"], { cwd: root }).status;
    expect(imports()).toBe(0);
    // As after `mv pkg/sub elsewhere` in the checkout: the directory's path alone is reported.
    const host = mkdtempSync(join(tmpdir(), "pycroft-checkout-"));
    expect(await send(host, target, [], ["pkg/sub"])).toBe(1);
    expect(existsSync(join(root, "pkg/sub"))).toBe(false);
    expect(existsSync(join(root, "pkg/__init__.py"))).toBe(true);
    expect(imports()).toBe(1);
  });

  /** A test stack's receiver: it runs `command` (the stack's pytest) on POST /run. */
  async function runner(command: string[]) {
    const root = mkdtempSync(join(tmpdir(), "pycroft-app-"));
    const port = await freePort();
    await python(RECEIVE, [String(port), root, ...command], port, { PYCROFT_SYNC_TOKEN: TOKEN });
    return { root, target: { url: `http://127.0.0.1:${port}`, token: TOKEN } };
  }
  const collect = () => {
    const out = { text: "", write: (t: string) => void (out.text += t) };
    return out;
  };

  it("a test stack's receiver runs its command with the arguments sent, in the app dir, on the files synced before, and answers with the output and the exit code", async () => {
    const { root, target } = await runner(["sh", "-c", 'echo "in $PWD: $*"; cat tests/test_app.py; exit 3', "pytest"]);
    const host = mkdtempSync(join(tmpdir(), "pycroft-checkout-"));
    mkdirSync(join(host, "tests"));
    writeFileSync(join(host, "tests/test_app.py"), "def test_edited(): pass\n");
    await send(host, target, ["tests/test_app.py"], []);

    const out = collect();
    expect(await runThere(target, ["-k", "edited and not slow", "tests"], out.write)).toBe(3);
    expect(out.text).toBe(`in ${realpathSync(root)}: -k edited and not slow tests\ndef test_edited(): pass\n`);
  });

  it("the exit code is a line of its own also after output without a last newline, and 0 is an exit code too", async () => {
    const { target } = await runner(["printf", "%s"]);
    const out = collect();
    expect(await runThere(target, ["no newline"], out.write)).toBe(0);
    // The newline that puts the exit code on a line of its own ends the output written.
    expect(out.text).toBe("no newline\n");
  });

  it("runs one at a time: a second run waits for the first to end", async () => {
    const { root, target } = await runner(["sh", "-c", 'echo "start $1" >> runs.log; sleep 0.3; echo "end $1" >> runs.log', "pytest"]);
    await Promise.all([runThere(target, ["a"], () => {}), new Promise((done) => setTimeout(done, 50)).then(() => runThere(target, ["b"], () => {}))]);
    expect(readFileSync(join(root, "runs.log"), "utf8")).toBe("start a\nend a\nstart b\nend b\n");
  });

  it("a run whose client goes away is killed, with what it started, also while it prints nothing", async () => {
    // A child of its own, as the example's conftest starts a Celery worker.
    const { root, target } = await runner(["sh", "-c", "sleep 60 & echo $! > child; echo $$ > pid; echo started; wait"]);
    const aborted = new AbortController();
    const run = fetch(`${target.url}/run`, { method: "POST", body: "", headers: { Authorization: `Bearer ${TOKEN}` }, signal: aborted.signal });
    const reader = (await run).body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("started\n");
    const pids = ["pid", "child"].map((f) => Number(readFileSync(join(root, f), "utf8")));
    // Running: not gone, and not a zombie waiting for its parent.
    expect(pids.map(running), `pids ${pids.join(", ")}`).toEqual([true, true]);
    aborted.abort();
    for (let i = 0; i < 100 && pids.some(running); i++) await new Promise((done) => setTimeout(done, 50));
    expect(pids.map(running)).toEqual([false, false]);
  });

  it("what a run leaves running ends with it, and the answer ends when the run does", async () => {
    // The child keeps the output open after its parent, the run, has exited.
    const { root, target } = await runner(["sh", "-c", "sleep 60 & echo $! > child; echo done"]);
    const out = collect();
    expect(await runThere(target, [], out.write)).toBe(0);
    expect(out.text).toBe("done\n");
    const child = Number(readFileSync(join(root, "child"), "utf8"));
    const alive = () => running(child);
    for (let i = 0; i < 100 && alive(); i++) await new Promise((done) => setTimeout(done, 50));
    expect(alive()).toBe(false);
  });

  it("/run needs the token, and a dev stack's receiver (no command) has none", async () => {
    const { target } = await runner(["true"]);
    await expect(runThere({ ...target, token: "wrong" }, [], () => {})).rejects.toThrow(/^run: 401 wrong or missing sync token$/);
    const { target: dev } = await receiver();
    await expect(runThere(dev, [], () => {})).rejects.toThrow(/^run: 404 POST \/files \(a tar\) or \/delete \(paths, one a line\)$/);
  });

  it("a run cut off before its exit code is an error, with what came", async () => {
    const { target } = await runner(["sh", "-c", "echo partial; sleep 0.5; kill -9 $PPID"]);
    const out = collect();
    await expect(runThere(target, [], out.write)).rejects.toThrow(/the run ended without its exit code/);
    expect(out.text).toBe("partial\n");
  });

  /** The pids a command started ahead wrote to `started` in the app dir, once there are `count`. */
  async function started(root: string, count: number): Promise<string[]> {
    for (let i = 0; i < 200; i++) {
      const pids = existsSync(join(root, "started")) ? readFileSync(join(root, "started"), "utf8").split("\n").filter(Boolean) : [];
      if (pids.length >= count) return pids;
      await new Promise((done) => setTimeout(done, 25));
    }
    throw new Error(`${count} processes were not started ahead`);
  }
  // Writes its pid when it starts, then takes its arguments on stdin, one a line.
  const AHEAD = 'echo $$ >> started; while IFS= read -r a; do set -- "$@" "$a"; done; echo "pid $$: $*"; exit 4';

  it("--ahead: the next run's process is started before it is asked for, takes the arguments on stdin, and a new one is started for the run after", async () => {
    const { root, target } = await runner(["--ahead", "sh", "-c", AHEAD, "sh"]);
    const [first] = await started(root, 1);
    const out = collect();
    expect(await runThere(target, ["-k", "a b", "tests"], out.write)).toBe(4);
    expect(out.text).toBe(`pid ${first}: -k a b tests\n`);
    // The next one is started once the run is over, and it is not the one that ran.
    const [, second] = await started(root, 2);
    expect(second).not.toBe(first);
    const again = collect();
    expect(await runThere(target, ["x"], again.write)).toBe(4);
    expect(again.text).toBe(`pid ${second}: x\n`);
  });

  it("--ahead: a process that ended before its run is replaced by a new one for the run", async () => {
    // The first one started exits at once; the run gets a new one.
    const { root, target } = await runner(["--ahead", "sh", "-c", `[ -e gone ] || { touch gone; echo $$ >> started; exit 1; }; ${AHEAD}`, "sh"]);
    const [gone] = await started(root, 1);
    // Until it has exited (a zombie: the receiver has not asked yet).
    const stillRunning = () => running(Number(gone));
    for (let i = 0; i < 100 && stillRunning(); i++) await new Promise((done) => setTimeout(done, 25));
    expect(stillRunning()).toBe(false);
    const out = collect();
    expect(await runThere(target, ["y"], out.write)).toBe(4);
    const [, ran] = await started(root, 2);
    expect(out.text).toBe(`pid ${ran}: y\n`);
  });

  it("--ahead: a process that no longer takes its input is replaced by a new one for the run", async () => {
    // The first one started closes its stdin and lingers; the run gets a new one.
    const { root, target } = await runner(["--ahead", "sh", "-c", `[ -e closed ] || { touch closed; echo $$ >> started; exec 0<&-; exec sleep 5; }; ${AHEAD}`, "sh"]);
    await started(root, 1);
    await new Promise((done) => setTimeout(done, 200));
    const out = collect();
    expect(await runThere(target, ["z"], out.write)).toBe(4);
    const [, ran] = await started(root, 2);
    expect(out.text).toBe(`pid ${ran}: z\n`);
  });

  it("npm run call's flags before pytest's arguments: --shards N, --with-worker, --with-keycloak and --start-ahead as the CLI spells them", () => {
    expect(stackOptions(["--with-keycloak=false", "--with-worker=true", "-x", "--with-worker=false"])).toEqual({ keycloak: false, worker: true, args: ["-x", "--with-worker=false"] });
    expect(stackOptions(["--start-ahead=false", "-k", "db"])).toEqual({ ahead: false, args: ["-k", "db"] });
    expect(stackOptions(["-k", "db"])).toEqual({ args: ["-k", "db"] });
    expect(stackOptions(["--with-keycloak", "false"])).toEqual({ args: ["--with-keycloak", "false"] });
    // pytest's own --flag=value options are pytest's.
    expect(stackOptions(["--maxfail=1"])).toEqual({ args: ["--maxfail=1"] });
    expect(stackOptions(["--color=true"])).toEqual({ args: ["--color=true"] });
    expect(shardsOption(["--shards", "2", "-x"])).toEqual({ shards: 2, args: ["-x"] });
    expect(shardsOption(["-x", "--shards", "2"])).toEqual({ shards: undefined, args: ["-x", "--shards", "2"] });
    // And the module options it takes from the environment, as test/pycroft does.
    expect(optionsFromEnv({ PYCROFT_PYTHON_IMAGE: "python:3.12-slim", PYCROFT_NO_INSTALL_PACKAGES: " guzzle-sphinx-theme  other " })).toEqual({
      pythonImage: "python:3.12-slim",
      noInstallPackage: ["guzzle-sphinx-theme", "other"],
    });
    expect(optionsFromEnv({})).toEqual({ pythonImage: undefined, noInstallPackage: [] });
  });
});
