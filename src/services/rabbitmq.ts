import { dag } from "@dagger.io/dagger";

import { script, shellWords } from "../scripts/index.js";
import { Password, withPasswordVariable } from "./password.js";
import { ServiceSpec } from "./service.js";

export interface RabbitmqOptions {
  image: string;
  /** Password of the `celery` user Pycroft's broker URIs log in as. */
  password: Password;
}

/** The port of AMQP, the port Celery's broker URIs name. */
export const AMQP_PORT = 5672;

/**
 * Ready once the broker answers AMQP's protocol header with Connection.Start (src/scripts/amqp-ready.sh).
 * RabbitMQ opens its listeners last in its boot, after it has made the default user, so this is the
 * moment a client can log in.
 */
export const AMQP_READY = shellWords(["bash", "-c", script("amqp-ready.sh"), "amqp-ready", String(AMQP_PORT)]);

/** RabbitMQ as Pycroft's `mq` service, the Celery broker. */
export function rabbitmq(o: RabbitmqOptions): ServiceSpec {
  return {
    host: "mq",
    container: dag
      .container()
      .from(o.image)
      .withEnvVariable("RABBITMQ_DEFAULT_USER", "celery")
      .with(withPasswordVariable("RABBITMQ_DEFAULT_PASS", o.password)),
    command: ["docker-entrypoint.sh", "rabbitmq-server"],
    port: AMQP_PORT,
    dataDirs: ["/var/lib/rabbitmq"],
    ready: AMQP_READY,
    probe: { kind: "amqp", port: AMQP_PORT },
  };
}
