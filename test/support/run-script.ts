// Runs a command that a pipeline would run in a container here, with bash, in a temp dir, against
// stand-ins for the programs it calls: each stand-in records its arguments and does what it is told.
import { ChildProcess, spawn, spawnSync } from "node:child_process";
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { createServer, Socket } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

export interface StandIn {
  /** Shell code run after the call is recorded (e.g. `exit 3`, `echo out`); "$@" are its arguments. */
  does?: string;
}

export interface Ran {
  status: number | null;
  stdout: string;
  stderr: string;
  /** Every stand-in call in order, as `program arg1 arg2 …`. */
  calls: string[];
  /** The temp dir the command ran in. */
  dir: string;
}

/** A temp dir of its own for one run. */
export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `${prefix}-`));
}

/**
 * Runs `command` (argv, as `withExec` gets it) in `dir` with `standIns` first on PATH. Real tools
 * (sed, tee, python3…) stay reachable behind them.
 */
export function runScript(
  command: string[],
  opts: { dir?: string; standIns?: Record<string, StandIn>; env?: Record<string, string> } = {},
): Ran {
  const dir = opts.dir ?? tempDir("script");
  const bin = join(dir, ".bin");
  mkdirSync(bin, { recursive: true });
  const log = join(bin, "calls");
  writeFileSync(log, "");
  for (const [name, standIn] of Object.entries(opts.standIns ?? {})) {
    const path = join(bin, name);
    writeFileSync(path, `#!/bin/bash\necho "${name}${"${*:+ }"}$*" >> "${log}"\n${standIn.does ?? ""}\n`);
    chmodSync(path, 0o755);
  }
  const [program, ...args] = command;
  const ran = spawnSync(program!, args, {
    cwd: dir,
    env: { PATH: `${bin}:${process.env.PATH}`, HOME: dir, LANG: "C.UTF-8", ...opts.env },
    encoding: "utf8",
    timeout: 20_000,
  });
  const calls = existsSync(log) ? readFileSync(log, "utf8").split("\n").filter(Boolean) : [];
  return { status: ran.status, stdout: ran.stdout, stderr: ran.stderr, calls, dir };
}

/** A port nothing listens on now. */
export async function freePort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  const { port } = server.address() as { port: number };
  await new Promise((done) => server.close(done));
  return port;
}

/** Whether something listens on the port now. */
export function listens(port: number): Promise<boolean> {
  return new Promise<boolean>((done) => {
    const socket = new Socket().once("connect", () => done(socket.destroy() && true)).once("error", () => done(false));
    socket.connect(port, "127.0.0.1");
  });
}

/**
 * Runs a Python script from the module as a container would (`python3 -c`), until its port answers;
 * the process is added to `children`, for the caller to end.
 */
export async function listeningPython(children: ChildProcess[], script: string, args: string[], port: number, env: Record<string, string> = {}): Promise<ChildProcess> {
  const child = spawn("python3", ["-c", script, ...args], { env: { ...process.env, ...env }, stdio: "ignore" });
  children.push(child);
  for (let i = 0; i < 100; i++) {
    if (await listens(port)) return child;
    await new Promise((done) => setTimeout(done, 50));
  }
  throw new Error(`python did not listen on ${port}`);
}
