// `dagger call` for machines whose Dagger CLI cannot load TypeScript modules (no registry to pull the
// runtime's images from): runs the same module functions from the host, in a client session.
//
//   tsx test/engine/call.ts test [--shards N] [--with-worker=BOOL] [--with-keycloak=BOOL] [PYTEST_ARG…]
//                                                     run the suite; exit code 1 when a test fails
//   tsx test/engine/call.ts test-report DIR [--shards N] [ARG…]
//                                                     run the suite, export the reports to DIR
//   tsx test/engine/call.ts build-prod TARBALL        build the prod image, export it as a tarball
//   tsx test/engine/call.ts publish ADDRESS [TAG…]    build and publish, print the pinned references
//   tsx test/engine/call.ts check [NAME…]             `dagger check`: run the checks (all, or those named)
//   tsx test/engine/call.ts dev-stack [--sync] [HOST:PORT…]
//                                                     `dagger up`: the dev stack on its host ports until
//                                                     Ctrl-C; HOST:PORT moves one elsewhere (15000:5000);
//                                                     --sync sends every edit of the source to its app
//   tsx test/engine/call.ts test-watch [--with-worker=false] [--with-keycloak=false] [--start-ahead=false] [PYTEST_ARG…]
//                                                     `test-stack`: the test services kept up; runs pytest
//                                                     at once, then after each edit of the source, which
//                                                     it sends first; until Ctrl-C
//   tsx test/engine/call.ts shell [--join] CMD…        run CMD in the dev shell, print its output; --join uses
//                                                     a running dev stack's services through the host ports
//
// The source is ./example unless PYCROFT_SOURCE names another directory; PYCROFT_PYTHON_IMAGE
// overrides the python image (the engine provisioned here only has Debian's Python 3.11), and
// PYCROFT_NO_INSTALL_PACKAGES (space-separated) is --no-install-package (Pycroft's guzzle-sphinx-theme here).
import { randomUUID } from "node:crypto";

import { connection, dag, PortForward } from "@dagger.io/dagger";

import { DEFAULTS, UsageError } from "../../src/config.js";
import { hostDir } from "../e2e/engine.js";
import { newPycroft, optionsFromEnv } from "../support/module.js";
import { formatResults, runChecks } from "../support/checks.js";
import { shardsOption, stackOptions } from "./options.js";
import { startWatcher, upTestStack, Watcher } from "./sync.js";

/** Until Ctrl-C (or SIGTERM), or until the watcher ends by itself (its stack went away). */
async function untilStopped(watcher?: Watcher): Promise<void> {
  const signalled = new Promise((done) => ["SIGINT", "SIGTERM"].forEach((signal) => process.once(signal, done)));
  const ended = watcher?.ended.then((code) => {
    process.exitCode = code ?? 1;
  });
  await Promise.race([signalled, ...(ended ? [ended] : [])]);
}

async function main([fn, ...rest]: string[]): Promise<void> {
  const source = process.env.PYCROFT_SOURCE ?? "example";
  const pycroft = () =>
    newPycroft(hostDir(source), hostDir("dockerfiles/openldap"), optionsFromEnv());
  switch (fn) {
    case "test": {
      const { shards, args: more } = shardsOption(rest);
      const { worker, keycloak, ahead, args } = stackOptions(more);
      if (ahead !== undefined) throw new UsageError("--start-ahead is test-watch's: test starts one pytest");
      console.log(await pycroft().test(args, worker, keycloak, shards));
      return;
    }
    case "test-report": {
      const [dir, ...more] = rest;
      if (!dir) throw new UsageError("test-report needs the directory to export the reports to");
      const { shards, args } = shardsOption(more);
      const report = await pycroft().testReport(args, undefined, undefined, shards);
      await report.export(dir);
      const code = Number((await report.file("exit-code").contents()).trim());
      console.log(`reports in ${dir}; pytest exit code ${code}`);
      process.exitCode = code;
      return;
    }
    case "build-prod": {
      const [tarball] = rest;
      if (!tarball) throw new UsageError("build-prod needs the path of the tarball to write");
      console.log(await (await pycroft().buildProd()).export(tarball));
      return;
    }
    case "publish": {
      const [address, ...tags] = rest;
      console.log(await pycroft().publish(address ?? "", tags));
      return;
    }
    case "check": {
      const results = await runChecks(pycroft(), rest);
      console.log(formatResults(results));
      process.exitCode = results.every((r) => r.passed) ? 0 : 1;
      return;
    }
    case "dev-stack": {
      const live = rest[0] === "--sync";
      const moves = live ? rest.slice(1) : rest;
      const token = randomUUID();
      const m = pycroft();
      const stack = await m.devStack(undefined, undefined, undefined, live ? dag.setSecret("pycroft-sync-token", token) : undefined);
      const ports = hostPorts(await Promise.all((await stack.ports()).map((p) => p.port())), moves);
      const tunnel = await dag.host().tunnel(stack, { ports }).start();
      const syncPort = ports.find((p) => p.backend === DEFAULTS.syncPort)?.frontend;
      const print = (text: string) => process.stdout.write(text);
      const watcher = live ? await startWatcher(m, source, { url: `http://localhost:${syncPort}`, token }, undefined, print) : undefined;
      console.log(`dev stack up: ${ports.map((p) => `${p.frontend}->${p.backend}`).join(" ")}${live ? `; edits in ${source} are sent to the app` : ""}; Ctrl-C stops it`);
      await untilStopped(watcher);
      await watcher?.stop();
      await tunnel.stop();
      return;
    }
    case "test-watch": {
      const { args, ...flags } = stackOptions(rest);
      const m = pycroft();
      const stack = await upTestStack(m, flags);
      console.log(`test stack up on ${stack.target.url}: pytest ${args.join(" ")}`.trimEnd());
      // The module's watcher: it sends the checkout, runs pytest at once, then after each saved edit.
      const watcher = await startWatcher(m, source, stack.target, args, (text) => process.stdout.write(text));
      await untilStopped(watcher);
      await watcher.stop();
      await stack.stop();
      return;
    }
    case "shell": {
      const join = rest[0] === "--join";
      const command = join ? rest.slice(1) : rest;
      if (command.length === 0) throw new UsageError("shell needs the command to run");
      // What `--db tcp://localhost:55432` gives the CLI: a service on the host's port.
      const onHost = (host: string) => {
        const port = DEFAULTS.devPorts.find((p) => p.host === host)!.port;
        return dag.host().service([{ frontend: port, backend: port }]);
      };
      const shell = join ? pycroft().shell(onHost("db"), onHost("ldap"), onHost("mq")) : pycroft().shell();
      process.stdout.write(await (await shell).withEnvVariable("PYCROFT_CALL", String(Date.now())).withExec(command).stdout());
      return;
    }
    default:
      throw new UsageError(`unknown function "${fn ?? ""}": use test, test-report, build-prod, publish, check, dev-stack, test-watch or shell`);
  }
}

/** The dev stack's port forwards: every port at its own number, but those given as HOST:PORT. */
function hostPorts(published: number[], moves: string[]): PortForward[] {
  const moved = new Map(
    moves.map((m) => {
      const [host, port] = m.split(":").map(Number);
      if (!Number.isInteger(host) || !Number.isInteger(port)) throw new UsageError(`"${m}" is not HOST:PORT, e.g. 15000:5000`);
      return [port, host] as const;
    }),
  );
  return published.map((port) => ({ frontend: moved.get(port) ?? port, backend: port }));
}

await connection(() => main(process.argv.slice(2)), { LogOutput: process.env.PYCROFT_VERBOSE ? process.stderr : undefined }).catch(
  (err: Error) => {
    // Usage mistakes and test failures are messages for a person, not stack traces.
    console.error(err.message);
    process.exitCode = 1;
  },
);
