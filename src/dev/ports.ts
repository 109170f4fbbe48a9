import { Container, NetworkProtocol, Service } from "@dagger.io/dagger";

import { UsageError } from "../config.js";
import { script } from "../scripts/index.js";

/** One host port of the dev stack: what listens there, and which service port it reaches. */
export interface HostPort {
  /** The port on the host (and on the forwarder). */
  port: number;
  /** The service's hostname in the stack. */
  host: string;
  /** The service's own port. */
  target: number;
  /** What a user finds there (shown by `dagger up`). */
  what: string;
}

/**
 * A TCP forwarder: each rule `PORT=HOST:TARGET` listens on PORT and pipes every connection to
 * HOST:TARGET, half-closes included (psql, AMQP and HTTP all work through it). Plain Python, so it
 * runs on the base image the stack already has.
 */
export const FORWARD = script("forward-ports.py");

const SCRIPT = "/usr/local/bin/forward-ports.py";

/** The forwarder's container: the script on an image with Python, as root (ldap's 389 is below 1024). */
function forwarder(image: Container): Container {
  return image.withUser("root").withNewFile(SCRIPT, FORWARD);
}

/**
 * A service passed in (`--db tcp://localhost:55432`: a running dev stack's port on the host) made
 * reachable where the app looks for it: a forwarder on the service's usual port to the given one's.
 */
export async function atPort(image: Container, given: Service, name: string, port: number): Promise<Service> {
  // A host service knows its ports once started (the CLI starts the services it is given).
  const ports = await (await given.start()).ports();
  if (ports.length === 0) throw new UsageError(`--${name} must be a service with a port, e.g. tcp://localhost:${port}`);
  const upstream = await ports[0].port();
  return forwarder(image)
    .withServiceBinding("upstream", given)
    .withExposedPort(port)
    .asService({ args: ["python", SCRIPT, `${port}=upstream:${upstream}`] });
}

/**
 * One service that publishes the stack's services on their host ports (Pycroft's docker-compose.dev.yml
 * `ports:`): a forwarder with every service bound, so `dagger up` or `up` maps them all in one call,
 * each at the same number on the host. Services bound without a port (workers) are started with it.
 * Ports whose service is not in the stack are left out.
 */
export function publishPorts(image: Container, services: Record<string, Service>, ports: readonly HostPort[]): Service {
  const published = ports.filter((p) => p.host in services);
  const bound = Object.entries(services).reduce((c, [host, svc]) => c.withServiceBinding(host, svc), image);
  return published
    .reduce(
      (c, p) => c.withExposedPort(p.port, { protocol: NetworkProtocol.Tcp, description: `${p.what} (${p.host}:${p.target})` }),
      forwarder(bound),
    )
    .asService({ args: ["python", SCRIPT, ...published.map((p) => `${p.port}=${p.host}:${p.target}`)] });
}
